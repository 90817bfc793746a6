"""The real processors worker on the real broker: the reference article becomes an alert."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

import httpx
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from newsradar.schemas import Alert, Article, DeadLetter, alert_id, encode
from processors import core
from tests.conftest import reference_text
from tests.integration.conftest import KafkaEnv, Worker, decoded


def test_reference_article_raises_one_iraq_russia_alert_and_bad_records_are_dead_lettered(
    kafka: KafkaEnv, processors_worker: Worker
) -> None:
    worker = processors_worker.proc
    title, body = reference_text()
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
        lambda m: decoded(DeadLetter, m) if m.key == f"bad-{run}".encode() else None,
        worker=worker,
    )
    assert len(dead) == 1
    assert (dead[0].stage, dead[0].error_type) == ("processors", "SchemaError")
    assert "not valid UTF-8 JSON" in dead[0].reason
    assert dead[0].original_value() == b"{not json"

    alerts = kafka.consume(
        kafka.settings.topics.alerts.name,
        lambda m: a if (a := decoded(Alert, m)) and str(run) in a.article_id else None,
        worker=worker,
    )
    assert [a.article_id for a in alerts] == [reference.id]
    alert = alerts[0]
    assert alert.rule_id == "iraq-russia"
    assert alert.id == alert_id("iraq-russia", reference.id)
    assert {"IQ", "RU"} <= set(alert.countries)
    assert "IQ-RU" in alert.pairs
    # The article's arrival in Kafka rides along, for the sinks' delivery latency.
    assert alert.article_enqueued_at is not None
    assert abs((alert.article_enqueued_at - now).total_seconds()) < 120
    assert {"security", "elections", "investment", "trade", "health", "defense"} <= set(
        alert.topics
    )
    # Every match points into the original text.
    for m in alert.matches:
        source = reference.title if m.field == "title" else reference.content
        assert source[m.start : m.end] == m.term


def test_a_pair_surging_against_its_baseline_is_flagged(
    kafka: KafkaEnv, processors_worker: Worker
) -> None:
    now = datetime.now(UTC)
    run = time.time_ns()
    producer = KafkaProducer(bootstrap_servers=kafka.bootstrap)
    for i in range(8):  # surge_min_count is 5; with no history the baseline is the floor of 1
        article = Article(
            id=f"surge-{run}-{i}",
            title=f"Iraq and Russia sign deal number {i}",
            published=now,
            fetched_at=now,
            language="en",
        )
        producer.send(
            kafka.settings.topics.articles.name, key=article.id.encode(), value=encode(article)
        ).get(30)
    producer.close()
    deadline = time.monotonic() + 90
    text = ""
    while time.monotonic() < deadline:
        assert processors_worker.proc.poll() is None, "processors worker exited"
        text = httpx.get(processors_worker.metrics_url, timeout=5).text
        if 'newsradar_pair_surge{pair="IQ-RU"} 1.0' in text:
            break
        time.sleep(1)
    assert 'newsradar_pair_surge{pair="IQ-RU"} 1.0' in text
    engine = "native" if core.available() else "python"  # the worker runs without NEWSRADAR_ENGINE
    assert f'newsradar_detection_engine_info{{engine="{engine}"}} 1.0' in text
    counted = re.search(r'newsradar_pair_articles_total\{pair="IQ-RU"\} (\d+)', text)
    assert counted is not None
    assert int(float(counted.group(1))) >= 8


def test_the_worker_exports_its_lag_per_partition_of_the_articles_topic(
    kafka: KafkaEnv, processors_worker: Worker
) -> None:
    topic = kafka.settings.topics.articles.name
    partitions = {str(p) for p in range(kafka.settings.topics.articles.partitions)}
    lag_line = re.compile(
        r'newsradar_processor_lag_records\{partition="(\d+)",topic="([^"]+)"\} (\d+)'
    )
    committed_line = re.compile(
        r'newsradar_processor_committed_offset\{partition="(\d+)",topic="([^"]+)"\} (\d+)'
    )
    now = datetime.now(UTC)
    article = Article(
        id=f"lag-{time.time_ns()}", title="Iraq and Russia", published=now, fetched_at=now
    )
    producer = KafkaProducer(bootstrap_servers=kafka.bootstrap)
    producer.send(topic, key=article.id.encode(), value=encode(article)).get(30)
    producer.close()
    deadline = time.monotonic() + 90
    lags: dict[str, int] = {}
    committed: dict[str, int] = {}
    while time.monotonic() < deadline:  # measured every 10 s; caught up once it has processed
        text = httpx.get(processors_worker.metrics_url, timeout=5).text
        lags = {p: int(n) for p, t, n in lag_line.findall(text) if t == topic}
        committed = {p: int(n) for p, t, n in committed_line.findall(text) if t == topic}
        if set(lags) == partitions and sum(lags.values()) == 0:
            break
        time.sleep(1)
    assert set(lags) == partitions  # the one worker holds every partition
    assert set(committed) == partitions
    assert sum(lags.values()) == 0, lags
    # What the worker committed is what Kafka holds: every article written so far.
    consumer = KafkaConsumer(bootstrap_servers=kafka.bootstrap)
    ends = consumer.end_offsets([TopicPartition(topic, int(p)) for p in partitions])
    consumer.close()
    assert sum(ends.values()) >= sum(committed.values()) > 0
    assert "newsradar_processor_lag_measured_timestamp_seconds" in text
