"""Feed health from Kafka on the real broker: `newsradar feeds status` and the dashboard's
/api/feeds read newsradar.feeds and newsradar.feed-state, whatever machine the producers ran
on (no producer state in the data directory here)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from newsradar.compacted import write_table
from newsradar.kafka_admin import ensure_topics
from newsradar.schemas import FeedStatus, encode, feed_key
from newsradar.settings import load_settings
from producers.feeds import FeedSpec, feed_record
from sinks.sqlite import SqliteSink
from tests.conftest import clean_env, free_ports, run_cli
from tests.integration.conftest import KafkaEnv, service

T0 = 1_700_000_000.0
HOSTILE = "<script>alert(1)</script> HTTP 503 \x1b[2J"


@contextmanager
def dashboard(kafka: KafkaEnv, env: dict[str, str], log_path: Path) -> Iterator[str]:
    """``newsradar dashboard run`` with ``env``; yields its base URL once it answers."""
    (port,) = free_ports(1)
    env = {**env, "NEWSRADAR_DASHBOARD__PORT": str(port)}
    SqliteSink(load_settings(None, env=env).alerts_db).close()  # an empty store: /healthz answers
    with service(kafka, ["dashboard", "run"], log_path, **env) as proc:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, log_path.read_text()
            try:
                if httpx.get(url + "/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.2)
        yield url


def test_feeds_status_and_the_dashboard_read_feed_health_from_kafka(
    kafka: KafkaEnv, tmp_path: Path
) -> None:
    run = time.time_ns()
    env = {
        "NEWSRADAR_DATA_DIR": str(tmp_path / "elsewhere"),  # not the producers' machine
        "NEWSRADAR_KAFKA_BOOTSTRAP": kafka.bootstrap,
        "NEWSRADAR_TOPICS__FEEDS__NAME": f"newsradar.feeds-{run}",
        "NEWSRADAR_TOPICS__FEED_STATE__NAME": f"newsradar.feed-state-{run}",
    }
    settings = load_settings(None, env=env)
    ensure_topics(settings)
    ok, down, fresh, bad = (
        FeedSpec(url="https://ok.example/rss", name="OK"),
        FeedSpec(url="https://down.example/rss", name="Down <b>bold</b>"),
        FeedSpec(url="https://fresh.example/rss", name="Fresh"),
        FeedSpec(url="https://bad-state.example/rss", name="Bad state"),
    )
    write_table(
        settings,
        settings.topics.feeds.name,
        {feed_key(f.url): feed_record(f) for f in (ok, down, fresh, bad)},
    )
    write_table(
        settings,
        settings.topics.feed_state.name,
        {
            feed_key(ok.url): encode(
                FeedStatus(
                    url=ok.url,
                    last_success=T0,
                    items_last_poll=20,
                    new_last_poll=2,
                    interval_seconds=600,
                    producer="host-a:101",
                )
            ),
            feed_key(down.url): encode(
                FeedStatus(
                    url=down.url,
                    consecutive_failures=3,
                    last_error_class="http_5xx",
                    last_error=HOSTILE,
                    interval_seconds=1800,
                    producer="host-b:202",
                )
            ),
            feed_key(bad.url): b'{"url": "https://bad-state.example/rss", "polls": "many"}',
            feed_key("https://removed.example/rss"): encode(
                FeedStatus(url="https://removed.example/rss", producer="host-a:101")
            ),
        },
    )

    proc = run_cli("feeds", "status", "--json", env=clean_env(**env))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == (
        f"newsradar: note: 1 feed states in {settings.topics.feed_state.name} belong to feeds no "
        f"longer in {settings.topics.feeds.name}; not shown\n"
    )
    rows = [json.loads(line) for line in proc.stdout.splitlines()]

    def summary(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return [
            (r["url"], r["health"], r["producer"], r["consecutive_failures"], r["items_last_poll"])
            for r in rows
        ]

    assert summary(rows) == [
        ("https://bad-state.example/rss", "unreadable", "", 0, 0),
        ("https://down.example/rss", "failing", "host-b:202", 3, 0),
        ("https://fresh.example/rss", "never_polled", "", 0, 0),
        ("https://ok.example/rss", "healthy", "host-a:101", 0, 20),
    ]
    by_url = {r["url"]: r for r in rows}
    assert by_url["https://bad-state.example/rss"]["last_error_class"] == "unreadable_state_record"
    assert "polls" in by_url["https://bad-state.example/rss"]["last_error"]
    assert by_url["https://down.example/rss"]["name"] == "Down <b>bold</b>"
    assert by_url["https://down.example/rss"]["last_error"] == HOSTILE
    assert by_url["https://ok.example/rss"]["last_success"] == "2023-11-14T22:13:20+00:00"
    assert by_url["https://ok.example/rss"]["interval_seconds"] == 600.0

    table = run_cli("feeds", "status", env=clean_env(**env))
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert [line.split()[0] for line in lines[1:] if not line.startswith(" ")] == [
        "unreadable",
        "failing",
        "never_polled",
        "healthy",
    ]
    assert "\x1b" not in table.stdout
    assert "<script>alert(1)</script> HTTP 503 \\x1b[2J" in table.stdout

    with dashboard(kafka, env, tmp_path / "dashboard.log") as url:
        for path in ("/api/feeds", "/api/v1/feeds"):
            answer = httpx.get(url + path, timeout=30)
            assert answer.status_code == 200, answer.text
            assert answer.json() == {"feeds": rows}, path  # the same rows as the CLI's

    # Kafka unreachable: the page's API says so in one line naming the servers, the rest works.
    (dead,) = free_ports(1)
    far = {**env, "NEWSRADAR_KAFKA_BOOTSTRAP": f"127.0.0.1:{dead}"}
    with dashboard(kafka, far, tmp_path / "dashboard-far.log") as url:
        started = time.monotonic()
        answer = httpx.get(url + "/api/v1/feeds", timeout=60)
        assert answer.status_code == 503
        assert time.monotonic() - started < 30
        message = answer.json()["error"]
        assert message.startswith(f"feed health not read: Kafka at 127.0.0.1:{dead} did not answer")
        assert "check kafka.bootstrap" in message
        again = httpx.get(url + "/api/feeds", timeout=5)  # cached: answered at once
        assert (again.status_code, again.json()["error"]) == (503, message)
        assert httpx.get(url + "/api/v1/alerts", timeout=5).status_code == 200
