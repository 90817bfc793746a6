"""Backfill's rule run over retained records (Kafka reading is in tests/integration)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from newsradar.schemas import Alert, Article, encode
from processors.backfill import run_rules
from processors.classify import Engine
from tests.conftest import reference_text, run_cli

DAY1 = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)
DAY2 = datetime(2026, 11, 21, 0, 30, tzinfo=UTC)


def ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def test_rules_run_over_records_with_a_summary_by_day_source_and_language(
    engine: Engine,
) -> None:
    title, body = reference_text()
    reference = Article(
        id="elaph-1",
        title=title,
        content=body,
        language="ar",
        feed="https://elaph.com/rss.xml",
        published=DAY1,
        fetched_at=DAY1,
    )
    sport = Article(
        id="bbc-1",
        title="Local derby ends in a draw",
        language="en",
        feed="https://feeds.bbci.co.uk/news/rss.xml",
        published=DAY2,
        fetched_at=DAY2,
    )
    alerts: list[Alert] = []
    summary = run_rules(
        engine,
        [(ms(DAY1), encode(reference)), (ms(DAY2), b"{broken"), (ms(DAY2), encode(sport))],
        alerts.append,
    )
    assert [a.rule_id for a in alerts if a.rule_id == "iraq-russia"] == ["iraq-russia"]
    assert alerts[0].article_enqueued_at == DAY1
    assert (summary.articles, summary.alerts, summary.malformed) == (2, len(alerts), 1)
    assert summary.table("day") == [
        ("2026-11-20", 1, len(alerts)),
        ("2026-11-21", 1, 0),
    ]
    assert summary.table("source") == [
        ("elaph.com", 1, len(alerts)),
        ("feeds.bbci.co.uk", 1, 0),
    ]
    assert summary.table("language") == [("ar", 1, len(alerts)), ("en", 1, 0)]


def test_bad_arguments_are_one_line_errors(tmp_path: Path) -> None:
    env = {"NEWSRADAR_DATA_DIR": str(tmp_path)}
    late = run_cli("backfill", "--from", "2026-11-27", "--to", "2026-11-20", env=env)
    assert late.returncode == 1
    assert late.stderr.strip() == (
        "newsradar: error: --from 2026-11-27 is not before --to 2026-11-20; give an earlier --from"
    )
    bad = run_cli("backfill", "--from", "last week", "--to", "2026-11-20", env=env)
    assert bad.returncode == 1
    assert "--from 'last week' is not an ISO 8601 time" in bad.stderr
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - id: x\n    countries: {all: [XX]}\n")
    broken = run_cli(
        "backfill", "--from", "2026-11-20", "--to", "2026-11-27", "--rules", str(rules), env=env
    )
    assert broken.returncode == 3  # a configuration error, as everywhere in the CLI
    assert len(broken.stderr.strip().splitlines()) == 1
    assert "XX" in broken.stderr
    assert "Traceback" not in broken.stderr
