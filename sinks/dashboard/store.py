"""What the dashboard reads: the embedded alert store (SQLite), by row cursor and filters.

The SQLite rowid is the cursor of the live stream: it grows with every new alert, and an alert
written again (redelivered) keeps its row, so it is not pushed twice.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from newsradar.schemas import Alert
from sinks.search import AlertFilter, StoredAlert
from sinks.sqlite import connect, select_alerts, set_triage

Row = tuple[int, Alert]


class AlertStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = connect(self.path)  # creates and migrates it if the sinks have not yet
        return self._db

    def _rows(self, sql: str, args: list[Any]) -> list[Row]:
        with self._lock:
            rows = self._conn().execute(sql, args).fetchall()
        return [(rowid, Alert.model_validate_json(record)) for rowid, record in rows]

    def recent(
        self,
        *,
        rule: str | None = None,
        country: str | None = None,
        language: str | None = None,
        limit: int = 200,
    ) -> list[Row]:
        """The newest alerts matching the filters, newest first."""
        where, args = ["1 = 1"], []
        if rule:
            where.append("rule_id = ?")
            args.append(rule)
        if country:
            where.append("countries LIKE ?")
            args.append(f'%"{country.upper()}"%')
        if language:
            where.append("language = ?")
            args.append(language)
        # Only fixed fragments are joined; the values travel as parameters.
        condition = " AND ".join(where)
        sql = f"SELECT rowid, record FROM alerts WHERE {condition} ORDER BY rowid DESC LIMIT ?"  # noqa: S608
        return self._rows(sql, [*args, limit])

    def after(self, cursor: int, limit: int = 500) -> list[Row]:
        """Alerts stored after ``cursor``, oldest first."""
        return self._rows(
            "SELECT rowid, record FROM alerts WHERE rowid > ? ORDER BY rowid LIMIT ?",
            [cursor, limit],
        )

    def cursor(self) -> int:
        with self._lock:
            row = self._conn().execute("SELECT coalesce(max(rowid), 0) FROM alerts").fetchone()
        return int(row[0])

    def get(self, alert_id: str) -> Alert | None:
        rows = self._rows("SELECT rowid, record FROM alerts WHERE id = ?", [alert_id])
        return rows[0][1] if rows else None

    def facets(self) -> dict[str, list[str]]:
        """The rules, countries and languages present, for the filters."""
        with self._lock:
            db = self._conn()
            rules = [r for (r,) in db.execute("SELECT DISTINCT rule_id FROM alerts ORDER BY 1")]
            languages = [
                r for (r,) in db.execute("SELECT DISTINCT language FROM alerts ORDER BY 1") if r
            ]
            countries: set[str] = set()
            for (text,) in db.execute("SELECT DISTINCT countries FROM alerts"):
                countries.update(json.loads(text))
        return {"rules": rules, "countries": sorted(countries), "languages": languages}

    def pair_series(self, hours: int = 24, top: int = 6, now: datetime | None = None) -> Any:
        """Articles per country pair per hour over the last ``hours``, for the ``top`` pairs
        (an article that fired several rules counts once)."""
        end = (now or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0)
        start = end - timedelta(hours=hours - 1)
        with self._lock:
            rows = (
                self._conn()
                .execute(
                    "SELECT created_at, article_id, pairs FROM alerts WHERE created_at >= ?",
                    (start.isoformat(),),
                )
                .fetchall()
            )
        seen: set[tuple[int, str, str]] = set()
        for created, article, pairs in rows:
            at = datetime.fromisoformat(created)
            bucket = int((at - start).total_seconds() // 3600)
            if 0 <= bucket < hours:
                seen.update((bucket, pair, article) for pair in json.loads(pairs))
        totals = Counter(pair for _, pair, _ in seen)
        chosen = [pair for pair, _ in totals.most_common(top)]
        series = {pair: [0] * hours for pair in chosen}
        for bucket, pair, _ in seen:
            if pair in series:
                series[pair][bucket] += 1
        return {
            "hours": [(start + timedelta(hours=i)).isoformat() for i in range(hours)],
            "pairs": [{"pair": pair, "counts": series[pair]} for pair in chosen],
        }

    # --- the versioned API: search, triage, pages -------------------------------------------

    def find(
        self, wanted: AlertFilter, *, before: int | None = None, limit: int = 100
    ) -> list[StoredAlert]:
        """Alerts matching ``wanted``, newest first, those before the cursor ``before``."""
        with self._lock:
            return select_alerts(self._conn(), wanted, before=before, limit=limit)

    def stored(self, alert_id: str) -> StoredAlert | None:
        with self._lock:
            row = (
                self._conn()
                .execute("SELECT rowid, record, read, starred FROM alerts WHERE id = ?", [alert_id])
                .fetchone()
            )
        if row is None:
            return None
        rowid, record, read, starred = row
        return StoredAlert(rowid, Alert.model_validate_json(record), bool(read), bool(starred))

    def triage(
        self, alert_id: str, *, read: bool | None = None, starred: bool | None = None
    ) -> StoredAlert | None:
        """Mark an alert read or unread, starred or not; None if there is no such alert."""
        with self._lock:
            return set_triage(self._conn(), alert_id, read=read, starred=starred)

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
