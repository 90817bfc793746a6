"""The sinks service on the real broker: alerts stored once, bad records dead-lettered."""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kafka import KafkaProducer

from newsradar.schemas import Alert, Article, DeadLetter, alert_id, encode
from tests.conftest import clean_env, run_cli, shared_data_path
from tests.integration.conftest import KafkaEnv, Worker, decoded, service


def stored(db: Path, alert_id_: str) -> int:
    if not db.is_file():
        return 0
    with sqlite3.connect(db) as conn:
        try:
            return int(
                conn.execute("SELECT count(*) FROM alerts WHERE id = ?", (alert_id_,)).fetchone()[0]
            )
        except sqlite3.OperationalError:  # table not created yet
            return 0


def wait_for(predicate, seconds: float = 90) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.5)
    return False


def test_alerts_are_stored_once_and_bad_records_dead_lettered(
    kafka: KafkaEnv, processors_worker: Worker, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    run = time.time_ns()
    text = shared_data_path("articles", "elaph-iraq-russia.ar.txt").read_text(encoding="utf-8")
    article = Article(
        id=f"sink-elaph-{run}",
        title=text[:100],
        content=text,
        language="ar",
        published=now,
        fetched_at=now,
        url=f"https://elaph.example/{run}",
    )
    manual = Alert(
        id=alert_id("manual", f"m-{run}"),
        rule_id="manual",
        article_id=f"m-{run}",
        article_published=now,
        article_title="<script>alert(1)</script>",
    )
    env = {
        "NEWSRADAR_DATA_DIR": str(tmp_path),
        "NEWSRADAR_KAFKA_BOOTSTRAP": kafka.bootstrap,
        "NEWSRADAR_SINKS__METRICS_PORT": "0",
    }
    db = tmp_path / "alerts.sqlite"
    with service(kafka, ["sinks", "run"], tmp_path / "sinks.log", **env) as sinks:
        producer = KafkaProducer(bootstrap_servers=kafka.bootstrap)
        alerts_topic = kafka.settings.topics.alerts.name
        for _ in range(2):  # a redelivery: same id twice
            producer.send(alerts_topic, key=manual.id.encode(), value=encode(manual)).get(30)
        producer.send(alerts_topic, key=f"bad-{run}".encode(), value=b'{"id": 1}').get(30)
        producer.send(
            kafka.settings.topics.articles.name, key=article.id.encode(), value=encode(article)
        ).get(30)
        producer.close()
        reference_id = alert_id("iraq-russia", article.id)
        assert wait_for(lambda: stored(db, reference_id) == 1), "reference alert not stored"
        assert stored(db, manual.id) == 1
        assert sinks.poll() is None

        def bad_one(m: Any) -> DeadLetter | None:
            record = decoded(DeadLetter, m)
            ok = record and m.key == f"bad-{run}".encode() and record.stage == "sinks"
            return record if ok else None

        dead = kafka.consume(kafka.settings.topics.deadletter.name, bad_one)
        listed = run_cli("alerts", "list", "--json", "--rule", "iraq-russia", env=clean_env(**env))
    assert dead
    assert dead[0].error_type == "SchemaError"
    assert "alert record is invalid" in dead[0].reason
    ours = [json.loads(x) for x in listed.stdout.splitlines()]
    assert [a["article_id"] for a in ours if a["article_id"] == article.id] == [article.id]
