"""Benchmark of the whole pipeline on a real Kafka broker, not a test.

Articles (the bundled Arabic and English samples, ~10 % of them relevant, each with a unique
id) go through the producers' publishing path (producers.publish.Publisher: idempotent,
acks=all, gzip) into ``newsradar.articles``, through processors workers (``newsradar
processors run``) and the sinks service (``newsradar sinks run``, SQLite store only).

- throughput: N articles (default 50,000) published as fast as the publisher goes; the clock
  stops when the last expected alert is stored;
- latency: a steady offered load (default 200 articles/s for 30 s); per alert, from the
  article's record time in Kafka to the alert's row in the store (p50, p99);
- memory: peak resident set (VmHWM) of each service process;
- ceiling, same run, same broker: raw kafka-python passthrough (consume + produce with
  acks=all, no processing) of N records of the same size.

Targets: pipeline >= 30 % of passthrough; p99 <= 0.5 s at 200 articles/s; <= 300 MB resident
per service. Last line: one JSON object with the figures.

    .venv/bin/python bench/pipeline.py [--articles 50000] [--rate 200] [--seconds 30]
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from services import Broker, Services, throwaway_broker

from newsradar.kafka_admin import admin_client
from newsradar.schemas import Article, encode
from newsradar.settings import Settings
from processors.classify import Engine
from producers.publish import Publisher
from producers.state import Pending

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "newsradar" / "demo" / "articles.jsonl"
RELEVANT_SHARE = 0.10


@dataclass
class Sample:
    fields: dict[str, Any]
    alerts: int


class Corpus:
    """Unique articles from the bundled samples, ~RELEVANT_SHARE of them raising alerts."""

    def __init__(self) -> None:
        engine = Engine.default()
        now = datetime.now(UTC)
        self.relevant: list[Sample] = []
        self.other: list[Sample] = []
        for line in SAMPLES.read_text(encoding="utf-8").splitlines():
            raw = json.loads(line)
            fields = {k: raw[k] for k in ("title", "content", "language") if k in raw}
            probe = Article(id="probe", published=now, fetched_at=now, **fields)
            n = len(engine.alerts(probe))
            (self.relevant if n else self.other).append(Sample(fields, n))
        self.rng = random.Random(7)
        self.count = 0
        self.expected_alerts = 0

    def article(self) -> Pending:
        pool = self.relevant if self.rng.random() < RELEVANT_SHARE else self.other
        sample = pool[self.rng.randrange(len(pool))]
        self.count += 1
        self.expected_alerts += sample.alerts
        now = datetime.now(UTC)
        article = Article(
            id=f"bench-{self.count}",
            url=f"https://bench.example/{self.count}",
            feed="https://bench.example/rss",
            published=now,
            fetched_at=now,
            **sample.fields,
        )
        return Pending(article.id, "", article.url, encode(article))


def start_services(root: Path, env: dict[str, str], workers: int) -> Services:
    """``workers`` processors workers and the sinks service (SQLite store only)."""
    services = Services(
        root,
        {
            **env,
            "NEWSRADAR_SINKS__SQLITE__PATH": str(root / "alerts.sqlite"),
            "NEWSRADAR_PROCESSORS__METRICS_PORT": "0",
            "NEWSRADAR_SINKS__METRICS_PORT": "0",
            "NEWSRADAR_DASHBOARD__ENABLED": "false",
        },
    )
    for i in range(workers):
        services.start(f"processors-{i + 1}", ["processors", "run"])
    services.start("sinks", ["sinks", "run"])
    return services


class Store:
    def __init__(self, path: Path) -> None:
        self.path = path

    def count(self) -> int:
        if not self.path.exists():
            return 0
        db = sqlite3.connect(self.path, timeout=5)
        try:
            return int(db.execute("SELECT count(*) FROM alerts").fetchone()[0])
        except sqlite3.OperationalError:
            return 0
        finally:
            db.close()

    def latencies(self, since_id: int) -> tuple[list[float], list[float]]:
        """Per alert after article ``since_id``: (article in Kafka -> stored, of which
        article in Kafka -> alert created by a processor)."""
        db = sqlite3.connect(self.path, timeout=5)
        try:
            rows = db.execute(
                "SELECT stored_at, json_extract(record, '$.article_enqueued_at'), created_at "
                "FROM alerts WHERE CAST(substr(article_id, 7) AS INTEGER) > ?",
                (since_id,),
            ).fetchall()
        finally:
            db.close()
        total, processing = [], []
        for stored, enqueued, created in rows:
            if enqueued:
                start = datetime.fromisoformat(enqueued)
                total.append((datetime.fromisoformat(stored) - start).total_seconds())
                processing.append((datetime.fromisoformat(created) - start).total_seconds())
        return sorted(total), sorted(processing)


def wait_for(store: Store, services: Services, count: int, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while store.count() < count:
        services.check()
        if time.monotonic() > deadline:
            raise SystemExit(f"bench: {store.count()} of {count} alerts stored in {timeout:.0f}s")
        time.sleep(0.05)
    return time.monotonic()


def caught_up(settings: Settings, services: Services, timeout: float) -> float:
    """Wait until the processors committed every offset of their input (they read it all)."""
    consumer = KafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers,
        group_id=settings.processors.app_id,
        enable_auto_commit=False,
    )
    # The articles, and the pair mentions the workers pass on to their pair counters.
    topics = (settings.topics.articles.name, f"{settings.processors.app_id}-pair-mentions")
    partitions = [
        TopicPartition(topic, p)
        for topic in topics
        for p in range(settings.topics.articles.partitions)
    ]
    deadline = time.monotonic() + timeout
    try:
        while True:
            ends = consumer.end_offsets(partitions)
            lag = sum(ends[tp] - (consumer.committed(tp) or 0) for tp in partitions)
            if lag == 0:
                return time.monotonic()
            services.check()
            if time.monotonic() > deadline:
                raise SystemExit(f"bench: processors still {lag} articles behind")
            time.sleep(0.05)
    finally:
        consumer.close(autocommit=False)


def passthrough(settings: Settings, records: list[bytes]) -> float:
    """Raw kafka-python consume + produce (acks=all) of ``records``; records per second."""
    with admin_client(settings) as admin:
        admin.create_topics([NewTopic(t, 4, 1) for t in ("bench.in", "bench.out")])
    servers = settings.bootstrap_servers
    loader = KafkaProducer(bootstrap_servers=servers, acks="all", linger_ms=20)
    for i, value in enumerate(records):
        loader.send("bench.in", key=str(i).encode(), value=value)
    loader.flush()
    loader.close()
    consumer = KafkaConsumer(bootstrap_servers=servers, group_id=None, max_poll_records=2000)
    partitions = [TopicPartition("bench.in", p) for p in range(4)]
    consumer.assign(partitions)
    consumer.seek_to_beginning()
    producer = KafkaProducer(bootstrap_servers=servers, acks="all", linger_ms=20)
    seen = 0
    started = time.monotonic()
    while seen < len(records):
        for batch in consumer.poll(timeout_ms=1000).values():
            for message in batch:
                producer.send("bench.out", key=message.key, value=message.value)
            seen += len(batch)
    producer.flush()
    elapsed = time.monotonic() - started
    producer.close()
    consumer.close()
    return len(records) / elapsed


def publish(publisher: Publisher, items: list[Pending]) -> None:
    pending = items
    while pending:
        done, error = publisher.publish(pending)
        acked = {p.id for p in done}
        pending = [p for p in pending if p.id not in acked]
        if pending and error:
            print(f"bench: publish retry ({error})", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=50_000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=1, help="processors workers")
    args = parser.parse_args()

    topics = {
        "NEWSRADAR_TOPICS__ARTICLES__PARTITIONS": "4",
        "NEWSRADAR_TOPICS__ALERTS__PARTITIONS": "4",
    }
    with throwaway_broker("newsradar-bench-", topics) as kafka:
        run(args, kafka)


def run(args: argparse.Namespace, kafka: Broker) -> None:
    root, settings = kafka.root, kafka.settings
    services: Services | None = None
    publisher = Publisher(settings)
    try:
        corpus = Corpus()
        warmup = [corpus.article() for _ in range(200)]
        warm_alerts = corpus.expected_alerts
        bulk = [corpus.article() for _ in range(args.articles)]
        bulk_alerts = corpus.expected_alerts
        sizes = [len(p.record) for p in bulk]
        print(
            f"{len(bulk)} articles, mean {statistics.mean(sizes):.0f} bytes, "
            f"{RELEVANT_SHARE:.0%} drawn from the relevant samples",
            file=sys.stderr,
        )

        ceiling = passthrough(settings, [p.record for p in bulk])
        print(f"passthrough (kafka-python consume+produce): {ceiling:,.0f} records/s")

        services = start_services(root, kafka.env, args.workers)
        store = Store(root / "alerts.sqlite")
        # Warm up: the services are up and have stored the first alerts.
        publish(publisher, warmup)
        wait_for(store, services, warm_alerts, timeout=180)
        caught_up(settings, services, timeout=180)

        started = time.monotonic()
        for i in range(0, len(bulk), 1000):
            publish(publisher, bulk[i : i + 1000])
        published = time.monotonic()
        expected = bulk_alerts
        # Done when every alert is stored and the processors have read every article.
        done = max(
            wait_for(store, services, expected, timeout=1800),
            caught_up(settings, services, timeout=1800),
        )
        rate = len(bulk) / (done - started)
        print(
            f"pipeline: {len(bulk):,} articles in {done - started:.1f}s = {rate:,.0f} articles/s "
            f"(publishing took {published - started:.1f}s); {expected:,} alerts stored; "
            f"{rate / ceiling:.0%} of passthrough"
        )

        last_id = corpus.count
        # The offered load arrives as the producers hand it over: small batches, every 50 ms.
        steady = int(args.rate * args.seconds)
        tick = 0.05
        per_tick = max(1, round(args.rate * tick))
        t0 = time.monotonic()
        for k in range(0, steady, per_tick):
            delay = t0 + (k / per_tick) * tick - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            publish(publisher, [corpus.article() for _ in range(min(per_tick, steady - k))])
        offered = steady / (time.monotonic() - t0)
        wait_for(store, services, corpus.expected_alerts, timeout=300)
        lat, detect = store.latencies(last_id)
        p50 = lat[len(lat) // 2]
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        print(
            f"latency at {args.rate:.0f} articles/s offered ({len(lat)} alerts): "
            f"p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, max {lat[-1] * 1000:.0f} ms; "
            f"of which article -> alert created: p50 {detect[len(detect) // 2] * 1000:.0f} ms, "
            f"p99 {detect[min(len(detect) - 1, int(len(detect) * 0.99))] * 1000:.0f} ms"
        )
        rss = services.peak_rss_mb()
        for name, mb in rss.items():
            print(f"peak resident {name}: {mb:.0f} MB")
        result = {
            "articles": len(bulk),
            "pipeline_articles_per_s": round(rate, 1),
            "passthrough_articles_per_s": round(ceiling, 1),
            "pipeline_to_passthrough": round(rate / ceiling, 3),
            "offered_rate_per_s": round(offered, 1),
            "p50_latency_s": round(p50, 4),
            "p99_latency_s": round(p99, 4),
            "rss_mb": rss,
            "max_rss_mb": max(rss.values()),
            "workers": args.workers,
        }
        print(json.dumps(result))
    finally:
        publisher.close()
        if services is not None:
            services.stop(timeout=60)


if __name__ == "__main__":
    main()
