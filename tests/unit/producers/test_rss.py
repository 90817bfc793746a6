"""The poller against a real local HTTP server, with SQLite state in tmp_path.

Kafka is replaced here by a recording publisher that can be told to fail, to check what the
poller does with acknowledgements; the real broker path is in tests/integration/producers.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from prometheus_client import REGISTRY

from newsradar.schemas import Article, FeedStatus, decode
from newsradar.settings import load_settings
from producers.feeds import FeedSpec
from producers.group import INSTANCE, GroupMember
from producers.normalize import parse_feed
from producers.rss import FeedPoller, PollOutcome, backoff_seconds, next_interval
from producers.state import FeedState, Pending, ProducerState
from tests.conftest import shared_data_path
from tests.feedserver import FeedServer, Reply, feed_server, rss


class RecordingPublisher:
    topic = "newsradar.articles"

    def __init__(self) -> None:
        self.sent: list[Pending] = []
        self.down = False

    def publish(self, items: Sequence[Pending]) -> tuple[list[Pending], str]:
        if self.down:
            return [], "KafkaTimeoutError: broker unreachable"
        self.sent.extend(items)
        return list(items), ""


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with feed_server() as s:
        yield s


def make_poller(
    tmp_path: Path, feeds: list[FeedSpec], publisher: RecordingPublisher | None, **env: str
) -> FeedPoller:
    settings = load_settings(
        None,
        env={
            "NEWSRADAR_DATA_DIR": str(tmp_path),
            "NEWSRADAR_PRODUCERS__PER_HOST_DELAY_SECONDS": "0",
            **env,
        },
    )
    state = ProducerState(tmp_path / "state.sqlite")
    return FeedPoller(settings, feeds, state, publisher, rng=random.Random(1))


def cycle(poller: FeedPoller, feeds: list[FeedSpec] | None = None) -> list[PollOutcome]:
    async def go() -> list[PollOutcome]:
        try:
            return await poller.run_cycle(feeds)
        finally:
            await poller.aclose()

    return asyncio.run(go())


ITEMS = [
    {"title": "Iraq and Russia talk trade", "guid": "g1", "link": "https://e.org/1"},
    {"title": "Baghdad weather", "guid": "g2", "link": "https://e.org/2"},
]


def test_new_items_are_published_once_across_polls_and_feeds(
    tmp_path: Path, server: FeedServer
) -> None:
    server.routes["/a"] = Reply(200, rss(ITEMS), {"ETag": '"1"'})
    server.routes["/b"] = Reply(200, rss(ITEMS[:1], title="mirror"))
    feeds = [FeedSpec(url=server.url("/a"), language="en"), FeedSpec(url=server.url("/b"))]
    publisher = RecordingPublisher()
    poller = make_poller(tmp_path, feeds, publisher)
    first = cycle(poller)
    # Both feeds carry story g1; whichever is read first publishes it, the other skips it.
    assert [(o.outcome, o.items) for o in first] == [("ok", 2), ("ok", 1)]
    assert sum(o.new for o in first) == 2
    assert sorted(decode(Article, p.record).title for p in publisher.sent) == [
        "Baghdad weather",
        "Iraq and Russia talk trade",
    ]
    # Same body again: recognised by its hash without parsing; the ETag goes back as a validator.
    second = cycle(poller)
    assert [o.outcome for o in second] == ["unchanged", "unchanged"]
    assert server.hits("/a")[-1]["if-none-match"] == '"1"'
    assert len(publisher.sent) == 2
    # A changed article (same guid, new title) is published again under the same id.
    server.routes["/a"] = Reply(
        200,
        rss([{**ITEMS[0], "title": "Iraq and Russia sign trade deal"}, ITEMS[1]]),
        {"ETag": '"2"'},
    )
    third = cycle(poller, feeds[:1])
    assert (third[0].items, third[0].new) == (2, 1)
    assert decode(Article, publisher.sent[-1].record).title == "Iraq and Russia sign trade deal"
    original = next(p for p in publisher.sent if b"talk trade" in p.record)
    assert publisher.sent[-1].id == original.id


def test_not_modified_and_unreliable_validators(tmp_path: Path, server: FeedServer) -> None:
    bodies = iter([rss(ITEMS[:1]), rss(ITEMS)])

    def route(headers: dict[str, str]) -> Reply:
        if headers.get("if-none-match") == '"same"' and route.calls == 1:  # type: ignore[attr-defined]
            route.calls += 1  # type: ignore[attr-defined]
            return Reply(304)
        route.calls += 1  # type: ignore[attr-defined]
        return Reply(200, next(bodies), {"ETag": '"same"'})

    route.calls = 0  # type: ignore[attr-defined]
    server.routes["/f"] = route
    feed = FeedSpec(url=server.url("/f"))
    poller = make_poller(tmp_path, [feed], RecordingPublisher())
    assert cycle(poller)[0].outcome == "ok"
    assert cycle(poller)[0].outcome == "not_modified"
    # The body changes while the ETag stays "same": validators no longer trusted.
    assert cycle(poller)[0].new == 1
    assert poller.states[feed.url].validators_unreliable
    cycle(poller)
    assert "if-none-match" not in server.hits("/f")[-1]


def test_broker_outage_keeps_articles_pending_until_acknowledged(
    tmp_path: Path, server: FeedServer
) -> None:
    server.routes["/f"] = Reply(200, rss(ITEMS))
    publisher = RecordingPublisher()
    publisher.down = True
    poller = make_poller(tmp_path, [FeedSpec(url=server.url("/f"))], publisher)
    cycle(poller)
    assert publisher.sent == []
    assert poller.state.pending_count() == 2
    assert poller.state.seen_count() == 0
    # A restart in between loses nothing: pending lives in SQLite.
    poller.state.close()
    reopened = ProducerState(tmp_path / "state.sqlite")
    assert reopened.pending_count() == 2
    publisher.down = False
    poller = FeedPoller(poller.settings, poller.feeds, reopened, publisher)
    cycle(poller)  # the feed is unchanged by hash, but pending goes out
    assert len(publisher.sent) == 2
    assert (reopened.pending_count(), reopened.seen_count()) == (0, 2)


def test_failures_back_off_recover_and_gone_stops(tmp_path: Path, server: FeedServer) -> None:
    server.routes["/bad"] = Reply(500)
    server.routes["/gone"] = Reply(410)
    server.routes["/old"] = Reply(301, headers={"Location": "/new"})
    server.routes["/new"] = Reply(200, rss(ITEMS[:1]))
    server.routes["/html"] = Reply(200, b"<html><body><p>Welcome</p></body></html>")
    server.routes["/huge"] = Reply(200, b"<rss>" + b" " * 20_000_000)
    feeds = [FeedSpec(url=server.url(p)) for p in ("/bad", "/gone", "/old", "/html", "/huge")]
    poller = make_poller(tmp_path, feeds, None)
    outcomes = cycle(poller)
    assert [o.outcome for o in outcomes] == ["http_5xx", "gone", "ok", "not_a_feed", "too_large"]
    assert [poller.states[f.url].health for f in feeds[3:]] == ["failing", "failing"]
    bad = poller.states[feeds[0].url]
    assert (bad.health, bad.consecutive_failures, bad.last_error) == ("failing", 1, "HTTP 500")
    assert bad.next_poll - (bad.last_attempt or 0) >= 300 * 0.8
    assert poller.states[feeds[2].url].moved_to == server.url("/new")
    assert cycle(poller)[1].outcome == "skipped_gone"
    assert poller.states[feeds[0].url].consecutive_failures == 2
    server.routes["/bad"] = Reply(200, rss(ITEMS[1:]))
    assert cycle(poller)[0].outcome == "ok"
    assert poller.states[feeds[0].url].health == "healthy"
    # What a restarted producer reads back is what the poller saved.
    saved = {f.url: poller.state.feed(f.url).health for f in feeds}
    assert saved == {
        feeds[0].url: "healthy",
        feeds[1].url: "gone",
        feeds[2].url: "healthy",
        feeds[3].url: "failing",
        feeds[4].url: "failing",
    }


def test_per_host_delay(tmp_path: Path, server: FeedServer) -> None:
    for path in ("/1", "/2", "/3"):
        server.routes[path] = Reply(200, rss(ITEMS[:1]))
    server.routes["/warm"] = Reply(200, rss(ITEMS[:1]))
    feeds = [FeedSpec(url=server.url(p)) for p in ("/1", "/2", "/3")]
    # One poll of the same host first warms the HTTP client, its connection to the host and the
    # parser up, so the timings below measure spacing, not first-use costs (a new connection
    # delays the first request's arrival alone, which on a busy machine ate the tolerance).
    warm = FeedSpec(url=server.url("/warm"))
    poller = make_poller(
        tmp_path, [warm, *feeds], None, NEWSRADAR_PRODUCERS__PER_HOST_DELAY_SECONDS="0.3"
    )

    async def go() -> None:
        try:
            await poller.run_cycle([warm])
            await poller.run_cycle(feeds)
        finally:
            await poller.aclose()

    asyncio.run(go())
    times = sorted(t for path, _, t in server.requests if path != "/warm")
    assert len(times) == 3
    # 0.3 s apart as sent; the server notes arrivals from its own thread, which a busy shared
    # machine can hold up by tens of milliseconds (without the delay they come 10–20 ms apart).
    assert all(b - a >= 0.25 for a, b in itertools.pairwise(times))


def test_intervals_adapt_within_bounds() -> None:
    conf = load_settings(None, env={}).producers
    spec = FeedSpec(url="http://e.org/f")
    feed = FeedState(spec.url, interval_seconds=300)
    assert next_interval(conf, feed, spec, changed=True, hint_seconds=None) == 225
    assert next_interval(conf, feed, spec, changed=False, hint_seconds=None) == 375
    assert next_interval(conf, feed, spec, changed=True, hint_seconds=1800) == 1800
    assert next_interval(conf, feed, spec, changed=False, hint_seconds=86400) == 3600
    feed.interval_seconds = 61
    assert next_interval(conf, feed, spec, changed=True, hint_seconds=None) == 60
    assert backoff_seconds(conf, 3, spec, None) == 900
    assert backoff_seconds(conf, 1000, spec, None) == conf.max_backoff_seconds
    assert backoff_seconds(conf, 1, spec, 7200) == 7200


def test_real_corpora_served_over_http(tmp_path: Path, server: FeedServer) -> None:
    root = shared_data_path("feeds")
    files = sorted((root / "miniflux").glob("*.xml")) + sorted(
        (root / "feedparser" / "encoding").glob("*.xml")
    )
    feeds = []
    for i, path in enumerate(files):
        server.routes[f"/{i}"] = Reply(200, path.read_bytes(), {"Content-Type": "application/xml"})
        feeds.append(FeedSpec(url=server.url(f"/{i}")))
    publisher = RecordingPublisher()
    poller = make_poller(tmp_path, feeds, publisher, NEWSRADAR_PRODUCERS__MAX_CONCURRENCY="8")
    before = REGISTRY.get_sample_value("newsradar_feed_fetches_total", {"outcome": "ok"}) or 0.0
    outcomes = cycle(poller)
    counts = Counter(o.outcome for o in outcomes)
    assert set(counts) <= {"ok", "not_a_feed"}
    assert counts["ok"] >= len(files) * 0.9
    assert len(publisher.sent) > 150
    urdu = next(o for o, p in zip(outcomes, files, strict=True) if p.name == "urdu_UTF8.xml")
    assert (urdu.items, urdu.new) == (26, 26)
    after = REGISTRY.get_sample_value("newsradar_feed_fetches_total", {"outcome": "ok"})
    assert after == before + counts["ok"]
    assert REGISTRY.get_sample_value("newsradar_feeds", {"state": "healthy"}) == counts["ok"]


def test_dedup_memory_is_bounded(tmp_path: Path) -> None:
    state = ProducerState(tmp_path / "s.sqlite", max_seen=3)
    for i in range(5):
        state.mark_published([Pending(f"id{i}", "h", "", b"{}")])
    assert state.seen_count() == 3
    assert state.classify_new([("id4", "h", ""), ("id0", "h", "")]) == [1]  # oldest forgotten


def test_feeds_without_success_for_long_count_as_stale(tmp_path: Path, server: FeedServer) -> None:
    server.routes["/ok"] = Reply(200, rss(ITEMS))
    server.routes["/down"] = Reply(503)
    feeds = [FeedSpec(url=server.url("/ok")), FeedSpec(url=server.url("/down"))]
    now = [1_000_000.0]
    settings = load_settings(
        None,
        env={
            "NEWSRADAR_DATA_DIR": str(tmp_path),
            "NEWSRADAR_PRODUCERS__PER_HOST_DELAY_SECONDS": "0",
            "NEWSRADAR_PRODUCERS__STALE_AFTER_SECONDS": "3600",
        },
    )
    poller = FeedPoller(
        settings,
        feeds,
        ProducerState(tmp_path / "state.sqlite"),
        RecordingPublisher(),
        rng=random.Random(1),
        clock=lambda: now[0],
    )
    cycle(poller)
    poller.count_health()
    assert REGISTRY.get_sample_value("newsradar_feeds_stale") == 0  # the failing one is new
    now[0] += 3601
    poller.count_health()
    assert REGISTRY.get_sample_value("newsradar_feeds_stale") == 2  # neither fetched since
    cycle(poller, [feeds[0]])
    poller.count_health()
    assert REGISTRY.get_sample_value("newsradar_feeds_stale") == 1
    assert REGISTRY.get_sample_value("newsradar_feeds", {"state": "failing"}) == 1


@pytest.mark.parametrize("adopted", [True, False])
def test_a_feed_taken_over_with_its_status_publishes_none_of_its_articles_again(
    tmp_path: Path, server: FeedServer, adopted: bool
) -> None:
    """Producer A polls a feed and hands out its status; producer B (its own store) takes the
    feed over. The feed then gains an item and drops its validators' help: B publishes the new
    item only, because the status carried A's published items (without it: all of them)."""
    server.routes["/f.xml"] = Reply(200, rss(ITEMS[:2]))
    spec = FeedSpec(url=server.url("/f.xml"))
    sent_a, sent_b = RecordingPublisher(), RecordingPublisher()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = make_poller(tmp_path / "a", [spec], sent_a)
    cycle(a)
    (status,) = a.take_statuses("a:1")
    assert a.take_statuses("a:1") == []  # handed out once, until polled again
    assert (status.producer, len(status.seen), status.items_last_poll) == ("a:1", 2, 2)
    assert {i.id for i in status.seen} == {p.id for p in sent_a.sent}

    b = make_poller(tmp_path / "b", [], sent_b)
    if adopted:
        b.adopt(status)
    b.set_feeds([spec])
    assert (b.states[spec.url].body_hash == status.body_hash) is adopted
    server.routes["/f.xml"] = Reply(
        200, rss([*ITEMS[:2], {"title": "New", "guid": "g9", "link": "https://e.org/9"}])
    )
    (outcome,) = cycle(b)
    assert outcome.items == 3
    assert [p.url for p in sent_b.sent] == (
        ["https://e.org/9"]
        if adopted
        else ["https://e.org/1", "https://e.org/2", "https://e.org/9"]
    )


