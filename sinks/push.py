"""What push channels (email, webhook, Apprise) share: rule filter, once-only delivery, noise.

A push sink cannot upsert at its target, so :class:`~sinks.delivered.DeliveredIds` remembers
what went out, and :class:`~sinks.noise.NoiseGate` decides what goes out now and what waits for
a digest. Subclasses say how one alert and one digest are sent.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from newsradar.schemas import Alert
from newsradar.settings import Cadence, DigestChannelSettings, NoiseSettings, Weekday
from sinks import metrics
from sinks.base import Sink
from sinks.delivered import DeliveredIds
from sinks.noise import Digest, NoiseGate, Policy

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def channel_options(config: DigestChannelSettings) -> dict[str, Any]:
    """PushSink's keyword arguments for a channel with digests (email, Apprise)."""
    return {
        "rules": config.rules,
        "noise": config.noise,
        "cadence": lambda rule: config.rule_cadence.get(rule, config.cadence),
        "daily_at": config.daily_at,
        "weekly_on": config.weekly_on,
    }


class PushSink(Sink):
    def __init__(
        self,
        name: str,
        state_dir: Path,
        *,
        rules: Sequence[str],
        noise: NoiseSettings,
        cadence: Callable[[str], Cadence] = lambda _rule: "immediate",
        daily_at: str = "08:00",
        weekly_on: Weekday = "monday",
        clock: Clock = utc_now,
    ) -> None:
        self.name = name
        self.rules = frozenset(rules)
        self.clock = clock
        self.delivered = DeliveredIds(state_dir / f"{name}.sqlite")
        policy = Policy(noise, cadence, daily_at, weekly_on)
        self.gate = NoiseGate(state_dir / f"{name}.held.sqlite", policy)

    def setup(self) -> None:
        self.delivered.open()
        self.gate.open()
        metrics.HELD.labels(self.name).set(self.gate.held_count())

    @abstractmethod
    def send(self, alerts: Sequence[Alert]) -> None:
        """Send each alert, calling :meth:`sent` after each one went out."""

    @abstractmethod
    def send_digest(self, digest: Digest) -> None:
        """Send the digest as one message; raise a SinkError if it did not go out."""

    def sent(self, alert: Alert) -> None:
        self.delivered.add([alert.id])
        self.gate.note_sent([alert], self.clock())

    def write(self, batch: Sequence[Alert]) -> None:
        wanted = [
            a for a in self.delivered.fresh(batch) if not self.rules or a.rule_id in self.rules
        ]
        if not wanted:
            return
        send = self.gate.split(wanted, self.clock())
        going = {a.id for a in send}
        held = [a.id for a in wanted if a.id not in going]
        if held:  # durably held by the gate: delivered as far as Kafka is concerned
            self.delivered.add(held)
            metrics.HELD.labels(self.name).set(self.gate.held_count())
        if send:
            self.send(send)

    def flush(self) -> None:
        for digest in self.gate.due(self.clock()):
            self.send_digest(digest)
            self.gate.done(digest)
            metrics.DIGESTS.labels(self.name, digest.rule_id).inc()
            metrics.HELD.labels(self.name).set(self.gate.held_count())

    def close(self) -> None:
        self.delivered.close()
        self.gate.close()
