"""What the producers remember across restarts, in one SQLite file under the data directory.

- ``seen``: article ids (and content hash, canonical URL) already published; bounded, the
  oldest forgotten first. An id whose content hash changed is published again under the same
  id (an update): processors re-evaluate it and sinks upsert by alert id.
- ``pending``: articles parsed but not yet acknowledged by Kafka. They are written here before
  sending and deleted only after the broker acknowledged them, so a broker outage or a crash
  loses nothing, and ``seen`` advances only for what Kafka holds.
- ``feeds``: per-feed HTTP validators, schedule and health of the feeds this instance polls
  (what other machines read is the copy in ``newsradar.feed-state``: :mod:`producers.group`).

One writer (the producers service) at a time.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING

from newsradar.files import private_file

if TYPE_CHECKING:
    from newsradar.settings import Settings

SCHEMA = """
CREATE TABLE IF NOT EXISTS seen (
    id TEXT PRIMARY KEY, hash TEXT NOT NULL, url TEXT NOT NULL DEFAULT '', seen_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS seen_by_time ON seen(seen_at);
CREATE INDEX IF NOT EXISTS seen_by_url ON seen(url) WHERE url != '';
CREATE TABLE IF NOT EXISTS pending (
    id TEXT PRIMARY KEY, hash TEXT NOT NULL, url TEXT NOT NULL DEFAULT '',
    record BLOB NOT NULL, queued_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS feeds (
    url TEXT PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    etag TEXT NOT NULL DEFAULT '',
    last_modified TEXT NOT NULL DEFAULT '',
    body_hash TEXT NOT NULL DEFAULT '',
    validators_unreliable INTEGER NOT NULL DEFAULT 0,
    polls INTEGER NOT NULL DEFAULT 0,
    last_attempt REAL,
    last_success REAL,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    last_error_class TEXT NOT NULL DEFAULT '',
    last_error TEXT NOT NULL DEFAULT '',
    items_last_poll INTEGER NOT NULL DEFAULT 0,
    new_last_poll INTEGER NOT NULL DEFAULT 0,
    interval_seconds REAL NOT NULL DEFAULT 0,
    next_poll REAL NOT NULL DEFAULT 0,
    gone INTEGER NOT NULL DEFAULT 0,
    moved_to TEXT NOT NULL DEFAULT '',
    problem TEXT NOT NULL DEFAULT ''
);
"""


def state_path(settings: Settings) -> Path:
    """This machine's producer state file."""
    return settings.data_dir / "producers" / "state.sqlite"


@dataclass
class FeedState:
    url: str
    name: str = ""
    etag: str = ""
    last_modified: str = ""
    body_hash: str = ""
    validators_unreliable: bool = False
    polls: int = 0
    last_attempt: float | None = None
    last_success: float | None = None
    consecutive_failures: int = 0
    last_error_class: str = ""
    last_error: str = ""
    items_last_poll: int = 0
    new_last_poll: int = 0
    interval_seconds: float = 0.0
    next_poll: float = 0.0
    gone: bool = False
    moved_to: str = ""
    problem: str = ""
    """feedparser's note on an ill-formed feed that was still read."""

    @property
    def health(self) -> str:
        return feed_health(self.gone, self.consecutive_failures, self.last_success)


def feed_health(gone: bool, consecutive_failures: int, last_success: float | None) -> str:
    """``gone`` (410 or moved for good), ``failing``, ``new`` (polled, no success and no
    failure yet) or ``healthy``: of this machine's feed state and of ``newsradar.feed-state``'s
    alike."""
    if gone:
        return "gone"
    if consecutive_failures:
        return "failing"
    if last_success is None:
        return "new"
    return "healthy"


_FEED_COLUMNS = [f.name for f in fields(FeedState)]
_SAVE_FEED = (
    f"INSERT OR REPLACE INTO feeds ({', '.join(_FEED_COLUMNS)}) "  # noqa: S608 - fixed columns
    f"VALUES ({', '.join('?' for _ in _FEED_COLUMNS)})"
)


@dataclass(frozen=True)
class Pending:
    id: str
    hash: str
    url: str
    record: bytes


class ProducerState:
    def __init__(self, path: Path, *, max_seen: int = 1_000_000) -> None:
        private_file(path)  # pending articles and feed health are for no other user
        self.path = path
        self.max_seen = max_seen
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # --- articles ---------------------------------------------------------------------------

    def classify_new(self, items: Iterable[tuple[str, str, str]]) -> list[int]:
        """Indexes of ``(id, hash, url)`` items that are new or changed (not duplicates).

        A duplicate is an id already seen or pending with the same hash, or a canonical URL
        already seen under another id (the same story in two feeds).
        """
        new = []
        for index, (article_id, digest, url) in enumerate(items):
            row = self._db.execute(
                "SELECT hash FROM seen WHERE id = ? "
                "UNION ALL SELECT hash FROM pending WHERE id = ?",
                (article_id, article_id),
            ).fetchall()
            if any(r[0] == digest for r in row):
                continue
            if not row and url:
                # `url != ''` lets SQLite use the partial index seen_by_url (without it, every
                # new article scanned all of `seen`: up to dedup_max_entries rows).
                other = self._db.execute(
                    "SELECT 1 FROM seen WHERE url = ? AND url != '' AND id != ? LIMIT 1",
                    (url, article_id),
                ).fetchone()
                if other:
                    continue
            new.append(index)
        return new

    def add_pending(self, items: Iterable[Pending]) -> None:
        now = time.time()
        with self._tx() as db:
            db.executemany(
                "INSERT OR REPLACE INTO pending (id, hash, url, record, queued_at) "
                "VALUES (?, ?, ?, ?, ?)",
                [(p.id, p.hash, p.url, p.record, now) for p in items],
            )

    def pending(self, limit: int = 10_000) -> list[Pending]:
        rows = self._db.execute(
            "SELECT id, hash, url, record FROM pending ORDER BY queued_at LIMIT ?", (limit,)
        ).fetchall()
        return [Pending(r[0], r[1], r[2], bytes(r[3])) for r in rows]

    def pending_count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM pending").fetchone()[0])

    def mark_published(self, items: Iterable[Pending]) -> None:
        """Kafka acknowledged these: move them from pending to seen, then bound ``seen``."""
        now = time.time()
        items = list(items)
        if not items:
            return
        with self._tx() as db:
            db.executemany(
                "INSERT OR REPLACE INTO seen (id, hash, url, seen_at) VALUES (?, ?, ?, ?)",
                [(p.id, p.hash, p.url, now) for p in items],
            )
            db.executemany("DELETE FROM pending WHERE id = ?", [(p.id,) for p in items])
            count = db.execute("SELECT count(*) FROM seen").fetchone()[0]
            if count > self.max_seen:
                db.execute(
                    "DELETE FROM seen WHERE id IN (SELECT id FROM seen ORDER BY seen_at LIMIT ?)",
                    (count - self.max_seen,),
                )

    def pending_ids(self) -> set[str]:
        return {r[0] for r in self._db.execute("SELECT id FROM pending")}

    def seen_count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM seen").fetchone()[0])

    # --- feeds ------------------------------------------------------------------------------

    def feed(self, url: str) -> FeedState:
        row = self._db.execute(
            f"SELECT {', '.join(_FEED_COLUMNS)} FROM feeds WHERE url = ?",  # noqa: S608 - fixed columns
            (url,),
        ).fetchone()
        return _feed_from_row(row) if row else FeedState(url)

    def save_feeds(self, feeds: Iterable[FeedState]) -> None:
        rows = [[getattr(feed, c) for c in _FEED_COLUMNS] for feed in feeds]
        if not rows:
            return
        with self._tx() as db:
            db.executemany(_SAVE_FEED, rows)

    def save_feed(self, feed: FeedState) -> None:
        values = [getattr(feed, c) for c in _FEED_COLUMNS]
        placeholders = ", ".join("?" for _ in _FEED_COLUMNS)
        self._db.execute(
            f"INSERT OR REPLACE INTO feeds ({', '.join(_FEED_COLUMNS)}) VALUES ({placeholders})",  # noqa: S608
            values,
        )


def _feed_from_row(row: tuple[object, ...]) -> FeedState:
    state = FeedState(**dict(zip(_FEED_COLUMNS, row, strict=True)))  # type: ignore[arg-type]
    state.validators_unreliable = bool(state.validators_unreliable)
    state.gone = bool(state.gone)
    return state
