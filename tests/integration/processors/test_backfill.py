"""``newsradar backfill`` over articles retained in the real broker."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kafka import KafkaProducer

from newsradar.schemas import Alert, Article, encode
from tests.conftest import reference_text, run_cli
from tests.integration.conftest import KafkaEnv


def test_backfill_reruns_rules_over_a_time_range_into_its_own_file(
    kafka: KafkaEnv, tmp_path: Path
) -> None:
    run = time.time_ns()
    title, body = reference_text()
    start = datetime.now(UTC) - timedelta(seconds=1)
    now = datetime.now(UTC)
    reference = Article(
        id=f"backfill-{run}",
        title=title,
        content=body,
        language="ar",
        feed="https://elaph.example/rss",
        published=now,
        fetched_at=now,
    )
    producer = KafkaProducer(bootstrap_servers=kafka.bootstrap)
    topic = kafka.settings.topics.articles.name
    producer.send(topic, key=reference.id.encode(), value=encode(reference)).get(30)
    producer.send(topic, key=f"junk-{run}".encode(), value=b"\xff not an article").get(30)
    producer.close()
    end = datetime.now(UTC) + timedelta(seconds=1)
    output = tmp_path / "out.jsonl"
    env = kafka.process_env(
        NEWSRADAR_DATA_DIR=str(tmp_path / "data"), NEWSRADAR_KAFKA_BOOTSTRAP=kafka.bootstrap
    )
    done = run_cli(
        "backfill",
        "--from", start.isoformat(), "--to", end.isoformat(), "--output", str(output),
        env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    alerts = [Alert.model_validate(json.loads(line)) for line in output.read_text().splitlines()]
    ours = [a for a in alerts if a.article_id == reference.id]
    assert [a.rule_id for a in ours] == ["iraq-russia"]
    first = done.stdout.splitlines()[0]
    assert first.startswith(f"Backfill {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC: ")
    malformed = re.search(r"(\d+) malformed records skipped", first)
    assert malformed is not None
    assert int(malformed.group(1)) >= 1  # ours; other tests may have added theirs
    assert f"alerts in {output}" in first
    assert "elaph.example" in done.stdout  # the summary by source
    assert f"{now:%Y-%m-%d}" in done.stdout  # ... by day

    # A range before anything was written reads nothing.
    empty = run_cli(
        "backfill", "--from", "2000-01-01", "--to", "2000-01-02", "--output", str(output), env=env
    )
    assert empty.returncode == 0, empty.stderr
    assert empty.stdout.startswith(
        "Backfill 2000-01-01 00:00 to 2000-01-02 00:00 UTC: 0 articles, 0 alerts"
    )
    assert output.read_text() == ""
