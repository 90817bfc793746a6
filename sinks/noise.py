"""Noise control for push channels: per-rule throttle, quiet hours and digests; nothing dropped.

A push sink (email, webhook, Apprise) asks :class:`NoiseGate` which alerts of a batch go out
now. The others are *held* in SQLite with the time they are due and a reason:

- ``hourly`` / ``daily`` / ``weekly``: the rule's cadence is a digest; due at the next hour,
  the next ``daily_at``, or the next ``daily_at`` on ``weekly_on``, in the configured time zone;
- ``quiet-hours``: due when the quiet hours end;
- ``throttle``: the rule already sent ``max_per_window`` alerts in the last window; due when the
  oldest of them leaves the window.

:meth:`NoiseGate.due` groups what is due into one :class:`Digest` per rule; the sink sends it
and calls :meth:`NoiseGate.done`, which is when the held rows go. A crash in between sends that
digest again (same digest id, the receiver's idempotency key), it never loses it.
"""

from __future__ import annotations

import hashlib
import sqlite3
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from newsradar.schemas import Alert, decode, encode
from newsradar.settings import Cadence, NoiseSettings, Weekday
from sinks.delivered import open_state

SCHEMA = """
CREATE TABLE IF NOT EXISTS held (
    alert_id TEXT PRIMARY KEY,
    rule_id TEXT NOT NULL,
    due_at REAL NOT NULL,
    reason TEXT NOT NULL,
    alert BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS held_due ON held (due_at);
CREATE TABLE IF NOT EXISTS sent (rule_id TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS sent_rule_at ON sent (rule_id, at);
"""


WEEKDAYS: tuple[Weekday, ...] = typing.get_args(Weekday)
"""Monday first, as :meth:`date.weekday` counts."""


@dataclass(frozen=True)
class Digest:
    rule_id: str
    reasons: tuple[str, ...]
    alerts: tuple[Alert, ...]

    @property
    def id(self) -> str:
        """Stable for the same alerts, so a digest sent again carries the same key."""
        ids = "\n".join(sorted(a.id for a in self.alerts))
        return "digest-" + hashlib.sha256(ids.encode()).hexdigest()[:32]


def _clock_time(text: str) -> time:
    hour, minute = (int(x) for x in text.split(":"))
    return time(hour, minute)


class Policy:
    """When an alert may go out: pure time arithmetic over the configured rules."""

    def __init__(
        self,
        noise: NoiseSettings,
        cadence: Callable[[str], Cadence] = lambda _rule: "immediate",
        daily_at: str = "08:00",
        weekly_on: Weekday = "monday",
    ) -> None:
        self.noise = noise
        self.cadence = cadence
        self.zone = ZoneInfo(noise.timezone)
        self.daily_at = _clock_time(daily_at)
        self.weekday = WEEKDAYS.index(weekly_on)
        self.quiet: tuple[time, time] | None = None
        if noise.quiet_hours:
            start, end = noise.quiet_hours.split("-")
            self.quiet = (_clock_time(start), _clock_time(end))

    def _at(self, day: date, clock: time) -> datetime:
        return datetime.combine(day, clock, tzinfo=self.zone).astimezone(UTC)

    def quiet_until(self, now: datetime) -> datetime | None:
        """The end of the quiet hours ``now`` falls in, or None outside them."""
        if self.quiet is None:
            return None
        start, end = self.quiet
        local = now.astimezone(self.zone)
        today, clock = local.date(), local.time()
        if start <= end:
            return self._at(today, end) if start <= clock < end else None
        if clock >= start:
            return self._at(today + timedelta(days=1), end)
        if clock < end:
            return self._at(today, end)
        return None

    def digest_due(self, rule_id: str, now: datetime) -> tuple[datetime, str] | None:
        """When the rule's next digest goes out, or None if it sends alerts one by one."""
        cadence = self.cadence(rule_id)
        local = now.astimezone(self.zone)
        if cadence == "hourly":
            top = local.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
            return top.astimezone(UTC), cadence
        if cadence == "daily":
            due = self._at(local.date(), self.daily_at)
            if due <= now:
                due = self._at(local.date() + timedelta(days=1), self.daily_at)
            return due, cadence
        if cadence == "weekly":
            ahead = (self.weekday - local.date().weekday()) % 7
            due = self._at(local.date() + timedelta(days=ahead), self.daily_at)
            if due <= now:
                due = self._at(local.date() + timedelta(days=ahead + 7), self.daily_at)
            return due, cadence
        return None


