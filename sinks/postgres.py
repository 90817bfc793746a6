"""The alert store on PostgreSQL: the SQLite store's schema, for multi-machine deployments.

Same contract as :mod:`sinks.sqlite`: versioned migrations in a ``schema_version`` table,
alerts upserted by id in one transaction per batch. Needs the ``postgres`` extra
(``pip install 'newsradar[postgres]'``).

A value PostgreSQL refuses (a data or integrity error: NUL in text, a number out of range) is
permanent: the runner dead-letters that alert and the sink goes on; connection trouble is
transient and retried.

Triage and search as in the SQLite store: ``read`` and ``starred`` columns a redelivery leaves
alone, and a ``search`` column holding the alert's search words (:mod:`sinks.search`) as a
``tsvector`` built with ``array_to_tsvector``, under a GIN index. The words are folded and
stemmed in Python, so neither the server's locale nor its text-search configurations change
what is found; a query is a ``tsquery`` of word prefixes. ``seq`` orders alerts as they were
first stored and is the cursor of :meth:`PostgresSink.find`. Migration 2 adds them and indexes
the alerts already stored.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from newsradar.errors import ConfigError
from newsradar.schemas import Alert
from newsradar.settings import PostgresSinkSettings
from sinks.base import Health, Sink
from sinks.errors import PermanentSinkError, TransientSinkError
from sinks.search import AlertFilter, StoredAlert, alert_text, tsquery


def _triage_and_search(cur: Any) -> None:
    """Migration 2: triage columns, the search index and the cursor, existing alerts indexed."""
    cur.execute(
        """
        ALTER TABLE alerts
            ADD COLUMN read BOOLEAN NOT NULL DEFAULT false,
            ADD COLUMN starred BOOLEAN NOT NULL DEFAULT false,
            ADD COLUMN search TSVECTOR NOT NULL DEFAULT ''::tsvector,
            ADD COLUMN seq BIGSERIAL;
        CREATE UNIQUE INDEX alerts_by_seq ON alerts (seq);
        CREATE INDEX alerts_search ON alerts USING gin (search);
        """
    )
    cur.execute("SELECT id, record::text FROM alerts")
    for alert_id, record in cur.fetchall():
        try:
            words = alert_text(Alert.model_validate_json(record)).split()
        except ValueError:  # not a valid alert (an older release let it through): not found
            continue
        cur.execute(
            "UPDATE alerts SET search = array_to_tsvector(%s::text[]) WHERE id = %s",
            (words, alert_id),
        )


Migration = str | Callable[[Any], None]
"""SQL, or a function of a cursor for what SQL alone cannot do."""

MIGRATIONS: tuple[Migration, ...] = (
    """
    CREATE TABLE alerts (
        id TEXT PRIMARY KEY,
        rule_id TEXT NOT NULL,
        rule_version INTEGER NOT NULL,
        score DOUBLE PRECISION NOT NULL,
        article_id TEXT NOT NULL,
        article_url TEXT NOT NULL,
        article_title TEXT NOT NULL,
        article_published TIMESTAMPTZ NOT NULL,
        language TEXT NOT NULL,
        feed TEXT NOT NULL,
        countries JSONB NOT NULL,
        pairs JSONB NOT NULL,
        topics JSONB NOT NULL,
        record JSONB NOT NULL,
        created_at TIMESTAMPTZ NOT NULL,
        stored_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE INDEX alerts_by_rule ON alerts (rule_id, created_at);
    CREATE INDEX alerts_by_time ON alerts (created_at);
    """,
    _triage_and_search,
)

UPSERT = """
INSERT INTO alerts (id, rule_id, rule_version, score, article_id, article_url, article_title,
    article_published, language, feed, countries, pairs, topics, record, created_at, search)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, array_to_tsvector(%s::text[]))
ON CONFLICT (id) DO UPDATE SET
    rule_version = EXCLUDED.rule_version, score = EXCLUDED.score,
    article_url = EXCLUDED.article_url, article_title = EXCLUDED.article_title,
    language = EXCLUDED.language, countries = EXCLUDED.countries, pairs = EXCLUDED.pairs,
    topics = EXCLUDED.topics, record = EXCLUDED.record, search = EXCLUDED.search
