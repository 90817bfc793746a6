"""The feeds topic's records and the diff that makes it match a feed list."""

from __future__ import annotations

import pytest

from newsradar.schemas import feed_key
from producers.errors import FeedListError
from producers.feeds import (
    FeedSpec,
    diff_feeds,
    feed_from_record,
    feed_record,
    feeds_of_table,
)


def test_a_feed_survives_its_record() -> None:
    spec = FeedSpec(
        url="https://a.example/rss",
        name="A",
        language="ar",
        country="IQ",
        tags=("iraq",),
        poll_interval_seconds=120,
    )
    assert feed_from_record(feed_key(spec.url), feed_record(spec)) == spec


def test_records_that_are_not_feeds_are_named_and_left_out() -> None:
    good = FeedSpec(url="https://a.example/rss")
    table = {
        feed_key(good.url): feed_record(good),
        "https://b.example/": b'{"schema_version": 9, "url": "https://b.example/"}',
        "file:///x": b'{"url": "file:///x"}',
    }
    feeds, problems = feeds_of_table(table)
    assert feeds == {"https://a.example/rss": good}
    assert problems == [
        "newsradar.feeds record file:///x: url: Value error, scheme 'file' is not allowed; "
        "use http or https (got 'file:///x')",
        "newsradar.feeds record https://b.example/: feed record has schema_version 9; this "
        "reader supports 1: upgrade newsradar on this machine",
    ]
    with pytest.raises(FeedListError):
        feed_from_record("k", b"not json")


def test_feed_keys_are_normalised_urls() -> None:
    assert feed_key("HTTPS://Example.COM:443/Feed?a=1#top") == "https://example.com/Feed?a=1"
    assert feed_key("http://example.com") == "http://example.com/"
    assert feed_key("http://example.com:8080/x") == "http://example.com:8080/x"


def test_diff_adds_changes_and_removes_by_key() -> None:
    a = FeedSpec(url="https://a.example/rss", name="A")
    b = FeedSpec(url="https://b.example/rss")
    c = FeedSpec(url="https://c.example/rss")
    current = {feed_key(s.url): s for s in (a, b)}
    a2 = FeedSpec(url="https://A.example/rss", name="A2", tags=("x",))
    diff = diff_feeds(current, [a2, c])
    assert diff.lines() == [
        "+ https://c.example/rss",
        "~ https://A.example/rss (url: 'https://a.example/rss' -> 'https://A.example/rss', "
        "name: 'A' -> 'A2', tags: () -> ('x',))",
        "- https://b.example/rss",
    ]
    assert diff.changes() == {
        "https://c.example/rss": feed_record(c),
        "https://a.example/rss": feed_record(a2),
        "https://b.example/rss": None,
    }
    assert diff_feeds(current, [c], remove=False).removed == ()
    assert diff_feeds(current, [a, b]).lines() == []
