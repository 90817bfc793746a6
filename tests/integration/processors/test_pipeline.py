"""The real processors worker on the real broker: the reference article becomes an alert."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from kafka import KafkaProducer

from newsradar.schemas import Alert, Article, DeadLetter, alert_id, decode, encode
from tests.conftest import REPO, shared_data_path
from tests.integration.conftest import KafkaEnv


@pytest.fixture(scope="module")
def worker(
    kafka: KafkaEnv, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[subprocess.Popen[bytes]]:
    log_path = tmp_path_factory.mktemp("processors") / "worker.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "newsradar", "processors", "run"],
            cwd=REPO,
            env=kafka.process_env(NEWSRADAR_PROCESSORS__METRICS_PORT="0"),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.returncode not in (0, -15):
                print(log_path.read_text()[-5000:])


def test_reference_article_raises_one_iraq_russia_alert_and_bad_records_are_dead_lettered(
    kafka: KafkaEnv, worker: subprocess.Popen[bytes]
) -> None:
    text = shared_data_path("articles", "elaph-iraq-russia.ar.txt").read_text(encoding="utf-8")
    title, _, body = text.partition("\n")
    now = datetime.now(UTC)
    run = time.time_ns()
    reference = Article(
        id=f"elaph-{run}",
        title=title[:150],
        content=body,
        language="ar",
        published=now,
        fetched_at=now,
        url="https://elaph.com/x",
    )
    distractor = Article(
        id=f"distractor-{run}",
        title="France and Germany talk trade",
        content="Paris and Berlin signed a trade agreement.",
        published=now,
        fetched_at=now,
    )
    producer = KafkaProducer(bootstrap_servers=kafka.bootstrap)
    topic = kafka.settings.topics.articles.name
    for article in (reference, distractor):
        producer.send(topic, key=article.id.encode(), value=encode(article)).get(30)
    producer.send(topic, key=f"bad-{run}".encode(), value=b"{not json").get(30)
    producer.close()

    dead = kafka.consume(
        kafka.settings.topics.deadletter.name,
        lambda m: decode(DeadLetter, m.value) if m.key == f"bad-{run}".encode() else None,
        worker=worker,
    )
    assert len(dead) == 1
    assert (dead[0].stage, dead[0].error_type) == ("processors", "SchemaError")
    assert "not valid UTF-8 JSON" in dead[0].reason
    assert dead[0].original_value() == b"{not json"

    alerts = kafka.consume(
        kafka.settings.topics.alerts.name,
        lambda m: a if str(run) in (a := decode(Alert, m.value)).article_id else None,
        worker=worker,
    )
    assert [a.article_id for a in alerts] == [reference.id]
    alert = alerts[0]
    assert alert.rule_id == "iraq-russia"
    assert alert.id == alert_id("iraq-russia", reference.id)
    assert {"IQ", "RU"} <= set(alert.countries)
    assert "IQ-RU" in alert.pairs
    assert {"security", "elections", "investment", "trade", "health", "defense"} <= set(
        alert.topics
    )
    # Every match points into the original text.
    for m in alert.matches:
        source = reference.title if m.field == "title" else reference.content
        assert source[m.start : m.end] == m.term
