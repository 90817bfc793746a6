from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from newsradar.schemas import Alert, alert_id
from sinks.sqlite import MIGRATIONS, SqliteSink, list_alerts
from tests.conftest import clean_env, run_cli

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def alert(
    rule: str,
    article: str,
    *,
    countries: tuple[str, ...] = ("IQ", "RU"),
    score: float = 5.0,
    created: datetime = NOW,
) -> Alert:
    return Alert(
        id=alert_id(rule, article),
        rule_id=rule,
        article_id=article,
        article_title=f"<b>{article}</b>",
        article_url=f"https://e.org/{article}",
        article_published=NOW,
        countries=countries,
        pairs=("IQ-RU",),
        score=score,
        created_at=created,
    )


def test_writes_are_idempotent_and_schema_is_versioned(tmp_path: Path) -> None:
    sink = SqliteSink(tmp_path / "alerts.sqlite")
    sink.setup()
    a = alert("iraq-russia", "a1")
    sink.write([a, alert("iraq-russia", "a2")])
    sink.write([a.model_copy(update={"score": 9.0})])  # redelivered, re-scored
    db = sqlite3.connect(tmp_path / "alerts.sqlite")
    assert db.execute("SELECT count(*) FROM alerts").fetchone()[0] == 2
    assert db.execute("SELECT score FROM alerts WHERE id = ?", (a.id,)).fetchone()[0] == 9.0
    assert db.execute("SELECT max(version) FROM schema_version").fetchone()[0] == len(MIGRATIONS)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    health = sink.healthcheck()
    assert (health.ok, health.detail) == (True, f"sqlite {tmp_path / 'alerts.sqlite'}: 2 alerts")
    sink.close()
    # Reopening does not migrate twice.
    SqliteSink(tmp_path / "alerts.sqlite").setup()
    assert db.execute("SELECT count(*) FROM schema_version").fetchone()[0] == len(MIGRATIONS)


def test_an_alert_twice_in_one_batch_is_stored_once_as_its_latest_copy(tmp_path: Path) -> None:
    sink = SqliteSink(tmp_path / "alerts.sqlite")
    sink.setup()
    a = alert("iraq-russia", "a1")
    sink.write([a, alert("iraq-russia", "a2"), a.model_copy(update={"score": 9.0})])
    db = sqlite3.connect(tmp_path / "alerts.sqlite")
    assert db.execute("SELECT count(*) FROM alerts").fetchone()[0] == 2
    assert db.execute("SELECT score FROM alerts WHERE id = ?", (a.id,)).fetchone()[0] == 9.0
    assert db.execute("SELECT count(*) FROM alerts_search").fetchone()[0] == 2
    sink.close()


def test_healthcheck_reports_an_unusable_store(tmp_path: Path) -> None:
    (tmp_path / "dir.sqlite").mkdir()
    health = SqliteSink(tmp_path / "dir.sqlite").healthcheck()
    assert not health.ok
    assert "cannot open" in health.detail


def test_list_filters(tmp_path: Path) -> None:
    sink = SqliteSink(tmp_path / "a.sqlite")
    sink.write(
        [
            alert("iraq-russia", "old", created=NOW - timedelta(days=3)),
            alert("iraq-russia", "new"),
            alert("egypt-saudi", "other", countries=("EG", "SA")),
        ]
    )
    path = tmp_path / "a.sqlite"
    assert [a.article_id for a in list_alerts(path, rule="iraq-russia")] == ["new", "old"]
    assert [a.article_id for a in list_alerts(path, country="eg")] == ["other"]
    since = NOW - timedelta(days=1)
    assert sorted(a.article_id for a in list_alerts(path, since=since)) == ["new", "other"]


def test_alerts_list_cli(tmp_path: Path) -> None:
    SqliteSink(tmp_path / "alerts.sqlite").write([alert("iraq-russia", "a1")])
    env = clean_env(NEWSRADAR_DATA_DIR=str(tmp_path))
    table = run_cli("alerts", "list", env=env)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split()[:4] == ["CREATED", "(UTC)", "RULE", "SCORE"]
    assert "iraq-russia" in lines[1]
    assert lines[1].endswith("<b>a1</b>")  # a terminal shows text as text
    assert lines[2].strip() == "https://e.org/a1"
    as_json = [
        json.loads(x)
        for x in run_cli("alerts", "list", "--json", "--country", "RU", env=env).stdout.splitlines()
    ]
    assert [(a["rule_id"], a["article_title"]) for a in as_json] == [("iraq-russia", "<b>a1</b>")]
    bad = run_cli("alerts", "list", "--since", "yesterday", env=env)
    assert bad.returncode == 1
    assert bad.stderr.strip() == (
        "newsradar: error: --since 'yesterday' is not an ISO 8601 time; use e.g. 2026-11-28 or "
        "2026-11-28T06:00Z"
    )
    missing = run_cli("alerts", "list", env=clean_env(NEWSRADAR_DATA_DIR=str(tmp_path / "none")))
    assert missing.returncode == 1
    assert "no alert store at" in missing.stderr
