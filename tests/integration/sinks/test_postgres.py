"""The PostgreSQL sink against a real PostgreSQL server."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from pydantic import SecretStr

from newsradar.schemas import Alert, alert_id
from newsradar.settings import PostgresSinkSettings
from sinks.errors import TransientSinkError
from sinks.postgres import MIGRATIONS, PostgresSink
from sinks.search import AlertFilter
from tests.conftest import clean_env, run_cli

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
    assert versions == [(v,) for v in range(1, len(MIGRATIONS) + 1)]


def test_unreachable_server_is_reported_and_retried(postgres: str) -> None:
    dead = postgres.rsplit(":", 1)[0] + ":9/postgres"
    sink = PostgresSink(config(dead))
    health = sink.healthcheck()
    assert not health.ok
    assert health.detail.startswith("postgres: cannot connect or migrate:")
    with pytest.raises(TransientSinkError):
        sink.write([alert("x")])


_databases = itertools.count()
ARABIC_TITLE = "بحث رئيس الوزراء العراقي مع نائب رئيس الحكومة الروسية مكافحة الإرهاب"


@pytest.fixture
def fresh(postgres: str) -> Iterator[str]:
    """The DSN of a new, empty database on the session's server."""
    name = f"newsradar_search_{next(_databases)}"
    with psycopg.connect(postgres, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    yield postgres.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(postgres, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


def titled(article: str, title: str, created: datetime = NOW, **extra: object) -> Alert:
    return alert(article).model_copy(
        update={"article_title": title, "created_at": created, **extra}
    )


def found(sink: PostgresSink, **wanted: object) -> list[str]:
    return [s.alert.article_id for s in sink.find(AlertFilter(**wanted))]  # type: ignore[arg-type]


def test_search_triage_and_pages(fresh: str) -> None:
    sink = PostgresSink(config(fresh))
    sink.setup()
    sink.write(
        [
            titled("ar", ARABIC_TITLE),
            titled("en", "Russian energy firms return to Iraq"),
            titled("eg", "Egypt and China sign a port deal", countries=("CN", "EG")),
        ]
    )
    # Folded as the engine folds: hamza, taa marbuta, shadda, the article spelled otherwise.
    assert found(sink, query="الارهاب الحكومه الروسيّة") == ["ar"]
    assert found(sink, query="والعراقي") == ["ar"]
    assert found(sink, query="russia IRAQ") == ["en"]
    assert found(sink, query="russia egypt") == []
    assert found(sink, query="deal' | 'x") == []  # tsquery syntax is not read
    assert found(sink, query="port", country="EG") == ["eg"]
    assert found(sink, query="port", country="IQ") == []

    first = alert("ar").id
    marked = sink.set_triage(first, read=True, starred=True)
    assert marked is not None
    assert (marked.read, marked.starred) == (True, True)
    assert sink.set_triage("iraq-russia:nope", read=True) is None
    sink.write([titled("ar", ARABIC_TITLE + " updated")])  # redelivered: triage kept
    assert found(sink, unread=True) == ["eg", "en"]
    assert found(sink, starred=True) == ["ar"]
    assert found(sink, query="updated") == ["ar"]
    unread = sink.set_triage(first, read=False)
    assert unread is not None
    assert (unread.read, unread.starred) == (False, True)

    page = sink.find(AlertFilter(), limit=2)
    assert [s.alert.article_id for s in page] == ["eg", "en"]
    rest = sink.find(AlertFilter(), before=page[-1].cursor, limit=2)
    assert [s.alert.article_id for s in rest] == ["ar"]
    sink.write([titled("later", "Later", created=NOW + timedelta(hours=1))])
    assert found(sink, since=NOW + timedelta(minutes=30)) == ["later"]
    sink.close()


def test_alerts_search_reads_postgres_where_it_is_the_only_store(fresh: str) -> None:
    sink = PostgresSink(config(fresh))
    sink.setup()
    sink.write([titled("ar", ARABIC_TITLE), titled("en", "Russian energy firms return to Iraq")])
    sink.close()
    env = clean_env(
        NEWSRADAR_SINKS__SQLITE__ENABLED="false",
        NEWSRADAR_SINKS__POSTGRES__ENABLED="true",
        NEWSRADAR_SINKS__POSTGRES__DSN=fresh,
    )
    result = run_cli("alerts", "search", "الارهاب الحكومه", "--format", "jsonl", env=env)
    assert result.returncode == 0, result.stderr
    assert [json.loads(line)["article_id"] for line in result.stdout.splitlines()] == ["ar"]
    listed = run_cli("alerts", "list", "--format", "jsonl", env=env)
    assert [json.loads(line)["article_id"] for line in listed.stdout.splitlines()] == ["en", "ar"]
    # A server that cannot be reached: one line naming the store and the fix, exit 1.
    down = run_cli(
        "alerts",
        "list",
        env={**env, "NEWSRADAR_SINKS__POSTGRES__DSN": "postgresql://nobody@127.0.0.1:9/none"},
    )
    assert down.returncode == 1
    assert len(down.stderr.strip().splitlines()) == 1, down.stderr
    assert "[sinks.postgres] dsn" in down.stderr


def test_a_store_of_an_older_release_is_migrated_and_indexed(fresh: str) -> None:
    first = MIGRATIONS[0]
    assert isinstance(first, str)
    old = alert("old").model_copy(update={"article_title": ARABIC_TITLE})
    with psycopg.connect(fresh) as conn:
        conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        conn.execute(first)
        conn.execute("INSERT INTO schema_version VALUES (1)")
        conn.execute(
            "INSERT INTO alerts (id, rule_id, rule_version, score, article_id, article_url,"
            " article_title, article_published, language, feed, countries, pairs, topics,"
            " record, created_at) VALUES (%s, 'iraq-russia', 1, 1, %s, '', %s, %s, 'ar', '',"
            " '[]', '[]', '[]', %s, %s)",
            (old.id, old.article_id, old.article_title, NOW, old.model_dump_json(), NOW),
        )
    sink = PostgresSink(config(fresh))
    sink.setup()
    assert found(sink, query="الحكومه الروسيه") == ["old"]
    assert found(sink, unread=True) == ["old"]
    sink.close()
