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
    """When partitions are revoked (in the thread polling the group), the member lets its polls
    of their feeds finish, writes their statuses and stops polling them, all before the
    partitions move on: the next owner then reads statuses that say the feeds were polled."""
    server: FeedServer
    with feed_server() as server:
        server.routes["/slow.xml"] = Reply(200, rss(ITEMS[:1]), delay_seconds=0.5)
        server.routes["/kept.xml"] = Reply(200, rss(ITEMS[1:]))
        slow, kept = FeedSpec(url=server.url("/slow.xml")), FeedSpec(url=server.url("/kept.xml"))
        poller = make_poller(tmp_path, [slow, kept], RecordingPublisher())
        assignment, log = Assignment(), StateLog()
        member = GroupMember(poller, assignment, log)  # type: ignore[arg-type]
        assert assignment.before_revoke == member.before_revoke

        async def go() -> None:
            try:
                await member.tick()  # the member knows its loop
                poller.in_flight[slow.url] = asyncio.create_task(poller.poll(slow))
                await asyncio.sleep(0.1)  # the request is under way
                await asyncio.to_thread(assignment.before_revoke, {slow.url})
            finally:
                await poller.aclose()

        asyncio.run(go())
    assert [s.url for s in log.written] == [slow.url]
    assert log.written[0].polls == 1
    assert [f.url for f in poller.feeds] == [kept.url]
    assert slow.url not in poller.states
