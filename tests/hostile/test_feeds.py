"""Hostile feed servers and feed text: a drip, redirects to non-web addresses, bad ports,
control characters and ``javascript:`` links. Each gets a counted, visible feed error or clean
articles; the producers go on with the other feeds; nothing raises a traceback."""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
import threading
import time
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from newsradar.schemas import Article, decode
from newsradar.settings import load_settings
from producers.feeds import FeedSpec
from producers.normalize import parse_feed
from producers.rss import FeedPoller, PollOutcome
from producers.state import ProducerState
from tests.conftest import REPO, clean_env, run_cli
from tests.feedserver import FeedServer, Reply, feed_server, rss

GOOD = rss([{"title": "Iraq and Russia sign a deal", "guid": "g1", "link": "https://e.org/1"}])


@contextmanager
def drip_server(every_seconds: float = 0.3) -> Iterator[str]:
    """A real HTTP server that answers 200 at once, then sends its body one byte every
    ``every_seconds``, for as long as the client listens: no single read ever times out."""

    class Drip(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            deadline = time.monotonic() + 120
            try:
                while time.monotonic() < deadline:
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(every_seconds)
            except OSError:  # the client gave up: what we want
                pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Drip)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/feed.xml"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with feed_server() as s:
        yield s


def make_poller(tmp_path: Path, feeds: Sequence[FeedSpec], **env: str) -> FeedPoller:
    settings = load_settings(
        None,
        env={
            "NEWSRADAR_DATA_DIR": str(tmp_path),
            "NEWSRADAR_PRODUCERS__PER_HOST_DELAY_SECONDS": "0",
            **env,
        },
    )
    state = ProducerState(tmp_path / "state.sqlite")
    return FeedPoller(settings, feeds, state, None, rng=random.Random(1))


def cycle(poller: FeedPoller) -> list[PollOutcome]:
    async def go() -> list[PollOutcome]:
        try:
            return await poller.run_cycle()
        finally:
            await poller.aclose()

    return asyncio.run(go())


def fetches(outcome: str) -> float:
    return REGISTRY.get_sample_value("newsradar_feed_fetches_total", {"outcome": outcome}) or 0.0


@pytest.mark.integration
def test_a_dripping_server_hits_the_fetch_deadline_and_the_other_feeds_go_on(
    tmp_path: Path, server: FeedServer
) -> None:
    server.routes["/good.xml"] = Reply(200, GOOD)
    with drip_server() as drip:
        feeds = [FeedSpec(url=drip), FeedSpec(url=server.url("/good.xml"))]
        poller = make_poller(
            tmp_path,
            feeds,
            NEWSRADAR_PRODUCERS__TIMEOUT_SECONDS="2",
            NEWSRADAR_PRODUCERS__FETCH_DEADLINE_SECONDS="3",
        )
        before = fetches("deadline")
        started = time.monotonic()
        outcomes = {o.url: o for o in cycle(poller)}
        took = time.monotonic() - started
    assert 2.5 < took < 15, took
    assert outcomes[drip].outcome == "deadline"
    assert "producers.fetch_deadline_seconds" in outcomes[drip].error
    assert outcomes[server.url("/good.xml")].outcome == "ok"
    assert outcomes[server.url("/good.xml")].new == 1
    assert fetches("deadline") == before + 1
    health = poller.state.feed(drip)
    assert (health.last_error_class, health.consecutive_failures) == ("deadline", 1)


@pytest.mark.integration
def test_feeds_parse_keeps_the_configured_deadline_for_a_dripping_server() -> None:
    with drip_server() as drip:
        started = time.monotonic()
        proc = run_cli(
            "feeds",
            "parse",
            drip,
            env=clean_env(
                NEWSRADAR_PRODUCERS__TIMEOUT_SECONDS="2",
                NEWSRADAR_PRODUCERS__FETCH_DEADLINE_SECONDS="2",
            ),
        )
        took = time.monotonic() - started
    assert took < 30
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    [line] = proc.stderr.splitlines()
    assert line.startswith(f"newsradar: error: {drip}: ")
    assert line.endswith("(deadline)")


BAD_TARGETS = [
    ("javascript:alert(1)", "bad_scheme"),
    ("data:text/html,<script>alert(1)</script>", "bad_scheme"),
    ("mailto:editor@example.org", "bad_scheme"),
    ("about:blank", "bad_scheme"),
    ("http://127.0.0.1:99999/feed.xml", "bad_url"),
]


