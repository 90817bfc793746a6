"""Feeds to alerts on the real broker: producers -> newsradar.articles -> processors -> alerts."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from newsradar.schemas import Alert, Article
from tests.conftest import run_cli
from tests.feedserver import Reply, feed_server, rss
from tests.integration.conftest import KafkaEnv, Worker, decoded, reference_feed_items, service


def test_reference_article_from_a_feed_becomes_one_alert(
    kafka: KafkaEnv, processors_worker: Worker, tmp_path: Path
) -> None:
    run = time.time_ns()
    title, items = reference_feed_items(run)
    with feed_server() as server:
        server.routes["/elaph.xml"] = Reply(200, rss(items, title="Elaph"))
        feeds = tmp_path / "feeds.yaml"
        feeds.write_text(
            json.dumps(
                {
                    "feeds": [
                        {
                            "url": server.url("/elaph.xml"),
                            "name": "Elaph",
                            "language": "ar",
                            "country": "GB",
                        }
                    ]
                }
            )
        )
        env = {
            "NEWSRADAR_DATA_DIR": str(tmp_path / "data"),
            "NEWSRADAR_PRODUCERS__FEEDS_FILE": str(feeds),
            "NEWSRADAR_PRODUCERS__METRICS_PORT": "0",
            "NEWSRADAR_PRODUCERS__MIN_INTERVAL_SECONDS": "1",
            "NEWSRADAR_PRODUCERS__DEFAULT_INTERVAL_SECONDS": "1",
            "NEWSRADAR_PRODUCERS__PER_HOST_DELAY_SECONDS": "0",
        }
        # The broker's pid file lives in the session's data dir; this run keeps its own state,
        # and its own feeds and feed-state topics, which `feeds status` reads below.
        env["NEWSRADAR_KAFKA_BOOTSTRAP"] = kafka.bootstrap
        env["NEWSRADAR_TOPICS__FEEDS__NAME"] = f"newsradar.feeds-{run}"
        env["NEWSRADAR_TOPICS__FEED_STATE__NAME"] = f"newsradar.feed-state-{run}"
        env["NEWSRADAR_PRODUCERS__GROUP_ID"] = f"newsradar-producers-{run}"
        with service(kafka, ["producers", "run"], tmp_path / "producers.log", **env) as producers:
            alerts = kafka.consume(
                kafka.settings.topics.alerts.name,
                lambda m: a if (a := decoded(Alert, m)) and str(run) in a.article_url else None,
                worker=producers,
            )
            deadline = time.monotonic() + 30
            while len(server.hits("/elaph.xml")) < 3 and time.monotonic() < deadline:
                time.sleep(0.5)
            assert len(server.hits("/elaph.xml")) >= 3  # polled again and again ...
            status = run_cli("feeds", "status", "--json", env=kafka.process_env(**env))

        def ours(message: Any) -> Article | None:
            article = decoded(Article, message)
            return article if article and str(run) in article.url else None

        published = kafka.read_to_end(kafka.settings.topics.articles.name, ours)
    assert len(published) == 2  # ... but each article went out once
    assert [a.rule_id for a in alerts] == ["iraq-russia"]
    alert = alerts[0]
    assert alert.article_title == title[:120].strip()
    assert alert.article_url == f"https://elaph.example/{run}/iraq-russia"
    assert alert.language == "ar"
    assert {"IQ", "RU"} <= set(alert.countries)
    assert status.returncode == 0, status.stderr
    (row,) = [json.loads(line) for line in status.stdout.splitlines()]
    assert (row["url"], row["name"], row["health"]) == (
        server.url("/elaph.xml"),
        "Elaph",
        "healthy",
    )
    assert (row["items_last_poll"], row["consecutive_failures"]) == (2, 0)
    assert row["producer"].endswith(f":{producers.pid}")  # the instance that polled it
