"""The dashboard's store queries and HTTP API, in process (aiohttp's test server)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from newsradar.errors import ConfigError, KafkaUnavailableError
from newsradar.schemas import Alert, alert_id
from newsradar.settings import Settings, load_settings
from producers.health import FeedHealth
from sinks.dashboard.app import create_app
from sinks.dashboard.store import AlertStore
from sinks.sqlite import SqliteSink

NOW = datetime(2026, 11, 29, 12, 30, tzinfo=UTC)


def alert(n: int, rule: str = "iraq-russia", **extra: Any) -> Alert:
    fields: dict[str, Any] = {
        "id": alert_id(rule, f"a{n}"),
        "rule_id": rule,
        "article_id": f"a{n}",
        "article_title": f"Story {n}",
        "article_published": NOW,
        "language": "en",
        "countries": ("IQ", "RU"),
        "pairs": ("IQ-RU",),
        "created_at": NOW,
        **extra,
    }
    return Alert(**fields)


def settings(tmp_path: Path) -> Settings:
    return load_settings(
        None,
        env={"NEWSRADAR_DATA_DIR": str(tmp_path), "NEWSRADAR_DASHBOARD__POLL_SECONDS": "0.05"},
    )


def store_alerts(s: Settings, *alerts: Alert) -> None:
    sink = SqliteSink(s.alerts_db)
    sink.write(alerts)
    sink.close()


def test_store_filters_cursor_and_pair_series(tmp_path: Path) -> None:
    s = settings(tmp_path)
    store_alerts(
        s,
        alert(1),
        alert(1, "second-rule"),  # same article, another rule: the pair counts it once
        alert(2, language="ar", created_at=NOW - timedelta(hours=2)),
        alert(3, "egypt-china", countries=("CN", "EG"), pairs=("CN-EG",)),
    )
    store = AlertStore(s.alerts_db)
    assert [a.article_id for _, a in store.recent()] == ["a3", "a2", "a1", "a1"]
    assert [a.article_id for _, a in store.recent(country="eg")] == ["a3"]
    assert [a.article_id for _, a in store.recent(language="ar")] == ["a2"]
    assert [a.rule_id for _, a in store.recent(rule="second-rule")] == ["second-rule"]
    assert store.after(store.cursor()) == []
    assert [a.article_id for _, a in store.after(2)] == ["a2", "a3"]
    assert store.facets() == {
        "rules": ["egypt-china", "iraq-russia", "second-rule"],
        "countries": ["CN", "EG", "IQ", "RU"],
        "languages": ["ar", "en"],
    }
    series = store.pair_series(hours=4, now=NOW)
    assert series["hours"][-1] == "2026-11-29T12:00:00+00:00"
    assert series["pairs"] == [
        {"pair": "IQ-RU", "counts": [0, 1, 0, 1]},
        {"pair": "CN-EG", "counts": [0, 0, 0, 1]},
    ]
    store.close()


def serve(s: Settings, test: Callable[[TestClient[Any, Any]], Awaitable[None]]) -> None:
    async def go() -> None:
        async with TestClient(TestServer(create_app(s))) as client:
            await test(client)

    asyncio.run(go())


def test_api_headers_and_bad_input(tmp_path: Path) -> None:
    s = settings(tmp_path)
    store_alerts(s, alert(1))

    async def check(client: TestClient[Any, Any]) -> None:
        page = await client.get("/")
        assert page.status == 200
        csp = page.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert page.headers["X-Content-Type-Options"] == "nosniff"
        bad = await client.get("/api/alerts?limit=lots")
        assert (bad.status, await bad.json()) == (
            400,
            {"error": "limit: must be a whole number from 1 to 1000"},
        )
        missing = await client.get("/api/alerts/nope")
        assert missing.status == 404
        one = await client.get(f"/api/alerts/{alert_id('iraq-russia', 'a1')}")
        assert (await one.json())["article_title"] == "Story 1"
        listed = await (await client.get("/api/alerts?country=RU")).json()
        assert [i["alert"]["article_id"] for i in listed["alerts"]] == ["a1"]
        assert listed["cursor"] == listed["alerts"][0]["cursor"]
        # Feed health is read from Kafka; this data directory's broker is not running.
        feeds = await client.get("/api/feeds")
        assert feeds.status == 503
        assert feeds.headers["Cache-Control"] == "no-store"
        assert (await feeds.json())["error"] == (
            f"feed health not read: Kafka at 127.0.0.1:9092: the local broker of {tmp_path} is "
            "not running; start it with `newsradar broker start`, or set kafka.bootstrap to use "
            "an external cluster"
        )
        assert (await client.get("/api/alerts")).status == 200  # the rest still answers

    serve(s, check)


def test_feed_health_is_read_once_per_few_seconds_off_the_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refresh storm shares one Kafka read; so does a storm while Kafka is down."""
    import threading

    import sinks.dashboard.app as dashboard_app

    reads: list[str] = []
    answer: list[FeedHealth | Exception] = [
        FeedHealth(rows=[{"url": "https://a.example/rss", "health": "healthy"}])
    ]

    def read_feed_health(s: Settings, *, timeout_seconds: float) -> FeedHealth:
        reads.append(threading.current_thread().name)
        assert timeout_seconds == dashboard_app.FEED_HEALTH_TIMEOUT_SECONDS
        threading.Event().wait(0.2)  # a slow read: the requests arriving meanwhile wait for it
        if isinstance(answer[0], Exception):
            raise answer[0]
        return answer[0]

    monkeypatch.setattr(dashboard_app, "read_feed_health", read_feed_health)
    s = settings(tmp_path)
    store_alerts(s, alert(1))

    async def check(client: TestClient[Any, Any]) -> None:
        cache = client.app[dashboard_app.FEED_HEALTH]
        assert cache.ttl_seconds == dashboard_app.FEED_HEALTH_TTL_SECONDS == 5.0
        paths = ["/api/feeds", "/api/v1/feeds"] * 10
        answers = await asyncio.gather(*(client.get(p) for p in paths))
        assert [a.status for a in answers] == [200] * 20
        for a in answers:
            assert await a.json() == {
                "feeds": [{"url": "https://a.example/rss", "health": "healthy"}]
            }
        assert len(reads) == 1
        assert reads[0] != threading.current_thread().name  # not on the event loop's thread
        cache.ttl_seconds = 0.0  # expired: the next request reads again
        answer[0] = KafkaUnavailableError("Kafka at k1:9092 did not answer; check kafka.bootstrap")
        first = await client.get("/api/v1/feeds")
        assert (first.status, await first.json()) == (
            503,
            {"error": "Kafka at k1:9092 did not answer; check kafka.bootstrap"},
        )
        assert len(reads) == 2
        cache.ttl_seconds = 60.0  # the failure is kept as long as an answer would be
        again = await asyncio.gather(*(client.get("/api/feeds") for _ in range(5)))
        assert {a.status for a in again} == {503}
        assert len(reads) == 2

    serve(s, check)


