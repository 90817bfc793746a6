"""Producers as a consumer group on ``newsradar.feeds``: each instance polls the feeds of the
partitions it holds, and a feed's state travels with it through ``newsradar.feed-state``.

- :class:`FeedAssignment` is the group member. Offsets are never committed: on every
  assignment the member reads its partitions from the beginning (a compacted topic is small),
  so it always holds the whole current table of its share. A tombstone removes a feed.
- :class:`FeedStateLog` writes a feed's :class:`~newsradar.schemas.FeedStatus` after the
  articles it found were acknowledged, and reads the statuses of feeds an instance takes over.

A feed's state is written after its articles: an instance killed between the two leaves the
previous state, and the next owner may publish those articles again (at-least-once; the sinks
write idempotently). Nothing is lost. A running instance that a rebalance takes feeds from
hands their state over inside the rebalance, pending articles included
(:meth:`GroupMember.before_revoke`), so the next owner publishes each item once.

kafka-python runs the rebalance listener on the consumer's I/O thread, the one that also
heartbeats: the hand-over waits at most :data:`HANDOVER_WAIT_SECONDS` for requests under way
and :data:`HANDOVER_WRITE_SECONDS` for its write, well within the 10 s session (a member that
stops heartbeating longer is expelled, and its partitions are assigned elsewhere before its
hand-over is written).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from kafka import ConsumerRebalanceListener, KafkaConsumer, KafkaProducer
from kafka.errors import KafkaError

from newsradar import kafka_compat  # noqa: F401  (closes sockets of failed connects)
from newsradar.compacted import read_table
from newsradar.errors import KafkaUnavailableError, SchemaError
from newsradar.schemas import FeedStatus, decode, encode, feed_key
from newsradar.settings import Settings
from producers.errors import FeedListError
from producers.feeds import FeedSpec, feed_from_record

log = logging.getLogger("newsradar.producers")
INSTANCE = f"{socket.gethostname()}:{os.getpid()}"
_MAX_RECORDS = 50_000
"""Feed records read per consumer call (each about 100-200 bytes)."""
HANDOVER_WAIT_SECONDS = 2.0
"""How long a hand-over lets requests under way finish, so their results count (a result that
comes later is dropped and the feed polled again by its next owner)."""
HANDOVER_WRITE_SECONDS = 3.0
"""How long a hand-over waits for its statuses to be acknowledged."""


class FeedAssignment(ConsumerRebalanceListener):  # type: ignore[misc]
    """This instance's share of ``newsradar.feeds``. Call :meth:`poll` often (it heartbeats
    the group); ``feeds`` is the current share, by key."""

    def __init__(self, settings: Settings) -> None:
        self.topic = settings.topics.feeds.name
        self.feeds: dict[str, FeedSpec] = {}
        self.partition_of: dict[str, int] = {}
        self.assigned: set[int] = set()
        self.newly_assigned: set[int] = set()
        self.before_revoke: Callable[[set[str], bool], None] | None = None
        """Called with the URLs of the feeds of partitions about to be revoked: inside the
        rebalance, before this member rejoins, so before any other member is assigned them;
        and whether they were lost (this member was expelled from the group, and another one
        may hold them already)."""
        self._consumer: Any = KafkaConsumer(
            bootstrap_servers=settings.bootstrap_servers,
            group_id=settings.producers.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            # A killed instance's feeds move after this long without heartbeats.
            session_timeout_ms=10_000,
            heartbeat_interval_ms=1_000,
            fetch_max_wait_ms=200,
            **settings.kafka.client_options(),
        )
        # Join only once this member's metadata holds the topic's partitions: a member that
        # joins first is assigned nothing and, in tests under load, did not rejoin in time
        # when the partitions appeared (it was dropped from the group after its session).
        deadline = time.monotonic() + 30
        while not self._consumer.partitions_for_topic(self.topic) and time.monotonic() < deadline:
            time.sleep(0.2)
        self._consumer.subscribe([self.topic], listener=self)

    def on_partitions_revoked(self, revoked: Iterable[Any]) -> None:
        self._let_go(revoked, lost=False)

    def on_partitions_lost(self, lost: Iterable[Any]) -> None:
        self._let_go(lost, lost=True)

    def _let_go(self, partitions: Iterable[Any], *, lost: bool) -> None:
        gone = {tp.partition for tp in partitions}
        urls = {self.feeds[k].url for k, p in self.partition_of.items() if p in gone}
        if urls and self.before_revoke is not None:
            # Before the partitions move on: the next owner reads their feeds' statuses as
            # soon as it is assigned them.
            try:
                self.before_revoke(urls, lost)
            except Exception:
                log.exception("Feed statuses not handed over. topic=%s", self.topic)
        self.assigned -= gone
        for key in [k for k, p in self.partition_of.items() if p in gone]:
            self.feeds.pop(key, None)
            del self.partition_of[key]
        if gone and lost:
            log.warning(
                "Feed partitions lost: this instance was expelled from the group (no heartbeat "
                "within the session); it rejoins. topic=%s partitions=%s",
                self.topic,
                sorted(gone),
            )
        elif gone:
            log.info("Feed partitions revoked. topic=%s partitions=%s", self.topic, sorted(gone))

    def on_partitions_assigned(self, assigned: Iterable[Any]) -> None:
        tps = list(assigned)
        if tps:
            self._consumer.seek_to_beginning(*tps)
        new = {tp.partition for tp in tps}
        self.assigned |= new
        self.newly_assigned |= new
        log.info(
            "Feed partitions assigned. topic=%s partitions=%s", self.topic, sorted(self.assigned)
        )

    def poll(self, timeout_ms: int = 0) -> bool:
        """Read all that arrived; True when the share changed. A partition just assigned is
        read in as few calls as the consumer allows (each change makes the poller take the
        whole share anew: 500 records a call, kafka-python's default, made 200 of them for a
        share of 100,000 feeds)."""
        changed = False
        for _ in range(100):
            batches = self._consumer.poll(timeout_ms=timeout_ms, max_records=_MAX_RECORDS)
            if not batches:
                break
            changed |= self._apply(batches)
            timeout_ms = 0  # the rest only if already fetched
        return changed

    def _apply(self, batches: Mapping[Any, list[Any]]) -> bool:
        changed = False
        for tp, batch in batches.items():
            for message in batch:
                if message.key is None:
                    continue
                key = message.key.decode("utf-8", "replace")
                if message.value is None:
                    changed |= self.feeds.pop(key, None) is not None
                    self.partition_of.pop(key, None)
                    continue
                try:
                    spec = feed_from_record(key, message.value)
                except FeedListError as exc:
                    log.warning(
                        "Feed record skipped. topic=%s partition=%d offset=%d error=%s",
                        tp.topic,
                        tp.partition,
                        message.offset,
                        exc,
                    )
                    continue
                if self.feeds.get(key) != spec:
                    self.feeds[key] = spec
                    self.partition_of[key] = tp.partition
                    changed = True
        return changed

    def take_newly_assigned(self) -> set[int]:
        new, self.newly_assigned = self.newly_assigned, set()
        return new

    def close(self) -> None:
        try:
            self._consumer.close()
        except KafkaError as exc:
            log.warning("Feeds consumer did not close cleanly. error=%s", exc)


class FeedStateLog:
    """``newsradar.feed-state``: write statuses, read those of feeds taken over."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.topic = settings.topics.feed_state.name
        self._producer: Any = None
        # Connected, and the topic's partitions known, now rather than at the first write: a
        # hand-over writes inside a rebalance, where connecting could take longer than it may.
        try:
            self._connect().partitions_for(self.topic)
        except KafkaError as exc:
            log.warning("Feed-state topic not reachable yet. topic=%s error=%s", self.topic, exc)

    def _connect(self) -> Any:
        if self._producer is None:
            self._producer = KafkaProducer(
                bootstrap_servers=self.settings.bootstrap_servers,
                acks="all",
                enable_idempotence=True,
                compression_type="gzip",
                linger_ms=20,
                max_block_ms=10_000,
                **self.settings.kafka.client_options(),
            )
        return self._producer

    def write(self, statuses: Iterable[FeedStatus], *, timeout_seconds: float = 10.0) -> str:
        """Send ``statuses`` and wait for them at most ``timeout_seconds``; returns the error,
        or "". Statuses not acknowledged in time stay with the producer, which goes on
        sending them."""
        try:
            producer = self._connect()
            futures = [
                producer.send(self.topic, key=feed_key(status.url).encode(), value=encode(status))
                for status in statuses
            ]
            deadline = time.monotonic() + timeout_seconds
            producer.flush(timeout=timeout_seconds)
            for future in futures:
                future.get(timeout=max(0.0, deadline - time.monotonic()))
        except KafkaError as exc:
            return f"{type(exc).__name__}: {exc}"
        return ""

    def read_partitions(self, partitions: set[int]) -> Mapping[str, bytes]:
        """The statuses of the feeds in ``partitions`` of the feeds topic. Keys are the same in
        both topics, so with as many partitions they sit in the same partition numbers;
        otherwise every partition is read."""
        same = self.settings.topics.feed_state.partitions == self.settings.topics.feeds.partitions
        return read_table(self.settings, self.topic, partitions=partitions if same else None)

    def close(self) -> None:
        if self._producer is not None:
            try:
                self._producer.close(timeout=10)
            except KafkaError as exc:
                log.warning("Feed-state producer did not close cleanly. error=%s", exc)
            self._producer = None


