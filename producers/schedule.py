"""Which feed to poll next, without walking every feed: a heap of due times, and per host a
line of feeds that are due but wait for their host.

The producers' loop walked every feed twice a second to find the due ones (at 100,000 feeds,
a tenth of its CPU while polling). Here a feed is pushed once per poll, with its next due
time; entries are never updated in place, so one whose time no longer matches the feed's is
stale and skipped (:meth:`DueFeeds.release` asks the caller). Due feeds queue per host in due
order, and hosts take turns: one that started polls goes to the back of the line.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Iterator


class DueFeeds:
    def __init__(self) -> None:
        self._heap: list[tuple[float, str]] = []
        self._waiting: dict[str, deque[str]] = {}

    def __len__(self) -> int:
        """Feeds scheduled or waiting for their host (stale entries included)."""
        return len(self._heap) + sum(len(line) for line in self._waiting.values())

    def clear(self) -> None:
        self._heap.clear()
        self._waiting.clear()

    def push(self, at: float, url: str) -> None:
        """``url`` is due at ``at`` (Unix seconds)."""
        heapq.heappush(self._heap, (at, url))

    def release(
        self, now: float, host_of: Callable[[str], str], current: Callable[[str, float], bool]
    ) -> None:
        """Move the feeds due by ``now`` to their host's line; ``current(url, at)`` says
        whether an entry still stands (the feed is still ours, still due at ``at``, not
        being polled)."""
        heap, waiting = self._heap, self._waiting
        while heap and heap[0][0] <= now:
            at, url = heapq.heappop(heap)
            if current(url, at):
                host = host_of(url)
                line = waiting.get(host)
                if line is None:
                    line = waiting[host] = deque()
                line.append(url)

    def take(self, room: Callable[[str], int]) -> Iterator[str]:
        """The due feeds to start now, host by host in turn: ``room(host)`` says how many
        more polls of ``host`` may start (0 for none; a negative number stops the walk: no
        room anywhere). The caller starts (or drops) every feed it is given before asking
        for the next: one taken is no longer queued."""
        waiting = self._waiting
        served = []
        for host, line in list(waiting.items()):
            free = room(host)
            if free < 0:
                break
            if not free:
                continue
            while line and free > 0:
                yield line.popleft()
                free -= 1
            served.append(host)
        for host in served:
            line = waiting.pop(host)
            if line:
                waiting[host] = line  # to the back: the other hosts go first next time