async def events(response: Any, want: int) -> list[tuple[str, dict[str, Any]]]:
    """The first ``want`` SSE events of a stream: (id, data)."""
    found: list[tuple[str, dict[str, Any]]] = []
    event_id = ""
    async with asyncio.timeout(10):
        async for raw in response.content:
            line = raw.decode().rstrip("\r\n")
            if line.startswith("id: "):
                event_id = line[4:]
            elif line.startswith("data: "):
                found.append((event_id, json.loads(line[6:])))
                if len(found) == want:
                    return found
    return found


def test_stream_pushes_new_alerts_and_resumes_from_last_event_id(tmp_path: Path) -> None:
    s = settings(tmp_path)
    store_alerts(s, alert(1), alert(2))

    async def check(client: TestClient[Any, Any]) -> None:
        live = await client.get("/api/stream")
        assert live.headers["Content-Type"].startswith("text/event-stream")
        await asyncio.sleep(0.3)  # connected; what was stored before is not pushed again
        await asyncio.to_thread(store_alerts, s, alert(3), alert(1))  # a1 again: no event
        ((first_id, first),) = await events(live, 1)
        assert first["alert"]["article_id"] == "a3"
        live.close()
        # A page that saw up to alert 1 reconnects: it gets 2 and 3, in order.
        resumed = await client.get("/api/stream", headers={"Last-Event-ID": "1"})
        got = await events(resumed, 2)
        assert [d["alert"]["article_id"] for _, d in got] == ["a2", "a3"]
        assert got[-1][0] == first_id
        resumed.close()

    serve(s, check)


def test_page_names_the_configured_zone_and_serves_only_its_catalogues(tmp_path: Path) -> None:
    s = load_settings(
        None,
        env={"NEWSRADAR_DATA_DIR": str(tmp_path), "NEWSRADAR_DASHBOARD__TIMEZONE": "Asia/Baghdad"},
    )

    async def check(client: TestClient[Any, Any]) -> None:
        page = await client.get("/")
        html = await page.text()
        assert '<meta name="newsradar-timezone" content="Asia/Baghdad">' in html
        assert page.headers["Content-Type"].startswith("text/html")
        assert page.headers["Cache-Control"] == "no-cache"
        for language in ("en", "ar"):
            served = await client.get(f"/static/i18n/{language}.json")
            assert served.status == 200
            assert "alerts.heading" in await served.json()
        assert (await client.get("/static/i18n.js")).status == 200
        for wrong in ("/static/i18n/fr.json", "/static/i18n/..%2fapp.js", "/static/i18n/"):
            assert (await client.get(wrong)).status == 404, wrong

    serve(s, check)


def test_an_unknown_time_zone_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(None, env={"NEWSRADAR_DASHBOARD__TIMEZONE": "Mars/Olympus"})
    assert "dashboard.timezone" in str(error.value)
    assert "Asia/Baghdad" in str(error.value)
