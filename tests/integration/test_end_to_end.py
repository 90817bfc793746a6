"""Foundation end to end: kafka-python -> Kafka -> faust agent -> Kafka -> kafka-python."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime

from kafka import KafkaProducer

from newsradar.schemas import Alert, Article, alert_id, encode
from tests.conftest import REPO
from tests.integration.conftest import KafkaEnv, decoded


def test_article_becomes_alert_through_a_faust_agent(kafka: KafkaEnv, tmp_path) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    article = Article(
        id=f"e2e-{time.time_ns()}",
        title="العراق وروسيا",
        published=now,
        fetched_at=now,
        url="https://example.org/a",
    )
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "faust",
            "-A",
            "tests.integration.faust_relay",
            "worker",
            "-l",
            "warn",
        ],
        cwd=REPO,
        env=kafka.process_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        producer = KafkaProducer(bootstrap_servers=kafka.bootstrap)
        producer.send(
            kafka.settings.topics.articles.name, key=article.id.encode(), value=encode(article)
        ).get(timeout=30)
        producer.close()

        found = kafka.consume(
            kafka.settings.topics.alerts.name,
            lambda m: (
                (m.key, a) if (a := decoded(Alert, m)) and a.article_id == article.id else None
            ),
            worker=worker,
        )
    finally:
        worker.terminate()
        worker.wait(60)
        log.close()
    assert found, (tmp_path / "worker.log").read_text()[-3000:]
    key, alert = found[0]
    assert key == alert_id("relay", article.id).encode()
    assert alert.article_title == "العراق وروسيا"
    assert alert.article_published == article.published
