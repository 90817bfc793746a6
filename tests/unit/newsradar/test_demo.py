"""The demo feeds replay their articles over time: the reference first, a surge last."""

from __future__ import annotations

from collections.abc import Iterator

import feedparser
import httpx
import pytest

from newsradar.demo import DemoFeeds, demo_articles, timeline


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def demo(clock: Clock) -> Iterator[DemoFeeds]:
    feeds = DemoFeeds(minutes=3, clock=clock)
    yield feeds
    feeds.stop()


def ids(feeds: DemoFeeds) -> list[str]:
    found = []
    for feed in feeds.feeds:
        parsed = feedparser.parse(httpx.get(feed["url"]).content)
        found += [e.id for e in parsed.entries]
    return found


def test_every_article_has_a_time_and_the_reference_comes_first() -> None:
    at = timeline()
    assert sorted(at) == sorted(a["id"] for a in demo_articles())
    assert at["elaph-iraq-russia"] == 0


def test_articles_appear_in_their_feeds_over_the_minutes(demo: DemoFeeds, clock: Clock) -> None:
    total = len(demo_articles())
    assert demo.seconds == 180
    first = ids(demo)
    assert "elaph-iraq-russia" in first
    assert len(first) < total / 2
    clock.now += 60
    middle = ids(demo)
    assert set(first) < set(middle)
    assert "s-en-5" not in middle  # the surge is still to come
    clock.now += 120
    assert sorted(ids(demo)) == sorted(a["id"] for a in demo_articles())


def test_the_surge_is_a_burst_of_one_pair(demo: DemoFeeds) -> None:
    at = {a["id"]: t for t, a in demo.schedule}
    burst = [i for i, t in at.items() if demo.seconds - 30 <= t <= demo.seconds]
    assert len(burst) >= 6  # the processors' surge_min_count is 5


def test_zero_minutes_serves_everything_at_once(clock: Clock) -> None:
    feeds = DemoFeeds(minutes=0, clock=clock)
    try:
        assert len(ids(feeds)) == len(demo_articles())
    finally:
        feeds.stop()


def test_pubdates_follow_the_replay(clock: Clock) -> None:
    feeds = DemoFeeds(minutes=6, clock=clock)  # twice the default: times double
    try:
        start = feeds.published["elaph-iraq-russia"]
        assert (feeds.published["s-ar-7"] - start).total_seconds() == 360
    finally:
        feeds.stop()