@pytest.mark.integration
def test_redirects_to_non_web_addresses_are_counted_feed_errors(
    tmp_path: Path, server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    feeds = []
    for i, (target, _) in enumerate(BAD_TARGETS):
        server.routes[f"/r{i}"] = Reply(302, headers={"Location": target})
        feeds.append(FeedSpec(url=server.url(f"/r{i}")))
    server.routes["/good.xml"] = Reply(200, GOOD)
    feeds.append(FeedSpec(url=server.url("/good.xml")))
    before = {cls: fetches(cls) for _, cls in BAD_TARGETS}
    outcomes = {o.url: o for o in cycle(make_poller(tmp_path, feeds))}
    for i, (target, error_class) in enumerate(BAD_TARGETS):
        outcome = outcomes[server.url(f"/r{i}")]
        assert outcome.outcome == error_class, (target, outcome)
        assert server.url(f"/r{i}") in outcome.error
        assert repr(target) in outcome.error
        assert "feed list" in outcome.error  # the fix: correct the feed's address
    assert outcomes[server.url("/good.xml")].outcome == "ok"
    assert fetches("bad_scheme") == before["bad_scheme"] + 4
    assert fetches("bad_url") == before["bad_url"] + 1
    assert not [r for r in caplog.records if r.exc_info]  # no traceback logged


@pytest.mark.integration
@pytest.mark.parametrize(("target", "error_class"), BAD_TARGETS)
def test_feeds_parse_names_a_refused_redirect_in_one_line(
    server: FeedServer, target: str, error_class: str
) -> None:
    server.routes["/moved"] = Reply(301, headers={"Location": target})
    proc = run_cli("feeds", "parse", server.url("/moved"))
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    [line] = proc.stderr.splitlines()
    assert line.startswith(f"newsradar: error: {server.url('/moved')}: ")
    assert repr(target) in line
    assert line.endswith(f"({error_class})")


def test_feed_urls_with_a_bad_port_or_scheme_are_refused(tmp_path: Path) -> None:
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(
        "feeds:\n"
        "  - url: https://e.org/ok.xml\n"
        "  - url: http://e.org:99999/feed.xml\n"
        "  - url: https://e.org:0/feed.xml\n"
        "  - url: javascript:alert(1)\n"
        "  - url: data:text/xml,<rss/>\n"
    )
    proc = run_cli("feeds", "check", str(feeds))
    assert proc.returncode == 3
    assert "Traceback" not in proc.stderr
    assert proc.stderr.splitlines() == [
        f"newsradar: error: {feeds}: feeds[1].url: port 99999 is not a TCP port; "
        "use 1-65535 or leave the port out",
        f"newsradar: error: {feeds}: feeds[2].url: port 0 is not a TCP port; "
        "use 1-65535 or leave the port out",
        f"newsradar: error: {feeds}: feeds[3].url: scheme 'javascript' is not allowed; "
        "use http or https",
        f"newsradar: error: {feeds}: feeds[4].url: scheme 'data' is not allowed; use http or https",
    ]
    proc = run_cli("feeds", "parse", "http://127.0.0.1:99999/feed.xml")
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        "newsradar: error: http://127.0.0.1:99999/feed.xml: port 99999 is not a TCP port; "
        "use 1-65535 or leave the port out (bad_url)"
    ]


HOSTILE_FEED = (
    b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
    b"<title>Feed\x1b title\x00</title>"
    b"<item><title>Iraq\x00 and \x1bRussia\x7f meet</title>"
    b"<link>https://e.org/a\x00\x1b?utm_source=x&amp;id=1</link>"
    b"<description>Text\x07 with a bell\x08 and &#xD800; a lone surrogate\x0b</description>"
    b"<author>a\x1b]0;owned\x07uthor</author><category>c\x1bat</category>"
    b"<guid>a1</guid></item>"
    b"<item><title>Click me</title><link>javascript:alert(document.cookie)</link>"
    b"<description>Iraq and Russia talk.</description></item>"
    b"<item><title>Data link</title><link>  data:text/html,&lt;script&gt;x&lt;/script&gt;</link>"
    b"</item>"
    b"</channel></rss>"
)


def _is_clean(text: str) -> bool:
    return not any((unicodedata.category(c) in ("Cc", "Cs") and c not in "\t\n") for c in text)


def _strings(article: Article) -> list[str]:
    return [
        article.url,
        article.title,
        article.summary,
        article.content,
        article.content_html,
        article.feed_name,
        article.language,
        *article.authors,
        *article.categories,
    ]


@pytest.mark.integration
def test_control_characters_and_script_links_are_cleaned_where_articles_are_made(
    tmp_path: Path, server: FeedServer
) -> None:
    server.routes["/hostile.xml"] = Reply(200, HOSTILE_FEED)
    poller = make_poller(tmp_path, [FeedSpec(url=server.url("/hostile.xml"))])
    [outcome] = cycle(poller)
    assert outcome.outcome == "ok"
    articles = [decode(Article, p.record) for p in poller.state.pending()]
    assert len(articles) == 3
    for article in articles:
        assert all(_is_clean(s) for s in _strings(article)), article
        assert article.url == "" or article.url.startswith("https://")
    first, script, data = sorted(articles, key=lambda a: a.title != "Iraq and Russia meet")
    assert first.title == "Iraq and Russia meet"
    assert first.url == "https://e.org/a?id=1"
    assert first.feed_name == "Feed title"
    assert first.authors == ("a]0;owneduthor",)
    assert first.categories == ("cat",)
    assert "bell" in first.summary
    assert (script.title, script.url) == ("Click me", "")
    assert (data.title, data.url) == ("Data link", "")
    # The ids stay stable without a link: the same entry read again is the same article.
    again = parse_feed(
        HOSTILE_FEED, feed_url=server.url("/hostile.xml"), fetched_at=first.fetched_at
    )
    assert {a.id for a in again.articles} == {a.id for a in articles}
    assert len({a.id for a in articles}) == 3


@pytest.mark.integration
def test_feeds_parse_prints_only_clean_text(tmp_path: Path) -> None:
    path = tmp_path / "hostile.xml"
    path.write_bytes(HOSTILE_FEED)
    proc = subprocess_bytes("feeds", "parse", str(path))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.decode("utf-8").splitlines()
    assert len(lines) == 3
    for line in lines:
        article = json.loads(line)
        assert "\\u001b" not in line
        assert "\\u0000" not in line
        assert not article["url"].startswith(("javascript", "data"))


def subprocess_bytes(*args: str) -> subprocess.CompletedProcess[bytes]:
    """``newsradar ARGS`` under the C locale, its output as the bytes it wrote."""
    return subprocess.run(
        [sys.executable, "-m", "newsradar", *args],
        capture_output=True,
        env=clean_env(LC_ALL="C"),
        cwd=REPO,
        timeout=120,
        check=False,
    )