class NoiseGate:
    """Splits batches into send-now and held, remembers the held ones and what was sent."""

    def __init__(self, path: Path, policy: Policy) -> None:
        self.path = path
        self.policy = policy
        self._db: sqlite3.Connection | None = None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = open_state(self.path, SCHEMA, "held alerts")
        return self._db

    def open(self) -> None:
        self._conn()

    def split(self, alerts: Sequence[Alert], now: datetime) -> list[Alert]:
        """The alerts to send now; the others are held (durably) until they are due."""
        db = self._conn()
        window = self.policy.noise.window_seconds
        limit = self.policy.noise.max_per_window
        quiet_end = self.policy.quiet_until(now)
        send: list[Alert] = []
        held: list[tuple[str, str, float, str, bytes]] = []
        sent_in_window: dict[str, list[float]] = {}
        for alert in alerts:
            due: tuple[datetime, str] | None = None
            if quiet_end is not None:
                due = (quiet_end, "quiet-hours")
            digest = self.policy.digest_due(alert.rule_id, now)
            if digest is not None and (due is None or digest[0] > due[0]):
                due = digest
            if due is None and limit is not None:
                times = sent_in_window.get(alert.rule_id)
                if times is None:
                    times = [
                        at
                        for (at,) in db.execute(
                            "SELECT at FROM sent WHERE rule_id = ? AND at > ? ORDER BY at",
                            (alert.rule_id, now.timestamp() - window),
                        )
                    ]
                    sent_in_window[alert.rule_id] = times
                if len(times) >= limit:
                    due = (datetime.fromtimestamp(times[-limit] + window, UTC), "throttle")
                else:
                    times.append(now.timestamp())
            if due is None:
                send.append(alert)
            else:
                held.append((alert.id, alert.rule_id, due[0].timestamp(), due[1], encode(alert)))
        if held:
            db.executemany(
                "INSERT OR IGNORE INTO held (alert_id, rule_id, due_at, reason, alert) "
                "VALUES (?, ?, ?, ?, ?)",
                held,
            )
        return send

    def note_sent(self, alerts: Sequence[Alert], now: datetime) -> None:
        """Count sends against the throttle window (only needed when a throttle is set)."""
        if self.policy.noise.max_per_window is None or not alerts:
            return
        db = self._conn()
        db.executemany(
            "INSERT INTO sent (rule_id, at) VALUES (?, ?)",
            [(a.rule_id, now.timestamp()) for a in alerts],
        )
        db.execute(
            "DELETE FROM sent WHERE at <= ?",
            (now.timestamp() - self.policy.noise.window_seconds,),
        )

    def due(self, now: datetime) -> list[Digest]:
        """One digest per rule of everything held that is due by ``now``."""
        rows = self._conn().execute(
            "SELECT rule_id, reason, alert FROM held WHERE due_at <= ? ORDER BY rule_id, due_at",
            (now.timestamp(),),
        )
        grouped: dict[str, tuple[set[str], list[Alert]]] = {}
        for rule_id, reason, blob in rows:
            reasons, alerts = grouped.setdefault(rule_id, (set(), []))
            reasons.add(reason)
            alerts.append(decode(Alert, blob))
        return [
            Digest(rule, tuple(sorted(reasons)), tuple(alerts))
            for rule, (reasons, alerts) in grouped.items()
        ]

    def done(self, digest: Digest) -> None:
        self._conn().executemany(
            "DELETE FROM held WHERE alert_id = ?", [(a.id,) for a in digest.alerts]
        )

    def held_count(self) -> int:
        row = self._conn().execute("SELECT count(*) FROM held").fetchone()
        return int(row[0])

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