class RecordingStateLog:
    topic = "newsradar.feed-state"

    def __init__(self) -> None:
        self.written: list[FeedStatus] = []

    def write(self, statuses: Sequence[FeedStatus], *, timeout_seconds: float = 10.0) -> str:
        self.written.extend(statuses)
        return ""


def test_feeds_given_up_in_a_rebalance_hand_their_state_over_even_with_items_pending(
    tmp_path: Path, server: FeedServer
) -> None:
    """A rebalance takes a feed from producer A while its articles still wait for Kafka: A
    writes the feed's state as it gives the feed up (before the next owner is assigned it),
    pending items included, since A still publishes them; B, adopting it, publishes none."""
    server.routes["/f.xml"] = Reply(200, rss(ITEMS[:2]))
    spec = FeedSpec(url=server.url("/f.xml"))
    sent_a, sent_b = RecordingPublisher(), RecordingPublisher()
    sent_a.down = True
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = make_poller(tmp_path / "a", [spec], sent_a)
    cycle(a)
    assert a.take_statuses("a:1") == []  # its items are pending: no status written yet
    log = RecordingStateLog()
    assignment = SimpleNamespace(before_revoke=None)
    member = GroupMember(a, assignment, log)  # type: ignore[arg-type]
    assignment.before_revoke({spec.url}, False)  # what FeedAssignment does inside the rebalance
    (status,) = log.written
    assert (status.url, status.producer, len(status.seen)) == (spec.url, INSTANCE, 2)
    member.before_revoke({spec.url}, False)
    assert len(log.written) == 1  # handed over once, until polled again
    server.routes["/f.xml"] = Reply(
        200, rss([*ITEMS[:2], {"title": "New", "guid": "g9", "link": "https://e.org/9"}])
    )
    # No new request for a feed being handed over ...
    (withdrawn,) = cycle(a, [spec])
    assert withdrawn.outcome == "withdrawn"
    # ... and a poll that was under way finds a new item: its result is dropped here (the
    # next owner, not told of it, finds it new and publishes it once).
    a.withdrawn.clear()
    (late,) = cycle(a, [spec])
    assert (late.outcome, a.state.pending_count()) == ("given_up", 2)

    b = make_poller(tmp_path / "b", [], sent_b)
    b.adopt(status)
    b.set_feeds([spec])
    cycle(b)
    assert [p.url for p in sent_b.sent] == ["https://e.org/9"]  # A's items not again


