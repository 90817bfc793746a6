"""The Atom feeds and /metrics of the dashboard's app, in process (aiohttp's test server) over
the alert store: per-rule feeds read by a real feed parser, xml:lang per entry, conditional GET
with ETag and Last-Modified, and the dashboard's own metrics."""

from __future__ import annotations

import asyncio
import re
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import feedparser
from aiohttp.test_utils import TestClient, TestServer

from newsradar.schemas import Alert, Match, alert_id
from newsradar.settings import Settings, load_settings
from sinks.dashboard.app import create_app
from sinks.sqlite import SqliteSink

NOW = datetime(2026, 11, 29, 12, 30, tzinfo=UTC)
ATOM = "{http://www.w3.org/2005/Atom}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
Client = TestClient[Any, Any]


def alert(rule: str, article: str, title: str, **extra: Any) -> Alert:
    fields: dict[str, Any] = {
        "id": alert_id(rule, article),
        "rule_id": rule,
        "article_id": article,
        "score": 6,
        "article_title": title,
        "article_url": f"https://e.org/{article}",
        "article_published": NOW,
        "language": "ar",
        "pairs": ("IQ-RU",),
        "topics": ("defense",),
        "matches": (Match(term="روسيا", denotes="country:RU", field="title", start=0, end=5),),
        "created_at": NOW,
        **extra,
    }
    return Alert(**fields)


def settings(tmp_path: Path, **env: str) -> Settings:
    return load_settings(None, env={"NEWSRADAR_DATA_DIR": str(tmp_path), **env})


def store(s: Settings, *alerts: Alert) -> None:
    sink = SqliteSink(s.alerts_db)
    sink.write(alerts)
    sink.close()


def serve(s: Settings, test: Callable[[Client], Awaitable[None]]) -> None:
    async def go() -> None:
        async with TestClient(TestServer(create_app(s))) as client:
            await test(client)

    asyncio.run(go())


def test_feeds_per_rule_with_text_escaped_and_each_entry_in_its_language(tmp_path: Path) -> None:
    s = settings(tmp_path)
    hostile = "<script>alert(1)</script> روسيا والعراق"
    store(s, alert("iraq-russia", "a1", hostile))
    store(
        s,
        alert("iraq-russia", "a1", hostile),  # redelivered: one entry
        alert("other", "b1", "Other news", language="en-GB", created_at=NOW + timedelta(1)),
        alert("other", "b2", "No language", language=""),
    )

    async def check(client: Client) -> None:
        response = await client.get("/feeds/iraq-russia.atom")
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
        raw = await response.read()
        assert b"<script>" not in raw
        assert b"&lt;script&gt;" in raw
        feed = feedparser.parse(raw)
        assert not feed.bozo
        assert feed.feed.title == "newsradar alerts: iraq-russia"
        assert [(e.title, e.link) for e in feed.entries] == [(hostile, "https://e.org/a1")]
        assert "Pairs: IQ-RU" in feed.entries[0].summary
        assert "روسيا (country:RU)" in feed.entries[0].summary
        # The feed links to itself by the name it was asked for, without the query.
        self_link = feed.feed.links[0]
        assert (self_link.rel, self_link.href) == (
            "self",
            f"http://127.0.0.1:{client.port}/feeds/iraq-russia.atom",
        )
        everything = await (await client.get("/feeds/all.atom")).read()
        root = ET.fromstring(everything)
        languages = {e.findtext(f"{ATOM}title"): e.get(XML_LANG) for e in root.iter(f"{ATOM}entry")}
        assert languages == {hostile: "ar", "Other news": "en-GB", "No language": None}
        empty = feedparser.parse(await (await client.get("/feeds/no-such-rule.atom")).read())
        assert (empty.bozo, empty.entries) == (False, [])

    serve(s, check)


