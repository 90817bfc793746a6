"""The ids a sink has already delivered, so a redelivered alert is not sent or written twice.

Push sinks (webhook, email) and the JSON Lines file cannot upsert at their target, so they keep
this small SQLite table beside the data: an alert is noted right after its delivery succeeded.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

from newsradar.files import private_file
from newsradar.schemas import Alert
from sinks.errors import TransientSinkError


def open_state(path: Path, schema: str, what: str) -> sqlite3.Connection:
    """A sink's own SQLite file (WAL, autocommit, usable from the sink's thread) with
    ``schema`` applied; a :class:`TransientSinkError` naming ``what`` if it cannot be opened.
    The file (and its WAL) is private: 0600, in folders made 0700."""
    try:
        private_file(path)
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript(schema)
    except (OSError, sqlite3.Error) as exc:
        raise TransientSinkError(f"{path}: cannot open {what}: {exc}") from None
    return db


class DeliveredIds:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = open_state(
                self.path,
                "CREATE TABLE IF NOT EXISTS delivered (id TEXT PRIMARY KEY);",
                "delivery log",
            )
        return self._db

    def open(self) -> None:
        self._conn()

    def fresh(self, alerts: Sequence[Alert]) -> list[Alert]:
        """The alerts not delivered yet, each once."""
        db = self._conn()
        out: dict[str, Alert] = {}
        for alert in alerts:
            if (
                alert.id not in out
                and not db.execute("SELECT 1 FROM delivered WHERE id = ?", (alert.id,)).fetchone()
            ):
                out[alert.id] = alert
        return list(out.values())

    def add(self, ids: Iterable[str]) -> None:
        self._conn().executemany(
            "INSERT OR IGNORE INTO delivered (id) VALUES (?)", [(i,) for i in ids]
        )

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
