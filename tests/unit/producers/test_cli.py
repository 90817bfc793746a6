"""`newsradar feeds parse|check|status` as a user runs them."""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path

from newsradar.settings import load_settings
from producers.feeds import FeedSpec
from producers.rss import FeedPoller
from producers.state import ProducerState
from tests.conftest import clean_env, run_cli, shared_data_path
from tests.feedserver import Reply, feed_server, rss


def test_feeds_parse_prints_articles_and_names_each_bad_feed(tmp_path: Path) -> None:
    urdu = shared_data_path("feeds", "miniflux", "urdu_UTF8.xml")
    html = tmp_path / "page.html"
    html.write_text("<html><body>not a feed</body></html>")
    with feed_server() as server:
        server.routes["/feed"] = Reply(
            200,
            rss(
                [
                    {
                        "title": "Iraq and Russia",
                        "guid": "1",
                        "link": "https://e.org/1?utm_campaign=x",
                    }
                ]
            ),
            {"Content-Type": "application/rss+xml"},
        )
        proc = run_cli(
            "feeds",
            "parse",
            str(urdu),
            server.url("/feed"),
            str(html),
            "file:///etc/passwd",
            server.url("/missing"),
        )
    assert proc.returncode == 1
    lines = [json.loads(x) for x in proc.stdout.splitlines()]
    assert len(lines) == 27
    for line in lines:
        assert {"id", "feed", "url", "title", "summary", "content", "published", "language"} <= set(
            line
        )
    assert lines[0]["feed"] == str(urdu)
    assert lines[-1]["url"] == "https://e.org/1"
    assert lines[-1]["feed"].endswith("/feed")
    errors = proc.stderr.strip().splitlines()
    assert len(errors) == 3
    assert errors[0].startswith(f"newsradar: error: {html}: not an RSS/Atom/RDF feed (")
    assert errors[0].endswith("(not_a_feed)")
    assert errors[1:] == [
        "newsradar: error: file:///etc/passwd: scheme 'file' is not allowed; use http or https "
        "(bad_scheme)",
        f"newsradar: error: {server.url('/missing')}: HTTP 404 (http_4xx)",
    ]


def test_feeds_check_names_each_bad_entry(tmp_path: Path) -> None:
    bad = tmp_path / "feeds.yaml"
    bad.write_text(
        "feeds:\n  - url: ftp://e.org/f\n  - {url: 'https://e.org/a', lang: ar}\n"
        "  - {url: 'https://e.org/a'}\n"
    )
    proc = run_cli("feeds", "check", str(bad))
    assert proc.returncode == 3
    assert proc.stderr.splitlines() == [
        f"newsradar: error: {bad}: feeds[0].url: scheme 'ftp' is not allowed; use http or https",
        f"newsradar: error: {bad}: feeds[1].lang: Extra inputs are not permitted",
        f"newsradar: error: {bad}: feeds[2].url: duplicate of feeds[1]",
    ]
    assert run_cli("feeds", "check").stdout.endswith("OK (18 feeds)\n")


def test_feeds_status_shows_health_from_the_state(tmp_path: Path) -> None:
    with feed_server() as server:
        server.routes["/ok"] = Reply(200, rss([{"title": "a", "guid": "1"}]))
        server.routes["/bad"] = Reply(503)
        feeds = [FeedSpec(url=server.url("/ok"), name="Good"), FeedSpec(url=server.url("/bad"))]
        (tmp_path / "feeds.yaml").write_text(
            json.dumps({"feeds": [f.model_dump(exclude_none=True) for f in feeds]})
        )
        env = {
            "NEWSRADAR_DATA_DIR": str(tmp_path),
            "NEWSRADAR_PRODUCERS__FEEDS_FILE": str(tmp_path / "feeds.yaml"),
        }
        settings = load_settings(None, env=env)
        state = ProducerState(tmp_path / "producers" / "state.sqlite")
        poller = FeedPoller(settings, feeds, state, None, rng=random.Random(0))

        async def go() -> None:
            await poller.run_cycle()
            await poller.aclose()

        asyncio.run(go())
        state.close()
    table = run_cli("feeds", "status", env=clean_env(**env))
    assert table.returncode == 0, table.stderr
    rows = table.stdout.splitlines()
    assert rows[0].split() == ["HEALTH", "LAST", "OK", "FAILS", "ITEMS", "NEW", "EVERY", "FEED"]
    assert rows[1].split()[0] == "failing"
    assert rows[1].endswith(server.url("/bad"))
    assert rows[2].strip() == "http_5xx: HTTP 503"
    assert rows[3].split()[0] == "healthy"
    assert rows[3].endswith("Good")
    as_json = [
        json.loads(x)
        for x in run_cli("feeds", "status", "--json", env=clean_env(**env)).stdout.splitlines()
    ]
    assert [(r["health"], r["items_last_poll"], r["consecutive_failures"]) for r in as_json] == [
        ("failing", 0, 1),
        ("healthy", 1, 0),
    ]


def test_feeds_add_import_and_sync_refuse_bad_input_in_one_line(tmp_path: Path) -> None:
    """Checked before Kafka is asked: no broker runs here, and none is needed to say no."""
    proc = run_cli("feeds", "add", "ftp://e.org/f")
    assert (proc.returncode, proc.stderr) == (
        3,
        "newsradar: error: ftp://e.org/f: scheme 'ftp' is not allowed; use http or https\n",
    )
    proc = run_cli("feeds", "add", "https://e.org/f", "--language", "Arabic")
    assert proc.returncode == 3
    assert proc.stderr.startswith("newsradar: error: --language: String should match pattern")
    assert len(proc.stderr.splitlines()) == 1
    proc = run_cli("feeds", "import", str(tmp_path / "missing.opml"))
    assert (proc.returncode, proc.stderr) == (
        3,
        f"newsradar: error: {tmp_path / 'missing.opml'}: cannot read OPML file: "
        "No such file or directory\n",
    )
    html = tmp_path / "page.opml"
    html.write_text("<html></html>")
    proc = run_cli("feeds", "import", str(html))
    assert (proc.returncode, proc.stderr) == (
        3,
        f"newsradar: error: {html}: not an OPML document (no <opml> root element)\n",
    )
    bad = tmp_path / "feeds.yaml"
    bad.write_text("feeds:\n  - url: ftp://e.org/f\n")
    proc = run_cli("feeds", "sync", str(bad), "--dry-run")
    assert (proc.returncode, proc.stderr) == (
        3,
        f"newsradar: error: {bad}: feeds[0].url: scheme 'ftp' is not allowed; use http or https\n",
    )
