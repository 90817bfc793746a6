"""Producers as a consumer group on ``newsradar.feeds``, on the real broker: a feed added with
`feeds add` is polled without a restart, and two producers share the feeds; when one is killed
the other takes its feeds over with their state, and no article is published twice."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from newsradar.compacted import read_table
from newsradar.errors import KafkaUnavailableError
from newsradar.schemas import Alert, Article, FeedStatus, decode
from newsradar.settings import load_settings
from tests.conftest import run_cli
from tests.feedserver import FeedServer, Reply, feed_server, rss
from tests.integration.conftest import KafkaEnv, Worker, decoded, reference_feed_items, service


def _env(kafka: KafkaEnv, tmp_path: Path, feeds: list[str], **extra: str) -> dict[str, str]:
    run = f"{time.time_ns()}"
    seed = tmp_path / "feeds.yaml"
    seed.write_text(json.dumps({"feeds": [{"url": url} for url in feeds]}))
    return {
        "NEWSRADAR_KAFKA_BOOTSTRAP": kafka.bootstrap,
        "NEWSRADAR_TOPICS__FEEDS__NAME": f"newsradar.feeds-{run}",
        "NEWSRADAR_TOPICS__FEED_STATE__NAME": f"newsradar.feed-state-{run}",
        "NEWSRADAR_PRODUCERS__GROUP_ID": f"newsradar-producers-{run}",
        "NEWSRADAR_PRODUCERS__FEEDS_FILE": str(seed),
        "NEWSRADAR_PRODUCERS__METRICS_PORT": "0",
        "NEWSRADAR_PRODUCERS__MIN_INTERVAL_SECONDS": "1",
        "NEWSRADAR_PRODUCERS__DEFAULT_INTERVAL_SECONDS": "1",
        "NEWSRADAR_PRODUCERS__PER_HOST_DELAY_SECONDS": "0",
        **extra,
    }


def _wait(what: str, done: Callable[[], bool], timeout_seconds: float = 60) -> None:
    deadline = time.monotonic() + timeout_seconds
    while not done():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


def test_a_feed_added_with_feeds_add_is_polled_and_alerts_without_a_restart(
    kafka: KafkaEnv, processors_worker: Worker, tmp_path: Path
) -> None:
    run = time.time_ns()
    title, items = reference_feed_items(run)
    with feed_server() as server:
        server.routes["/quiet.xml"] = Reply(200, rss([], title="Quiet"))
        server.routes["/elaph.xml"] = Reply(200, rss(items, title="Elaph"))
        env = _env(kafka, tmp_path, [server.url("/quiet.xml")])
        env["NEWSRADAR_DATA_DIR"] = str(tmp_path / "data")
        with service(kafka, ["producers", "run"], tmp_path / "producers.log", **env) as producers:
            _wait("the seeded feed polled", lambda: bool(server.hits("/quiet.xml")))
            assert server.hits("/elaph.xml") == []
            added = run_cli(
                "feeds", "add", server.url("/elaph.xml"), "--language", "ar",
                env=kafka.process_env(**env),
            )  # fmt: skip
            assert (added.returncode, added.stdout) == (0, f"+ {server.url('/elaph.xml')}\n")
            alerts = kafka.consume(
                kafka.settings.topics.alerts.name,
                lambda m: a if (a := decoded(Alert, m)) and str(run) in a.article_url else None,
                worker=producers,
            )
            assert producers.poll() is None  # the same process, never restarted
    assert [a.rule_id for a in alerts] == ["iraq-russia"]
    assert alerts[0].article_title == title[:120].strip()


def _etag_feed(server: FeedServer, path: str, run: int) -> None:
    items = [
        {"title": f"{path} item {i}", "link": f"https://news.example/{run}{path}/{i}"}
        for i in range(2)
    ]
    body = rss(items, title=path)
    etag = f'"{run}{path}"'

    def reply(headers: dict[str, str]) -> Reply:
        if headers.get("if-none-match") == etag:
            return Reply(304, b"")
        return Reply(200, body, headers={"ETag": etag, "Content-Type": "application/rss+xml"})

    server.routes[path] = reply


def test_two_producers_share_the_feeds_and_one_takes_over_when_the_other_dies(
    kafka: KafkaEnv, tmp_path: Path
) -> None:
    run = time.time_ns()
    paths = [f"/f{i}.xml" for i in range(8)]
    with feed_server() as server:
        for path in paths:
            _etag_feed(server, path, run)
        urls = [server.url(p) for p in paths]
        env = _env(
            kafka,
            tmp_path,
            urls,
            NEWSRADAR_TOPICS__FEEDS__PARTITIONS="4",
            NEWSRADAR_TOPICS__FEED_STATE__PARTITIONS="4",
        )
        settings = load_settings(None, env=kafka.process_env(**env))

        def statuses() -> dict[str, FeedStatus]:
            try:
                table = read_table(settings, settings.topics.feed_state.name)
            except KafkaUnavailableError:  # the producers have not created it yet
                return {}
            return {s.url: s for s in (decode(FeedStatus, v) for v in table.values())}

        with (
            service(
                kafka, ["producers", "run"], tmp_path / "a.log",
                **env, NEWSRADAR_DATA_DIR=str(tmp_path / "a"),
            ) as a,
            service(
                kafka, ["producers", "run"], tmp_path / "b.log",
                **env, NEWSRADAR_DATA_DIR=str(tmp_path / "b"),
            ) as b,
        ):  # fmt: skip
            owners = {a.pid: "a", b.pid: "b"}

            def owner_of() -> dict[str, str]:
                return {
                    url: owners.get(int(s.producer.rpartition(":")[2]), "?")
                    for url, s in statuses().items()
                }

            # Shared: every feed polled and its state written, by both instances between them.
            _wait(
                "both instances polling their share",
                lambda: len(owner_of()) == 8 and set(owner_of().values()) == {"a", "b"},
                timeout_seconds=120,
            )
            share_a = sorted(url for url, who in owner_of().items() if who == "a")
            assert 0 < len(share_a) < 8
            etags = {url: statuses()[url].etag for url in share_a}
            a.kill()  # no goodbye: its feeds move when its session times out
            a.wait()
            hits_before = {url: len(server.hits("/" + url.rpartition("/")[2])) for url in share_a}
            _wait(
                "b polling the feeds a held",
                lambda: all(owner_of()[url] == "b" for url in share_a),
                timeout_seconds=90,
            )
            time.sleep(2)
            assert b.poll() is None
        # b read a's feeds with a's validators: its conditional requests sent a's ETag (every
        # 12th poll goes without validators, and the poll count travels with the feed too; such
        # a poll reads the whole body, and the dedup memory keeps its items from going out again).
        for url in share_a:
            path = "/" + url.rpartition("/")[2]
            after_kill = server.hits(path)[hits_before[url] :]
            assert after_kill, f"{url} not polled after the kill"
            sent = [h.get("if-none-match") for h in after_kill]
            assert set(sent) <= {etags[url], None}
            assert etags[url] in sent

    def ours(message: Any) -> Article | None:
        article = decoded(Article, message)
        return article if article and str(run) in article.url else None

    published = kafka.read_to_end(kafka.settings.topics.articles.name, ours)
    counts = Counter(a.url for a in published)
    assert len(counts) == 16  # 8 feeds x 2 items ...
    assert set(counts.values()) == {1}  # ... each published once, though its feed moved
