"""The embedded alert store: SQLite in WAL mode with versioned schema migrations.

Alerts are upserted by id (derived from rule and article), so a redelivered alert leaves one
row. ``newsradar alerts list`` reads this store. A value SQLite refuses (a NaN for a NOT NULL
number, an integer beyond 64 bits, text that is not UTF-8) is permanent: the runner
dead-letters that alert; a locked or unreadable database is transient.

Beside each alert the store keeps its triage state (``read``, ``starred``: set by the
dashboard, never touched by a redelivery) and its search text in an FTS5 index
(``alerts_search``, one row per alert under the alert's rowid; :mod:`sinks.search` says what
is indexed and how a query is read). Migration 2 adds both and indexes the alerts already
stored.

The file and the directories made for it are private (0600, 0700) whatever the umask: alerts
are not for other users of the machine.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from newsradar.files import private_dir, private_file
from newsradar.schemas import Alert, describe_validation
from sinks.base import Health, Sink
from sinks.errors import PermanentSinkError, TransientSinkError
from sinks.search import AlertFilter, StoredAlert, alert_text, fts5_query

log = logging.getLogger("newsradar.sinks")


def _triage_and_search(db: sqlite3.Connection) -> None:
    """Migration 2: triage columns, the search index, and the alerts already stored indexed."""
    db.execute("ALTER TABLE alerts ADD COLUMN read INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE alerts ADD COLUMN starred INTEGER NOT NULL DEFAULT 0")
    # The text is folded and split by sinks.search; the tokenizer only splits it at spaces.
    db.execute(
        "CREATE VIRTUAL TABLE alerts_search"
        " USING fts5(text, tokenize='unicode61 remove_diacritics 0')"
    )
    for rowid, record in db.execute("SELECT rowid, record FROM alerts").fetchall():
        try:
            text = alert_text(Alert.model_validate_json(record))
        except ValidationError:  # stored by an older release that let it through: not found
            continue
        db.execute("INSERT INTO alerts_search (rowid, text) VALUES (?, ?)", (rowid, text))


Migration = str | Callable[[sqlite3.Connection], None]
"""SQL statements separated by ``;``, or a function for what SQL alone cannot do."""

MIGRATIONS: tuple[Migration, ...] = (
    # 1: the alerts table.
    """
    CREATE TABLE alerts (
        id TEXT PRIMARY KEY,
        rule_id TEXT NOT NULL,
        rule_version INTEGER NOT NULL,
        score REAL NOT NULL,
        article_id TEXT NOT NULL,
        article_url TEXT NOT NULL,
        article_title TEXT NOT NULL,
        article_published TEXT NOT NULL,
        language TEXT NOT NULL,
        feed TEXT NOT NULL,
        countries TEXT NOT NULL,
        pairs TEXT NOT NULL,
        topics TEXT NOT NULL,
        record TEXT NOT NULL,
        created_at TEXT NOT NULL,
        stored_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );
    CREATE INDEX alerts_by_rule ON alerts(rule_id, created_at);
    CREATE INDEX alerts_by_time ON alerts(created_at);
    """,
    # 2: read and starred, and the search index.
    _triage_and_search,
)


def _apply(db: sqlite3.Connection, script: Migration) -> None:
    if callable(script):
        script(db)
        return
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def connect(path: Path) -> sqlite3.Connection:
    """A connection with the schema migrated to the newest version."""
    private_dir(path.parent)
    private_file(path)
    # The service checks health from its main thread, then writes from the sink's thread.
    db = sqlite3.connect(path, isolation_level=None, timeout=10, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = db.execute("SELECT max(version) FROM schema_version").fetchone()
    current = row[0] or 0
    for version, script in enumerate(MIGRATIONS, start=1):
        if version > current:
            db.execute("BEGIN IMMEDIATE")
            try:
                # Another process (the sinks and the dashboard start together) may have
                # migrated while this one waited for the lock.
                done = db.execute("SELECT max(version) FROM schema_version").fetchone()[0]
                if (done or 0) < version:
                    _apply(db, script)
                    db.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
    return db


class SqliteSink(Sink):
    name = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None

    def setup(self) -> None:
        try:
            self._db = connect(self.path)
        except (sqlite3.Error, OSError) as exc:
            raise TransientSinkError(f"sqlite {self.path}: cannot open: {exc}") from None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self.setup()
        assert self._db is not None
        return self._db

    def write(self, batch: Sequence[Alert]) -> None:
        # An alert redelivered within one batch is written once, as its latest copy: the search
        # index holds one row per alert.
        batch = list({a.id: a for a in batch}.values())
        try:
            rows = [
                (
                    a.id, a.rule_id, a.rule_version, a.score, a.article_id, a.article_url,
                    a.article_title, a.article_published.isoformat(), a.language, a.feed,
                    json.dumps(a.countries), json.dumps(a.pairs), json.dumps(a.topics),
                    a.model_dump_json(), a.created_at.isoformat(),
                )
                for a in batch
            ]  # fmt: skip
        except (ValueError, UnicodeError) as exc:
            raise PermanentSinkError(f"sqlite {self.path}: alert cannot be stored: {exc}") from None
        db = self._conn()
        try:
            db.execute("BEGIN IMMEDIATE")
            db.executemany(
                """
                INSERT INTO alerts (id, rule_id, rule_version, score, article_id, article_url,
                    article_title, article_published, language, feed, countries, pairs, topics,
                    record, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET
                    rule_version = excluded.rule_version, score = excluded.score,
                    article_url = excluded.article_url, article_title = excluded.article_title,
                    language = excluded.language, countries = excluded.countries,
                    pairs = excluded.pairs, topics = excluded.topics, record = excluded.record
                """,
                rows,
            )
            # The alert keeps its rowid when written again; its search text is replaced.
            searched = [(alert_text(a), a.id) for a in batch]
            db.executemany(
                "DELETE FROM alerts_search WHERE rowid = (SELECT rowid FROM alerts WHERE id = ?)",
                [(alert_id,) for _, alert_id in searched],
            )
            db.executemany(
                "INSERT INTO alerts_search (rowid, text) SELECT rowid, ? FROM alerts WHERE id = ?",
                searched,
            )
            db.execute("COMMIT")
        except (sqlite3.IntegrityError, sqlite3.DataError, OverflowError, UnicodeError) as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise PermanentSinkError(f"sqlite {self.path}: alert cannot be stored: {exc}") from None
        except sqlite3.Error as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise TransientSinkError(f"sqlite {self.path}: write failed: {exc}") from None

    def healthcheck(self) -> Health:
        try:
            count = self._conn().execute("SELECT count(*) FROM alerts").fetchone()[0]
        except (sqlite3.Error, TransientSinkError) as exc:
            return Health(False, f"sqlite {self.path}: {exc}")
        return Health(True, f"sqlite {self.path}: {count} alerts")

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


def select_alerts(
    db: sqlite3.Connection,
    wanted: AlertFilter,
    *,
    before: int | None = None,
    limit: int = 1000,
    log_path: Path | None = None,
) -> list[StoredAlert]:
    """Alerts matching ``wanted``, newest first (by cursor), only those before the cursor
    ``before`` if given."""
    where: list[str] = []
    args: list[Any] = []
    if wanted.rule:
        where.append("rule_id = ?")
        args.append(wanted.rule)
    if wanted.country:  # two capital letters (AlertFilter checks): nothing LIKE would read
        where.append("countries LIKE ?")
        args.append(f'%"{wanted.country}"%')
    if wanted.language:
        where.append("language = ?")
        args.append(wanted.language)
    if wanted.since:
        where.append("created_at >= ?")
        args.append(wanted.since.isoformat())
    if wanted.unread:
        where.append("read = 0")
    if wanted.starred:
        where.append("starred = 1")
    if wanted.query:
        where.append("rowid IN (SELECT rowid FROM alerts_search WHERE alerts_search MATCH ?)")
        args.append(fts5_query(wanted.query))
    if before is not None:
        where.append("rowid < ?")
        args.append(before)
    # Only fixed fragments are joined; the values travel as parameters.
    condition = " AND ".join(where) or "1 = 1"
    sql = (
        "SELECT rowid, id, record, read, starred FROM alerts "  # noqa: S608
        f"WHERE {condition} ORDER BY rowid DESC LIMIT ?"
    )
    found = []
    for rowid, stored_id, record, read, starred in db.execute(sql, [*args, limit]):
        try:
            found.append(
                StoredAlert(rowid, Alert.model_validate_json(record), bool(read), bool(starred))
            )
        except ValidationError as exc:  # stored by an older release that let it through
            log.warning(
                "Stored alert skipped: it is not a valid alert. path=%s id=%r error=%s",
                log_path, stored_id, describe_validation(exc),
            )  # fmt: skip
    return found


def set_triage(
    db: sqlite3.Connection, alert_id: str, *, read: bool | None = None, starred: bool | None = None
) -> StoredAlert | None:
    """Mark an alert read or unread, starred or not (None: leave as is); the alert as it now
    is, or None if there is no such alert."""
    db.execute("BEGIN IMMEDIATE")
    try:
        if read is not None:
            db.execute("UPDATE alerts SET read = ? WHERE id = ?", (int(read), alert_id))
        if starred is not None:
            db.execute("UPDATE alerts SET starred = ? WHERE id = ?", (int(starred), alert_id))
        row = db.execute(
            "SELECT rowid, record, read, starred FROM alerts WHERE id = ?", (alert_id,)
        ).fetchone()
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    if row is None:
        return None
    rowid, record, is_read, is_starred = row
    return StoredAlert(rowid, Alert.model_validate_json(record), bool(is_read), bool(is_starred))


def find_alerts(path: Path, wanted: AlertFilter, *, limit: int = 1000) -> list[StoredAlert]:
    """Alerts in the store at ``path`` matching ``wanted``, newest stored first."""
    db = connect(path)
    try:
        return select_alerts(db, wanted, limit=limit, log_path=path)
    finally:
        db.close()


def list_alerts(
    path: Path,
    *,
    rule: str | None = None,
    country: str | None = None,
    since: datetime | None = None,
    limit: int = 1000,
) -> list[Alert]:
    """Alerts in the store, newest first, filtered by rule, country and creation time."""
    db = connect(path)
    try:
        where, args = [], []
        if rule:
            where.append("rule_id = ?")
            args.append(rule)
        if since:
            where.append("created_at >= ?")
            args.append(since.isoformat())
        sql = "SELECT id, record FROM alerts"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created_at DESC"
        alerts = []
        for stored_id, record in db.execute(sql, args):
            try:
                alerts.append(Alert.model_validate_json(record))
            except ValidationError as exc:  # stored by an older release that let it through
                log.warning(
                    "Stored alert skipped: it is not a valid alert. path=%s id=%r error=%s",
                    path, stored_id, describe_validation(exc),
                )  # fmt: skip
    finally:
        db.close()
    if country:
        alerts = [a for a in alerts if country.upper() in a.countries]
    return alerts[:limit]