"""


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError:
        raise ConfigError(
            "the PostgreSQL sink needs psycopg: pip install 'newsradar[postgres]'"
        ) from None
    return psycopg


class PostgresSink(Sink):
    name = "postgres"

    def __init__(self, config: PostgresSinkSettings) -> None:
        self.config = config
        self._conn: Any = None

    def setup(self) -> None:
        psycopg = _psycopg()
        try:
            self._conn = psycopg.connect(
                self.config.dsn.get_secret_value(),
                connect_timeout=self.config.connect_timeout_seconds,
                autocommit=False,
            )
            self._migrate()
        except psycopg.Error as exc:
            self._conn = None
            raise TransientSinkError(
                f"postgres: cannot connect or migrate: {_one_line(exc)}"
            ) from None

    def _migrate(self) -> None:
        with self._conn.transaction(), self._conn.cursor() as cur:
            cur.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            # One migrator at a time across machines.
            cur.execute("LOCK TABLE schema_version IN EXCLUSIVE MODE")
            cur.execute("SELECT coalesce(max(version), 0) FROM schema_version")
            current = cur.fetchone()[0]
            for version, script in enumerate(MIGRATIONS, start=1):
                if version > current:
                    if callable(script):
                        script(cur)
                    else:
                        cur.execute(script)
                    cur.execute("INSERT INTO schema_version (version) VALUES (%s)", (version,))

    def write(self, batch: Sequence[Alert]) -> None:
        psycopg = _psycopg()
        if self._conn is None or self._conn.closed:
            self.setup()
        try:
            rows = [
                (
                    a.id, a.rule_id, a.rule_version, a.score, a.article_id, a.article_url,
                    a.article_title, a.article_published, a.language, a.feed,
                    json.dumps(a.countries), json.dumps(a.pairs), json.dumps(a.topics),
                    a.model_dump_json(), a.created_at, alert_text(a).split(),
                )
                for a in batch
            ]  # fmt: skip
            with self._conn.transaction(), self._conn.cursor() as cur:
                cur.executemany(UPSERT, rows)
        except (psycopg.DataError, psycopg.IntegrityError, ValueError, UnicodeError) as exc:
            # The transaction was rolled back; the connection is fine.
            raise PermanentSinkError(
                f"postgres: alert cannot be stored: {_one_line(exc)}"
            ) from None
        except psycopg.Error as exc:
            self._reset()
            raise TransientSinkError(f"postgres: write failed: {_one_line(exc)}") from None

    def healthcheck(self) -> Health:
        psycopg = _psycopg()
        try:
            if self._conn is None or self._conn.closed:
                self.setup()
            with self._conn.transaction(), self._conn.cursor() as cur:
                cur.execute("SELECT count(*) FROM alerts")
                count = cur.fetchone()[0]
        except TransientSinkError as exc:
            return Health(False, str(exc))
        except psycopg.Error as exc:
            self._reset()
            return Health(False, f"postgres: {_one_line(exc)}")
        return Health(True, f"postgres: {count} alerts")

    def find(
        self, wanted: AlertFilter, *, before: int | None = None, limit: int = 1000
    ) -> list[StoredAlert]:
        """Alerts matching ``wanted``, newest stored first, only those before the cursor
        ``before`` if given (the same reading of a filter as :func:`sinks.sqlite.select_alerts`).
        Raises :class:`TransientSinkError` when the server cannot be read."""
        where: list[str] = []
        args: list[Any] = []
        if wanted.rule:
            where.append("rule_id = %s")
            args.append(wanted.rule)
        if wanted.country:
            where.append("countries ? %s")
            args.append(wanted.country)
        if wanted.language:
            where.append("language = %s")
            args.append(wanted.language)
        if wanted.since:
            where.append("created_at >= %s")
            args.append(wanted.since)
        if wanted.unread:
            where.append("NOT read")
        if wanted.starred:
            where.append("starred")
        if wanted.query:
            where.append("search @@ %s::tsquery")
            args.append(tsquery(wanted.query))
        if before is not None:
            where.append("seq < %s")
            args.append(before)
        # Only fixed fragments are joined; the values travel as parameters.
        condition = " AND ".join(where) or "true"
        sql = (
            "SELECT seq, record::text, read, starred FROM alerts "  # noqa: S608
            f"WHERE {condition} ORDER BY seq DESC LIMIT %s"
        )
        rows = self._read(sql, [*args, limit])
        return [
            StoredAlert(seq, Alert.model_validate_json(record), read, starred)
            for seq, record, read, starred in rows
        ]

    def set_triage(
        self, alert_id: str, *, read: bool | None = None, starred: bool | None = None
    ) -> StoredAlert | None:
        """Mark an alert read or unread, starred or not (None: leave as is); the alert as it
        now is, or None if there is no such alert."""
        rows = self._read(
            "UPDATE alerts SET read = coalesce(%s, read), starred = coalesce(%s, starred) "
            "WHERE id = %s RETURNING seq, record::text, read, starred",
            [read, starred, alert_id],
        )
        return (
            StoredAlert(rows[0][0], Alert.model_validate_json(rows[0][1]), rows[0][2], rows[0][3])
            if rows
            else None
        )

    def _read(self, sql: str, args: list[Any]) -> list[Any]:
        psycopg = _psycopg()
        if self._conn is None or self._conn.closed:
            self.setup()
        try:
            with self._conn.transaction(), self._conn.cursor() as cur:
                cur.execute(sql, args)
                return list(cur.fetchall())
        except psycopg.Error as exc:
            self._reset()
            raise TransientSinkError(f"postgres: read failed: {_one_line(exc)}") from None

    def _reset(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None

    def close(self) -> None:
        self._reset()


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]
