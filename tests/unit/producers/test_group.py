"""GroupMember without a broker: the assignment and the feed-state log are stand-ins."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from newsradar.schemas import FeedStatus
from producers.feeds import FeedSpec
from producers.group import GroupMember
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

    def write(self, statuses: Iterable[FeedStatus]) -> str:
        self.written.extend(statuses)
        return ""


def test_statuses_are_written_before_partitions_move(tmp_path: Path) -> None:
    """When partitions are revoked (kafka-python calls the listener on its own thread), the
    member lets requests under way finish and writes the statuses of the feeds it polled at
    once, before the partitions move on: the next owner then reads statuses that say those
    feeds were polled. No new request goes out for them; at the next tick they are dropped."""
    server: FeedServer
    with feed_server() as server:
        server.routes["/done.xml"] = Reply(200, rss(ITEMS[:1]))
        server.routes["/slow.xml"] = Reply(200, rss([]), delay_seconds=1)
        server.routes["/later.xml"] = Reply(200, rss([]))
        server.routes["/kept.xml"] = Reply(200, rss([]))
        done, slow, later, kept = (
            FeedSpec(url=server.url(f"/{n}.xml")) for n in ("done", "slow", "later", "kept")
        )
        poller = make_poller(tmp_path, [done, slow, later, kept], RecordingPublisher())
        assignment, log = Assignment(), StateLog()
        assignment.feeds = {"k": kept}
        member = GroupMember(poller, assignment, log)  # type: ignore[arg-type]
        assert assignment.before_revoke == member.before_revoke

        async def go() -> None:
            try:
                await poller.run_cycle([done])
                task = asyncio.create_task(poller.poll(slow))
                await asyncio.sleep(0.3)  # its request is under way
                revoked = {done.url, slow.url, later.url}
                await asyncio.to_thread(assignment.before_revoke, revoked)
                assert task.done()
                assert sorted(s.url for s in log.written) == sorted([done.url, slow.url])
                assert (await poller.poll(later)).outcome == "withdrawn"
                await member.tick()
            finally:
                await poller.aclose()

        asyncio.run(go())
        assert server.hits("/later.xml") == []
    assert sorted(s.url for s in log.written) == sorted([done.url, slow.url])
    assert [f.url for f in poller.feeds] == [kept.url]
    assert set(poller.states) == {kept.url}
    assert poller.withdrawn == set()