def test_conditional_get_with_etag_and_last_modified(tmp_path: Path) -> None:
    s = settings(tmp_path)
    store(s, alert("iraq-russia", "a1", "First"))
    later = NOW + timedelta(minutes=5)

    async def check(client: Client) -> None:
        first = await client.get("/feeds/all.atom")
        assert first.status == 200
        etag = first.headers["ETag"]
        assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
        assert first.headers["Last-Modified"] == format_datetime(NOW, usegmt=True)
        assert first.headers["Cache-Control"] == "private, no-cache"
        # A reader that kept it: 304, no body, the same validators.
        again = await client.get("/feeds/all.atom", headers={"If-None-Match": etag})
        assert again.status == 304
        assert await again.read() == b""
        assert again.headers["ETag"] == etag
        assert again.headers["Cache-Control"] == "private, no-cache"
        listed = await client.get("/feeds/all.atom", headers={"If-None-Match": f'"x", {etag}'})
        assert listed.status == 304
        assert (await client.head("/feeds/all.atom", headers={"If-None-Match": etag})).status == 304
        since = format_datetime(NOW, usegmt=True)
        by_date = await client.get("/feeds/all.atom", headers={"If-Modified-Since": since})
        assert by_date.status == 304
        older = format_datetime(NOW - timedelta(seconds=1), usegmt=True)
        assert (
            await client.get("/feeds/all.atom", headers={"If-Modified-Since": older})
        ).status == 200
        # If-None-Match decides when both are sent (RFC 9110): a stale tag gets the feed.
        stale = {"If-None-Match": '"stale"', "If-Modified-Since": since}
        assert (await client.get("/feeds/all.atom", headers=stale)).status == 200
        # Each feed has its own tag; and a new alert changes it.
        other = await client.get("/feeds/iraq-russia.atom", headers={"If-None-Match": etag})
        assert other.status == 200
        store(s, alert("iraq-russia", "a2", "Second", created_at=later))
        changed = await client.get("/feeds/all.atom", headers={"If-None-Match": etag})
        assert changed.status == 200
        assert changed.headers["ETag"] != etag
        assert changed.headers["Last-Modified"] == format_datetime(later, usegmt=True)
        assert [e.title for e in feedparser.parse(await changed.read()).entries] == [
            "Second",
            "First",
        ]
        # An empty feed keeps its tag from poll to poll.
        empty = [(await client.get("/feeds/none.atom")).headers["ETag"] for _ in range(2)]
        assert empty[0] == empty[1]

    serve(s, check)


def test_feed_entries_bounds_each_feed(tmp_path: Path) -> None:
    s = settings(tmp_path, NEWSRADAR_DASHBOARD__FEED_ENTRIES="2")
    store(
        s,
        *(
            alert("iraq-russia", f"a{n}", f"Story {n}", created_at=NOW + timedelta(minutes=n))
            for n in range(4)
        ),
    )

    async def check(client: Client) -> None:
        feed = feedparser.parse(await (await client.get("/feeds/all.atom")).read())
        assert [e.title for e in feed.entries] == ["Story 3", "Story 2"]

    serve(s, check)


def test_metrics_count_requests_by_route_and_code(tmp_path: Path) -> None:
    s = settings(tmp_path)
    store(s, alert("iraq-russia", "a1", "First"))

    def count(text: str, route: str, code: str) -> float:
        found = re.search(
            rf'newsradar_dashboard_requests_total\{{code="{code}",route="{re.escape(route)}"\}} '
            r"([0-9.e+]+)",
            text,
        )
        return float(found.group(1)) if found else 0.0

    async def check(client: Client) -> None:
        before = await (await client.get("/metrics")).text()
        etag = (await client.get("/feeds/all.atom")).headers["ETag"]
        await client.get("/feeds/all.atom", headers={"If-None-Match": etag})
        await client.get("/nothing/here")
        response = await client.get("/metrics")
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=")
        after = await response.text()
        for route, code in (("/feeds/{name}", "200"), ("/feeds/{name}", "304"), ("other", "404")):
            assert count(after, route, code) == count(before, route, code) + 1, (route, code)
        assert "newsradar_dashboard_streams 0.0" in after

    serve(s, check)
