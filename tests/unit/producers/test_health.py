"""Feed health rows built from the feeds and feed-state tables, in memory (no Kafka)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsradar.errors import KafkaUnavailableError
from newsradar.schemas import FeedStatus, encode, feed_key
from newsradar.settings import load_settings
from producers.feeds import FeedSpec, feed_record
from producers.health import (
    UNREADABLE_FEED,
    UNREADABLE_STATE,
    health_of_tables,
    read_feed_health,
)

T0 = 1_700_000_000.0


def feeds_table(*specs: FeedSpec) -> dict[str, bytes]:
    return {feed_key(s.url): feed_record(s) for s in specs}


def states_table(*statuses: FeedStatus) -> dict[str, bytes]:
    return {feed_key(s.url): encode(s) for s in statuses}


def test_each_feed_of_the_topic_gets_its_state_and_producer() -> None:
    feeds = feeds_table(
        FeedSpec(url="https://ok.example/rss", name="OK"),
        FeedSpec(url="https://down.example/rss"),
        FeedSpec(url="https://moved.example/rss", name="Moved"),
    )
    states = states_table(
        FeedStatus(
            url="https://ok.example/rss",
            name="stale name from the feed",
            last_success=T0,
            last_attempt=T0 + 1,
            items_last_poll=12,
            new_last_poll=3,
            interval_seconds=300.04,
            next_poll=T0 + 300,
            producer="host-a:11",
        ),
        FeedStatus(
            url="https://down.example/rss",
            name="Down (from state)",
            consecutive_failures=4,
            last_error_class="http_5xx",
            last_error="HTTP 503",
            interval_seconds=1200,
            producer="host-b:22",
        ),
        FeedStatus(
            url="https://moved.example/rss",
            gone=True,
            moved_to="https://new.example/rss",
            last_error_class="gone",
            last_error="HTTP 410",
            producer="host-a:11",
        ),
    )
    health = health_of_tables(feeds, states)
    assert health.removed == 0
    by_url = {r["url"]: r for r in health.rows}
    assert [r["url"] for r in health.rows] == sorted(by_url)
    ok = by_url["https://ok.example/rss"]
    assert ok == {
        "url": "https://ok.example/rss",
        "name": "OK",  # the topic's name wins over the one in the state
        "health": "healthy",
        "producer": "host-a:11",
        "last_success": datetime.fromtimestamp(T0, UTC).isoformat(),
        "last_attempt": datetime.fromtimestamp(T0 + 1, UTC).isoformat(),
        "consecutive_failures": 0,
        "last_error_class": "",
        "last_error": "",
        "items_last_poll": 12,
        "new_last_poll": 3,
        "interval_seconds": 300.0,
        "next_poll": datetime.fromtimestamp(T0 + 300, UTC).isoformat(),
        "moved_to": "",
        "problem": "",
    }
    down = by_url["https://down.example/rss"]
    assert (down["name"], down["health"], down["producer"]) == (
        "Down (from state)",  # no name in the topic: the state's
        "failing",
        "host-b:22",
    )
    assert (down["consecutive_failures"], down["last_error"], down["last_success"]) == (
        4,
        "HTTP 503",
        None,
    )
    moved = by_url["https://moved.example/rss"]
    assert (moved["health"], moved["moved_to"]) == ("gone", "https://new.example/rss")


def test_a_feed_without_state_is_never_polled_and_removed_feeds_are_not_listed() -> None:
    feeds = feeds_table(FeedSpec(url="https://fresh.example/rss", name="Fresh"))
    states = states_table(
        FeedStatus(url="https://removed.example/rss", last_success=T0, producer="h:1"),
        FeedStatus(url="https://removed2.example/rss", producer="h:1"),
    )
    health = health_of_tables(feeds, states)
    assert health.removed == 2
    (row,) = health.rows
    assert (row["url"], row["name"], row["health"], row["producer"]) == (
        "https://fresh.example/rss",
        "Fresh",
        "never_polled",
        "",
    )
    assert (row["last_success"], row["interval_seconds"], row["next_poll"]) == (None, 0.0, None)


def test_keys_match_however_the_url_is_written() -> None:
    feeds = feeds_table(FeedSpec(url="HTTPS://Case.Example:443/rss"))
    states = states_table(FeedStatus(url="https://case.example/rss", last_success=T0))
    (row,) = health_of_tables(feeds, states).rows
    assert (row["url"], row["health"]) == ("HTTPS://Case.Example:443/rss", "healthy")


def test_unreadable_records_become_error_rows_not_crashes() -> None:
    feeds = feeds_table(FeedSpec(url="https://bad-state.example/rss", name="Bad state"))
    feeds["https://not-json.example/rss"] = b"\xff{not json"
    feeds["ftp://e.org/f"] = b'{"url": "ftp://e.org/f"}'  # a FeedSettings, but not pollable
    feeds["https://future.example/rss"] = (
        b'{"url": "https://future.example/rss", "schema_version": 2}'
    )
    states = {
        "https://bad-state.example/rss": b'{"url": "https://bad-state.example/rss", "polls": "x"}',
        "https://future.example/rss": encode(FeedStatus(url="https://future.example/rss")),
    }
    health = health_of_tables(feeds, states)
    by_url = {r["url"]: r for r in health.rows}
    assert len(health.rows) == 4
    assert {r["health"] for r in health.rows} == {"unreadable"}
    bad_state = by_url["https://bad-state.example/rss"]
    assert (bad_state["name"], bad_state["last_error_class"]) == ("Bad state", UNREADABLE_STATE)
    assert bad_state["last_error"].startswith(
        "newsradar.feed-state record https://bad-state.example/rss: feed-state record is invalid:"
    )
    assert "polls" in bad_state["last_error"]
    for url in ("https://not-json.example/rss", "ftp://e.org/f", "https://future.example/rss"):
        assert by_url[url]["last_error_class"] == UNREADABLE_FEED
        assert by_url[url]["last_error"].startswith(f"newsradar.feeds record {url}: ")
    assert "not valid UTF-8 JSON" in by_url["https://not-json.example/rss"]["last_error"]
    assert "scheme 'ftp' is not allowed" in by_url["ftp://e.org/f"]["last_error"]
    assert "schema_version 2" in by_url["https://future.example/rss"]["last_error"]


def test_empty_topics_give_no_rows() -> None:
    health = health_of_tables({}, {})
    assert (health.rows, health.removed) == ([], 0)


def test_an_unreachable_cluster_is_one_error_naming_the_servers(tmp_path: Path) -> None:
    # The local broker of this data directory is not running: said at once, with the fix.
    local = load_settings(None, env={"NEWSRADAR_DATA_DIR": str(tmp_path)})
    with pytest.raises(KafkaUnavailableError) as caught:
        read_feed_health(local)
    message = str(caught.value)
    assert message.startswith("feed health not read: Kafka at 127.0.0.1:")
    assert "newsradar broker start" in message
    assert "\n" not in message