def statuses_of(table: Mapping[str, bytes]) -> Iterator[FeedStatus]:
    """The readable statuses of a read feed-state table, decoded one at a time (100,000 of
    them decoded at once held some hundreds of MB)."""
    for key, value in table.items():
        try:
            yield decode(FeedStatus, value)
        except SchemaError as exc:
            log.warning("Feed state skipped. topic=newsradar.feed-state key=%s error=%s", key, exc)


class GroupMember:
    """Wires a :class:`~producers.rss.FeedPoller` to the group: the share it polls follows
    the assignment, statuses of feeds taken over are adopted before their first poll,
    statuses of polled feeds are written once their articles are acknowledged, and the
    statuses of feeds this member gives up are written before it lets them go."""

    def __init__(self, poller: Any, assignment: FeedAssignment, state_log: FeedStateLog) -> None:
        self.poller = poller
        self.assignment = assignment
        self.state_log = state_log
        self._lock = threading.Lock()
        """Orders a hand-over (on kafka-python's I/O thread) with the event loop's taking of
        statuses to write, and guards the two fields below."""
        self._revoked: set[str] = set()
        self._unwritten: dict[str, FeedStatus] = {}
        """Statuses taken by :meth:`flush` and not yet acknowledged: a hand-over sends them
        again (the next owner must not read the state from before them)."""
        assignment.before_revoke = self.before_revoke

    def before_revoke(self, urls: set[str], lost: bool = False) -> None:
        """Partitions are being revoked: hand their feeds' state over before the group moves
        them (kafka-python calls this inside the rebalance, on its I/O thread, before this
        member rejoins; so before any other member is assigned them). The next owner reads
        that state when it is assigned them: it sends the validators and knows the items
        already published.

        No new request for these feeds is sent; the requests under way may finish (for
        :data:`HANDOVER_WAIT_SECONDS` at most) so their results count, and then the feeds are
        given up (:meth:`~producers.rss.FeedPoller.give_up`): a result that comes later is
        dropped (the next owner, not told of its items, finds them new and publishes them
        once). Their statuses, items still pending here included (this member, still running,
        publishes them from its pending table), and those a :meth:`flush` is still writing,
        are written now, for :data:`HANDOVER_WRITE_SECONDS` at most. The feeds are dropped,
        and polls of them not yet sent cancelled, at the next tick.

        A member that dies hands nothing over; its feeds' last written state is used. Nor does
        one that was expelled (``lost``): another member may have read that state and moved
        on already, and a late write would bury its newer one."""
        with self._lock:
            self._revoked |= urls
        self.poller.withdrawn |= urls
        if not lost:
            deadline = time.monotonic() + HANDOVER_WAIT_SECONDS
            fetching = self.poller.fetching  # changed by the event loop meanwhile
            while any(u in fetching for u in urls) and time.monotonic() < deadline:
                time.sleep(0.02)
        with self._lock:
            statuses = self.poller.give_up(sorted(urls), INSTANCE)
            given = {s.url for s in statuses}
            statuses += [s for u, s in self._unwritten.items() if u in urls and u not in given]
        if not statuses or lost:
            return
        error = self.state_log.write(statuses, timeout_seconds=HANDOVER_WRITE_SECONDS)
        if error:
            log.warning(
                "Feed state not handed over; the next owner may publish items again. "
                "topic=%s feeds=%d error=%s",
                self.state_log.topic,
                len(statuses),
                error,
            )
            return
        log.info("Feed state handed over. topic=%s feeds=%d", self.state_log.topic, len(statuses))

    async def tick(self) -> None:
        # Long enough for the group protocol (join, sync) to make progress within a poll.
        changed = await asyncio.to_thread(self.assignment.poll, 200)
        new = self.assignment.take_newly_assigned()
        if new:
            # A partition's statuses are read before any of its feeds is polled here.
            try:
                table = await asyncio.to_thread(self.state_log.read_partitions, new)
            except KafkaUnavailableError as exc:
                # Not one of these partitions' feeds is polled before its state is read.
                self.assignment.newly_assigned |= new
                log.warning(
                    "Feed state not read; the share waits. topic=%s error=%s",
                    self.state_log.topic,
                    exc,
                )
                return
            adopted = self.poller.adopt_all(statuses_of(table))
            del table
            log.info(
                "Feed states taken over. topic=%s partitions=%s feeds=%d",
                self.state_log.topic,
                sorted(new),
                adopted,
            )
        with self._lock:
            revoked, self._revoked = self._revoked, set()
        self.poller.withdrawn -= revoked
        # Only after a revocation: the share is walked, and it can hold 100,000 feeds.
        gone = revoked - {f.url for f in self.assignment.feeds.values()} if revoked else set()
        for url in gone:
            task = self.poller.in_flight.get(url)
            if task is not None:
                task.cancel()  # the next owner polls it
        if changed or new or gone:
            self.poller.set_feeds(list(self.assignment.feeds.values()))
            log.info(
                "Feeds to poll changed. topic=%s partitions=%s feeds=%d",
                self.assignment.topic,
                sorted(self.assignment.assigned),
                len(self.assignment.feeds),
            )
        await self.flush()

    async def flush(self) -> None:
        with self._lock:
            statuses = self.poller.take_statuses(INSTANCE)
            self._unwritten.update((s.url, s) for s in statuses)
        if statuses:
            error = await asyncio.to_thread(self.state_log.write, statuses)
            with self._lock:
                for written in statuses:
                    url = written.url
                    if self._unwritten.get(url) is written:
                        del self._unwritten[url]
            if error:
                self.poller.polled.update(s.url for s in statuses)
                log.warning(
                    "Feed state not written; retried. topic=%s error=%s",
                    self.state_log.topic,
                    error,
                )
