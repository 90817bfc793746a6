"""`newsradar feeds parse|check|status` as a user runs them."""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path

import pytest
from click.testing import Result

from newsradar.schemas import FeedStatus, encode, feed_key
from newsradar.settings import Settings, load_settings
from producers.feeds import FeedSpec, feed_record
from producers.rss import FeedPoller
from producers.state import ProducerState
from tests.conftest import clean_env, free_ports, run_cli, shared_data_path
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


def status_cli(
    monkeypatch: pytest.MonkeyPatch, tables: dict[str, dict[str, bytes]], *args: str
) -> Result:
    """``newsradar feeds status ARGS`` in this process, Kafka's tables replaced by ``tables``
    (by topic name): the rows and their printing are the real ones."""
    from typer.testing import CliRunner

    import producers.health
    from newsradar.cli import app

    def read_table(settings: Settings, topic: str, **_: object) -> dict[str, bytes]:
        return tables[topic]

    monkeypatch.setattr(producers.health, "read_table", read_table)
    env = {"NEWSRADAR_KAFKA_BOOTSTRAP": "kafka.invalid:9092"}  # external: no local pid check
    return CliRunner().invoke(app, ["feeds", "status", *args], env=env)


def test_feeds_status_shows_health_from_the_feed_state_topic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with feed_server() as server:
        server.routes["/ok"] = Reply(200, rss([{"title": "a", "guid": "1"}]))
        server.routes["/bad"] = Reply(503)
        feeds = [FeedSpec(url=server.url("/ok"), name="Good"), FeedSpec(url=server.url("/bad"))]
        settings = load_settings(None, env={"NEWSRADAR_DATA_DIR": str(tmp_path)})
        state = ProducerState(tmp_path / "state.sqlite")
        poller = FeedPoller(settings, feeds, state, None, rng=random.Random(0))

        async def go() -> list[FeedStatus]:
            await poller.run_cycle()
            await poller.aclose()
            state.mark_published(state.pending())  # as once Kafka acknowledged the articles
            return poller.take_statuses("host-a:42")

        statuses = asyncio.run(go())
        state.close()
    never = FeedSpec(url="https://never.example/rss", name="Never")
    tables = {
        settings.topics.feeds.name: {feed_key(f.url): feed_record(f) for f in [*feeds, never]},
        settings.topics.feed_state.name: {
            **{feed_key(s.url): encode(s) for s in statuses},
            feed_key("https://removed.example/rss"): encode(
                FeedStatus(url="https://removed.example/rss")
            ),
        },
    }
    table = status_cli(monkeypatch, tables)
    assert table.exit_code == 0, table.output
    rows = table.stdout.splitlines()
    assert rows[0].split() == [
        *("HEALTH", "LAST", "OK", "FAILS", "ITEMS", "NEW", "EVERY", "PRODUCER", "FEED")
    ]
    assert rows[1].split()[:5] == ["failing", "-", "1", "0", "0"]
    assert rows[1].split()[-2:] == ["host-a:42", server.url("/bad")]
    assert rows[2].strip() == "http_5xx: HTTP 503"
    assert rows[3].split()[0] == "healthy"
    assert rows[3].split()[1] in {"0s", "1s", "2s", "3s"}  # seconds ago
    assert rows[3].split()[2:5] == ["0", "1", "1"]
    assert rows[3].split()[-2:] == ["host-a:42", "Good"]
    assert rows[4].split() == ["never_polled", "-", "0", "0", "0", "-", "-", "Never"]
    assert len(rows) == 5
    assert table.stderr == (
        "newsradar: note: 1 feed states in newsradar.feed-state belong to feeds no longer in "
        "newsradar.feeds; not shown\n"
    )
    as_json = [json.loads(x) for x in status_cli(monkeypatch, tables, "--json").stdout.splitlines()]
    assert [
        (r["url"], r["health"], r["items_last_poll"], r["consecutive_failures"], r["producer"])
        for r in as_json
    ] == [
        (server.url("/bad"), "failing", 0, 1, "host-a:42"),
        (server.url("/ok"), "healthy", 1, 0, "host-a:42"),
        ("https://never.example/rss", "never_polled", 0, 0, ""),
    ]


def test_feeds_status_without_kafka_is_one_line_naming_the_servers(tmp_path: Path) -> None:
    local = run_cli("feeds", "status", env=clean_env(NEWSRADAR_DATA_DIR=str(tmp_path)))
    assert (local.returncode, local.stdout) == (1, "")
    assert local.stderr == (
        "newsradar: error: feed health not read: Kafka at 127.0.0.1:9092: the local broker of "
        f"{tmp_path} is not running; start it with `newsradar broker start`, or set "
        "kafka.bootstrap to use an external cluster\n"
    )
    (port,) = free_ports(1)  # nothing listens there
    far = run_cli(
        "feeds",
        "status",
        "--json",
        env=clean_env(
            NEWSRADAR_DATA_DIR=str(tmp_path), NEWSRADAR_KAFKA_BOOTSTRAP=f"127.0.0.1:{port}"
        ),
        timeout=60,
    )
    assert (far.returncode, far.stdout) == (1, "")
    assert far.stderr.startswith(
        f"newsradar: error: feed health not read: Kafka at 127.0.0.1:{port} did not answer"
    )
    assert "check kafka.bootstrap" in far.stderr
    assert far.stderr.count("\n") == 1


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
