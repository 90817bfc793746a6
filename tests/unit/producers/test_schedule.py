"""The producers' due-feed schedule (producers.schedule) and the loop that uses it."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

from producers.feeds import FeedSpec
from producers.schedule import DueFeeds
from tests.feedserver import Reply, feed_server, rss
from tests.unit.producers.test_rss import ITEMS, make_poller


def _host(url: str) -> str:
    return url.split("/", maxsplit=1)[0]


def test_only_due_and_current_entries_are_released() -> None:
    due = DueFeeds()
    due.push(5.0, "a/1")
    due.push(1.0, "a/2")
    due.push(2.0, "b/1")
    due.push(9.0, "b/2")
    stale = {("a/2", 1.0)}  # e.g. the feed was polled since, or left this instance
    due.release(5.0, _host, lambda url, at: (url, at) not in stale)
    assert list(due.take(lambda host: 10)) == ["b/1", "a/1"]  # in due order
    assert list(due.take(lambda host: 10)) == []  # taken is no longer queued
    due.release(9.0, _host, lambda url, at: True)
    assert list(due.take(lambda host: 10)) == ["b/2"]


def test_hosts_take_turns_within_their_room() -> None:
    due = DueFeeds()
    for i in range(3):
        due.push(float(i), f"a/{i}")
        due.push(float(i), f"b/{i}")
    due.release(10.0, _host, lambda url, at: True)
    # One poll per host at a time: host a, then b.
    assert list(due.take(lambda host: 1)) == ["a/0", "b/0"]
    # No room for a (its poll is under way): b goes on, a waits its turn.
    assert list(due.take(lambda host: 0 if host == "a" else 1)) == ["b/1"]
    # No room anywhere: nothing is taken, nothing is lost.
    assert list(due.take(lambda host: -1)) == []
    assert sorted(due.take(lambda host: 5)) == ["a/1", "a/2", "b/2"]
    assert len(due) == 0


def test_the_loop_polls_due_feeds_about_once_per_interval_and_others_not(
    tmp_path: Path,
) -> None:
    """run_forever finds due feeds through the schedule: every feed is polled on its first
    turn and then once its interval (1 s here) has passed, no more; a feed due in an hour is
    not polled."""
    with feed_server() as server:
        paths = [f"/f{i}" for i in range(6)]
        for path in [*paths, "/later"]:
            server.routes[path] = Reply(200, rss(ITEMS[:1]))
        feeds = [FeedSpec(url=server.url(p)) for p in [*paths, "/later"]]
        poller = make_poller(
            tmp_path,
            feeds,
            None,
            NEWSRADAR_PRODUCERS__MIN_INTERVAL_SECONDS="1",
            NEWSRADAR_PRODUCERS__DEFAULT_INTERVAL_SECONDS="1",
            NEWSRADAR_PRODUCERS__MAX_INTERVAL_SECONDS="1",
            NEWSRADAR_PRODUCERS__PER_HOST_DELAY_SECONDS="0",
            NEWSRADAR_PRODUCERS__PER_HOST_CONCURRENCY="8",
        )
        poller.states[feeds[-1].url].next_poll = time.time() + 3600

        async def go() -> None:
            stop = asyncio.Event()
            asyncio.get_running_loop().call_later(4.5, stop.set)
            try:
                await poller.run_forever(stop)
            finally:
                await poller.aclose()

        asyncio.run(go())
        polls = Counter(p for p, _, _ in server.requests)
    assert "/later" not in polls
    assert set(polls) == set(paths)
    # First poll within 1 s (spread), then every 0.9-1.1 s: 4 or 5 polls in 4.5 s.
    assert all(3 <= n <= 5 for n in polls.values()), polls
