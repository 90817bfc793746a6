"""GroupMember without a broker: the assignment and the feed-state log are stand-ins."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from newsradar.schemas import FeedStatus, decode, encode
from producers.feeds import FeedSpec
from producers.group import GroupMember
from producers.state import FeedState
from tests.feedserver import FeedServer, Reply, feed_server, rss
from tests.unit.producers.test_rss import ITEMS, RecordingPublisher, make_poller


class Assignment:
    topic = "newsradar.feeds"
    assigned: set[int] = frozenset()  # type: ignore[assignment]
    feeds: dict[str, FeedSpec] = {}  # noqa: RUF012
    newly_assigned: set[int] = set()  # noqa: RUF012
    before_revoke: Any = None

    def poll(self, timeout_ms: int = 0) -> bool:
        return False

    def take_newly_assigned(self) -> set[int]:
        return set()


class StateLog:
    topic = "newsradar.feed-state"

    def __init__(self) -> None:
        self.written: list[FeedStatus] = []

    def write(self, statuses: Iterable[FeedStatus], **kwargs: Any) -> str:
        self.written.extend(statuses)
        return ""


def test_statuses_are_written_before_partitions_move(tmp_path: Path) -> None:
    """When partitions are revoked (kafka-python calls the listener on its I/O thread), the
    member lets requests under way finish (2 s at most) and writes the statuses of the feeds
    it polled, before the partitions move on: the next owner then reads statuses that say
    those feeds were polled. No new request goes out for them; at the next tick they are
    dropped."""
    server: FeedServer
    with feed_server() as server:
        server.routes["/done.xml"] = Reply(200, rss(ITEMS[:1]))
        server.routes["/slow.xml"] = Reply(200, rss([]), delay_seconds=1)
        server.routes["/stuck.xml"] = Reply(200, rss(ITEMS[1:]), delay_seconds=4)
        server.routes["/later.xml"] = Reply(200, rss([]))
        server.routes["/kept.xml"] = Reply(200, rss([]))
        done, slow, stuck, later, kept = (
            FeedSpec(url=server.url(f"/{n}.xml"))
            for n in ("done", "slow", "stuck", "later", "kept")
        )
        publisher = RecordingPublisher()
        poller = make_poller(tmp_path, [done, slow, stuck, later, kept], publisher)
        assignment, log = Assignment(), StateLog()
        assignment.feeds = {"k": kept}
        member = GroupMember(poller, assignment, log)  # type: ignore[arg-type]
        assert assignment.before_revoke == member.before_revoke

        async def go() -> None:
            try:
                await poller.run_cycle([done])
                under_way = [asyncio.create_task(poller.poll(f)) for f in (slow, stuck)]
                await asyncio.sleep(0.3)  # their requests are under way
                revoked = {done.url, slow.url, stuck.url, later.url}
                started = time.monotonic()
                await asyncio.to_thread(assignment.before_revoke, revoked, False)
                # The slow request counted; the stuck one was not waited for past 2 s ...
                assert 0.5 < time.monotonic() - started < 3.5
                assert sorted(s.url for s in log.written) == sorted([done.url, slow.url])
                # ... and its result, coming after the hand-over, is dropped.
                assert [(await t).outcome for t in under_way] == ["ok", "given_up"]
                assert (await poller.poll(later)).outcome == "withdrawn"
                await member.tick()
            finally:
                await poller.aclose()

        asyncio.run(go())
        assert server.hits("/later.xml") == []
    assert sorted(s.url for s in log.written) == sorted([done.url, slow.url])
    assert [p.url for p in publisher.sent] == [ITEMS[0]["link"]]  # stuck's was never queued
    assert [f.url for f in poller.feeds] == [kept.url]
    assert set(poller.states) == {kept.url}
    assert poller.withdrawn == set()


def test_a_hand_over_sends_again_statuses_a_flush_is_still_writing(tmp_path: Path) -> None:
    """The event loop took a feed's status to write and its write is not acknowledged yet
    when the feed's partition is revoked: the hand-over sends it again, so the next owner
    does not read the state from before it."""
    with feed_server() as server:
        server.routes["/f.xml"] = Reply(200, rss([]))
        spec = FeedSpec(url=server.url("/f.xml"))
        poller = make_poller(tmp_path, [spec], RecordingPublisher())
        log = SlowStateLog()
        member = GroupMember(poller, Assignment(), log)  # type: ignore[arg-type]

        async def go() -> None:
            try:
                await poller.run_cycle()
                flushing = asyncio.create_task(member.flush())
                await asyncio.to_thread(log.writing.wait, 5)
                await asyncio.to_thread(member.before_revoke, {spec.url}, False)
                log.release.set()
                await flushing
            finally:
                await poller.aclose()

        asyncio.run(go())
    assert [s.url for s in log.written] == [spec.url, spec.url]


def test_lost_partitions_are_given_up_without_writing(tmp_path: Path) -> None:
    """An expelled member's partitions may be another member's already: it drops their
    feeds but writes no state over what the new owner may have written since."""
    with feed_server() as server:
        server.routes["/f.xml"] = Reply(200, rss(ITEMS[:1]))
        spec = FeedSpec(url=server.url("/f.xml"))
        poller = make_poller(tmp_path, [spec], RecordingPublisher())
        log = StateLog()
        member = GroupMember(poller, Assignment(), log)  # type: ignore[arg-type]
        cycle_once(poller)
        member.before_revoke({spec.url}, True)
    assert log.written == []
    assert poller.leaving == {spec.url}


class SlowStateLog(StateLog):
    """Holds the first write until released, and records every write."""

    def __init__(self) -> None:
        super().__init__()
        self.writing = threading.Event()
        self.release = threading.Event()

    def write(self, statuses: Iterable[FeedStatus], **kwargs: Any) -> str:
        statuses = list(statuses)
        if not self.writing.is_set():
            self.writing.set()
            self.release.wait(5)
        return super().write(statuses)


def cycle_once(poller: Any) -> None:
    async def go() -> None:
        try:
            await poller.run_cycle()
        finally:
            await poller.aclose()

    asyncio.run(go())


def test_a_feed_state_handed_over_as_a_status_comes_back_whole() -> None:
    """The hand-over writes this machine's FeedState as a FeedStatus and the next owner reads
    it back (FeedPoller.give_up / adopt_all): a field the two did not share would be refused at
    the first rebalance, or silently lost."""
    state = FeedState(
        url="https://example.org/feed.xml",
        name="Example",
        etag='"v1"',
        last_modified="Mon, 30 Nov 2026 10:00:00 GMT",
        body_hash="abc",
        validators_unreliable=True,
        polls=7,
        last_attempt=1_700_000_100.0,
        last_success=1_700_000_000.0,
        consecutive_failures=2,
        last_error_class="http_status",
        last_error="HTTP 503",
        items_last_poll=10,
        new_last_poll=3,
        interval_seconds=900.0,
        next_poll=1_700_001_000.0,
        gone=False,
        moved_to="https://example.org/new.xml",
        problem="not well-formed",
    )
    assert {f.name: f.default for f in fields(FeedState) if f.name != "url"} == {
        name: FeedStatus.model_fields[name].default for name in asdict(state) if name != "url"
    }
    status = decode(FeedStatus, encode(FeedStatus(**asdict(state), producer="host:1")))
    back = FeedState(**{f.name: getattr(status, f.name) for f in fields(FeedState)})
    assert back == state
    assert back.health == "failing"
