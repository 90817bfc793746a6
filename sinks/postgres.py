"""The alert store on PostgreSQL: the SQLite store's schema, for multi-machine deployments.

Same contract as :mod:`sinks.sqlite`: versioned migrations in a ``schema_version`` table,
alerts upserted by id in one transaction per batch. Needs the ``postgres`` extra
(``pip install 'newsradar[postgres]'``).

A value PostgreSQL refuses (a data or integrity error: NUL in text, a number out of range) is
permanent: the runner dead-letters that alert and the sink goes on; connection trouble is
transient and retried.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from newsradar.errors import ConfigError
from newsradar.schemas import Alert
from newsradar.settings import PostgresSinkSettings
from sinks.base import Health, Sink
from sinks.errors import PermanentSinkError, TransientSinkError

MIGRATIONS: tuple[str, ...] = (
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
)

UPSERT = """
INSERT INTO alerts (id, rule_id, rule_version, score, article_id, article_url, article_title,
    article_published, language, feed, countries, pairs, topics, record, created_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (id) DO UPDATE SET
    rule_version = EXCLUDED.rule_version, score = EXCLUDED.score,
    article_url = EXCLUDED.article_url, article_title = EXCLUDED.article_title,
    language = EXCLUDED.language, countries = EXCLUDED.countries, pairs = EXCLUDED.pairs,
    topics = EXCLUDED.topics, record = EXCLUDED.record
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
                    a.model_dump_json(), a.created_at,
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