def test_a_status_older_than_the_feeds_last_poll_is_not_adopted(
    tmp_path: Path, server: FeedServer
) -> None:
    """A rebalance can hand a partition back to the instance that held it, with statuses
    written before its latest polls: adopting one would make the feed due again at once."""
    server.routes["/f.xml"] = Reply(200, rss(ITEMS[:2]))
    spec = FeedSpec(url=server.url("/f.xml"))
    poller = make_poller(tmp_path, [spec], RecordingPublisher())
    cycle(poller)
    (old,) = poller.take_statuses("a:1")
    cycle(poller)
    held = poller.states[spec.url]
    assert held.polls == 2
    poller.adopt(old)
    assert poller.states[spec.url] is held
    assert poller.state.feed(spec.url).polls == 2
    newer = old.model_copy(update={"last_attempt": (held.last_attempt or 0) + 60, "polls": 7})
    poller.adopt(newer)
    assert poller.states[spec.url].polls == 7


def test_a_host_waiting_out_its_delay_holds_no_fetch_slot(
    tmp_path: Path, server: FeedServer
) -> None:
    """With one fetch slot, feeds of a host listed first must not keep another host's feed
    waiting through their host's delays (the slot is taken after the host's turn)."""
    paths = ["/a1", "/a2", "/a3", "/b"]
    for path in paths:
        server.routes[path] = Reply(200, rss(ITEMS[:1]))
    first_host = [FeedSpec(url=server.url(p)) for p in paths[:3]]
    # The same server under a second host name: politeness is per host name.
    other = FeedSpec(url=server.url("/b").replace("127.0.0.1", "localhost"))
    poller = make_poller(
        tmp_path,
        [*first_host, other],
        None,
        NEWSRADAR_PRODUCERS__MAX_CONCURRENCY="1",
        NEWSRADAR_PRODUCERS__PER_HOST_DELAY_SECONDS="0.5",
    )
    # What a first poll does once per process or client (load the parser's and the language
    # detector's data, make an HTTP client) is done before: run alone, this test measured it.
    parse_feed(rss(ITEMS[:1]), feed_url=first_host[0].url, fetched_at=datetime.now(UTC))
    for host in ("127.0.0.1", "localhost"):
        poller.client(host)
    cycle(poller)
    at = {path: t for path, _, t in server.requests}
    assert set(at) == set(paths)
    # Without the fix /b waited for /a2 and /a3 (about 1 s); now only for /a1's fetch.
    assert at["/b"] - at["/a1"] < 0.4
    assert at["/a3"] - at["/a1"] >= 0.9


def test_the_canonical_url_lookup_uses_its_index(tmp_path: Path) -> None:
    """classify_new looks a new article's URL up in `seen` once per article: by the partial
    index, not by a scan of up to dedup_max_entries rows."""
    state = ProducerState(tmp_path / "state.sqlite")
    plans = []
    trace = state._db.set_trace_callback  # type: ignore[attr-defined]
    statements: list[str] = []
    trace(statements.append)
    state.classify_new([("id-1", "h", "https://e.org/1")])
    trace(None)
    for sql in statements:
        if "FROM seen WHERE url" in sql:
            plans += state._db.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall()
    assert plans
    assert all("USING INDEX seen_by_url" in row[3] for row in plans)
