"""The PostgreSQL sink against a real PostgreSQL server."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
import pytest
from pydantic import SecretStr

from newsradar.schemas import Alert, alert_id
from newsradar.settings import PostgresSinkSettings
from sinks.errors import TransientSinkError
from sinks.postgres import PostgresSink

NOW = datetime(2026, 11, 29, tzinfo=UTC)


def alert(article: str, score: float = 5.0) -> Alert:
    return Alert(
        id=alert_id("iraq-russia", article),
        rule_id="iraq-russia",
        article_id=article,
        article_title="العراق وروسيا <b>",
        article_published=NOW,
        score=score,
        countries=("IQ", "RU"),
        pairs=("IQ-RU",),
    )


def config(dsn: str) -> PostgresSinkSettings:
    return PostgresSinkSettings(enabled=True, dsn=SecretStr(dsn), connect_timeout_seconds=3)


def test_migrated_idempotent_store(postgres: str) -> None:
    sink = PostgresSink(config(postgres))
    sink.setup()
    sink.write([alert("a1"), alert("a2")])
    sink.write([alert("a1", score=9.0)])  # redelivered, re-scored
    assert sink.healthcheck().detail == "postgres: 2 alerts"
    sink.close()
    again = PostgresSink(config(postgres))
    again.setup()  # a second start migrates nothing twice
    again.close()
    with psycopg.connect(postgres) as conn:
        rows = conn.execute(
            "SELECT article_id, score, article_title, record->>'rule_id' "
            "FROM alerts ORDER BY article_id"
        ).fetchall()
        versions = conn.execute("SELECT version FROM schema_version").fetchall()
    assert rows == [
        ("a1", 9.0, "العراق وروسيا <b>", "iraq-russia"),
        ("a2", 5.0, "العراق وروسيا <b>", "iraq-russia"),
    ]
    assert versions == [(1,)]


def test_unreachable_server_is_reported_and_retried(postgres: str) -> None:
    dead = postgres.rsplit(":", 1)[0] + ":9/postgres"
    sink = PostgresSink(config(dead))
    health = sink.healthcheck()
    assert not health.ok
    assert health.detail.startswith("postgres: cannot connect or migrate:")
    with pytest.raises(TransientSinkError):
        sink.write([alert("x")])
