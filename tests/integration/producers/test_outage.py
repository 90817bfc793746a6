"""A broker outage while the producers run: articles wait, then go out once each."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from newsradar import broker
from newsradar.kafka_admin import ensure_topics
from newsradar.schemas import Article
from newsradar.settings import load_settings
from producers.state import ProducerState
from tests.feedserver import Reply, feed_server, rss
from tests.integration.conftest import KafkaEnv, broker_env, decoded, service


def test_articles_published_during_an_outage_arrive_once_after_it(tmp_path: Path) -> None:
    env = broker_env(tmp_path / "broker")
    settings = load_settings(None, env=env)
    broker.start(settings)
    kafka = KafkaEnv(settings, env)
    try:
        ensure_topics(settings)
        items: list[dict[str, str]] = [
            {"title": f"Story {i}", "guid": f"s{i}", "link": f"https://e.org/{i}"} for i in range(5)
        ]
        with feed_server() as server:
            server.routes["/f"] = lambda _headers: Reply(200, rss(items))
            feeds = tmp_path / "feeds.yaml"
            feeds.write_text(json.dumps({"feeds": [{"url": server.url("/f"), "language": "en"}]}))
            producer_env = {
                "NEWSRADAR_PRODUCERS__FEEDS_FILE": str(feeds),
                "NEWSRADAR_PRODUCERS__METRICS_PORT": "0",
                "NEWSRADAR_PRODUCERS__MIN_INTERVAL_SECONDS": "1",
                "NEWSRADAR_PRODUCERS__DEFAULT_INTERVAL_SECONDS": "1",
                "NEWSRADAR_PRODUCERS__PER_HOST_DELAY_SECONDS": "0",
            }

            def ours(message: Any) -> Article | None:
                return decoded(Article, message)

            topic = settings.topics.articles.name
            with service(
                kafka, ["producers", "run"], tmp_path / "producers.log", **producer_env
            ) as proc:
                first = kafka.consume(topic, ours, want=5, worker=proc, timeout_seconds=60)
                assert len(first) == 5

                broker.stop(settings)
                items.extend(
                    {"title": f"Story {i}", "guid": f"s{i}", "link": f"https://e.org/{i}"}
                    for i in range(5, 10)
                )
                state = ProducerState(tmp_path / "broker" / "producers" / "state.sqlite")
                deadline = time.monotonic() + 60
                while state.pending_count() < 5 and time.monotonic() < deadline:
                    time.sleep(0.5)
                assert state.pending_count() == 5  # parsed, waiting for Kafka
                assert state.seen_count() == 5  # dedup did not advance for them

                broker.start(settings)
                deadline = time.monotonic() + 90
                while state.pending_count() and time.monotonic() < deadline:
                    time.sleep(0.5)
                assert state.pending_count() == 0
                assert proc.poll() is None  # the outage did not stop the service
                state.close()
            everything = kafka.read_to_end(topic, ours)
        assert sorted(a.title for a in everything) == sorted(f"Story {i}" for i in range(10))
    finally:
        broker.stop(settings)
