"""The producers service: poll RSS/Atom feeds, publish new articles to ``newsradar.articles``.

Scheduling: every feed has its own next poll time. Intervals adapt to how often a feed really
changes (shorter after new items, longer after none), honour TTL, Cache-Control max-age and
Retry-After within the configured bounds, and carry ±10 % jitter so thousands of feeds do not
poll in lockstep. Failing feeds back off linearly with jitter up to ``max_backoff_seconds`` and
are retried forever; a feed answering 410 Gone stops being polled and is reported.

Politeness: at most ``max_concurrency`` fetches at once, ``per_host_concurrency`` per host,
and ``per_host_delay_seconds`` between two requests to one host.

Delivery: new articles are written to the pending table before they are sent and move to
``seen`` only once Kafka acknowledged them (see :mod:`producers.state`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Protocol
from urllib.parse import urlsplit

import httpx

from newsradar.schemas import FeedStatus, SeenItem, encode
from newsradar.settings import ProducersSettings, Settings
from producers import metrics
from producers.errors import FeedError, FeedGoneError, PermanentFeedError
from producers.feeds import FeedSpec
from producers.fetch import FetchResult, Validators, fetch_feed, http_client
from producers.normalize import content_hash, parse_feed
from producers.schedule import DueFeeds
from producers.state import FeedState, Pending, ProducerState

_FEED_STATE_FIELDS = frozenset(FeedState.__dataclass_fields__)

log = logging.getLogger("newsradar.producers")
UNCONDITIONAL_EVERY = 12
"""Every Nth poll is sent without validators, to catch servers whose ETag never changes."""
CLIENT_SHARDS = 8
"""HTTP clients (connection pools) the feeds' hosts are spread over (see FeedPoller.client)."""


class ArticlePublisher(Protocol):
    """Where acknowledged articles go: :class:`producers.publish.Publisher` in service."""

    topic: str

    def publish(self, items: Sequence[Pending]) -> tuple[list[Pending], str]: ...


@dataclass(frozen=True)
class PollOutcome:
    url: str
    outcome: str
    """``ok``, ``not_modified``, ``unchanged``, ``skipped_gone``, ``withdrawn`` (the feed is
    being handed over: its request was not sent), ``given_up`` (it was handed over while its
    request was under way; the result is dropped) or an error class."""
    items: int = 0
    new: int = 0
    error: str = ""


def next_interval(
    conf: ProducersSettings,
    feed: FeedState,
    spec: FeedSpec,
    *,
    changed: bool,
    hint_seconds: float | None,
) -> float:
    """Seconds until the next poll after a successful one."""
    base = spec.poll_interval_seconds or conf.default_interval_seconds
    current = feed.interval_seconds or base
    interval = current * 0.75 if changed else current * 1.25
    if hint_seconds:
        interval = max(interval, hint_seconds)
    return min(max(interval, conf.min_interval_seconds), conf.max_interval_seconds)


def backoff_seconds(
    conf: ProducersSettings,
    failures: int,
    spec: FeedSpec,
    retry_after: float | None,
) -> float:
    """Linear backoff after ``failures`` consecutive failures, at least Retry-After."""
    base = spec.poll_interval_seconds or conf.default_interval_seconds
    delay = min(conf.max_backoff_seconds, base * failures)
    if retry_after:
        delay = max(delay, min(retry_after, conf.max_backoff_seconds))
    return delay


class FeedPoller:
    def __init__(
        self,
        settings: Settings,
        feeds: Sequence[FeedSpec],
        state: ProducerState,
        publisher: ArticlePublisher | None,
        *,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.conf = settings.producers
        self.feeds = list(feeds)
        self.state = state
        self.publisher = publisher
        self.rng = rng or random.Random()
        self.clock = clock
        self.started = clock()
        self.states: dict[str, FeedState] = {f.url: state.feed(f.url) for f in self.feeds}
        self._specs: dict[str, FeedSpec] = {f.url: f for f in self.feeds}
        self._due = DueFeeds()
        self._reschedule = True
        """Set when feeds or their states were replaced: :meth:`run_forever` rebuilds
        :attr:`_due` from every feed's ``next_poll``."""
        self._global = asyncio.Semaphore(self.conf.max_concurrency)
        self._hosts: dict[str, tuple[asyncio.Semaphore, asyncio.Lock, list[float]]] = {}
        self._clients: list[httpx.AsyncClient | None] = [None] * CLIENT_SHARDS
        self.items_of: dict[str, tuple[SeenItem, ...]] = {}
        """Per feed URL: the items of its last read body (what a next owner must not repeat)."""
        self.polled: set[str] = set()
        """Feed URLs polled since their status was last handed out (:meth:`take_statuses`)."""
        self._host_cache: dict[str, str] = {}
        self.in_flight: dict[str, asyncio.Task[PollOutcome]] = {}
        """Per feed URL: its poll under way (:meth:`run_forever`)."""
        self.withdrawn: set[str] = set()
        """Feed URLs being handed over to another producer: a poll of one not yet sent is not
        sent (the group member sets and clears this)."""
        self.fetching: set[str] = set()
        """Feed URLs whose request is under way (until their status is ready to hand out)."""
        self.leaving: set[str] = set()
        """Feed URLs given up in a rebalance (:meth:`give_up`) and not assigned here again: a
        poll of one that was under way is dropped, none is started."""
        self._handover = threading.Lock()
        """Taken by :meth:`give_up` (in the thread that polls the group) and around accepting
        a poll's result (in the event loop): a result is either in the handed-over state or
        dropped, never neither."""

    def set_feeds(self, feeds: Sequence[FeedSpec]) -> None:
        """Poll ``feeds`` from now on (the consumer group moved feeds to or away from us)."""
        self.feeds = list(feeds)
        self._specs = {f.url: f for f in self.feeds}
        self._reschedule = True
        wanted = self._specs.keys()
        self.leaving -= wanted
        for url in [u for u in self.states if u not in wanted]:
            del self.states[url]
            self.items_of.pop(url, None)
            self._host_cache.pop(url, None)
        for spec in self.feeds:
            if spec.url not in self.states:
                self.states[spec.url] = self.state.feed(spec.url)

    def adopt(self, status: FeedStatus) -> None:
        """Take over a feed's state from ``newsradar.feed-state``: its validators, schedule and
        health, and its published items as seen (so none is published again). A status older
        than the one this instance holds (it polled the feed since) is left alone."""
        self.adopt_all([status])

    def adopt_all(self, statuses: Iterable[FeedStatus]) -> int:
        """:meth:`adopt` each of ``statuses``, written to the store in one transaction (a
        takeover of 100,000 feeds one transaction each took minutes); how many were adopted."""
        feeds: list[FeedState] = []
        seen: list[Pending] = []
        for status in statuses:
            held = self.states.get(status.url) or self.state.feed(status.url)
            if (held.last_attempt or 0.0) > (status.last_attempt or 0.0):
                # Ours is newer: a rebalance handed back a partition this instance polled
                # since that status was written (adopting it would make the feed due again).
                continue
            fields = {k: v for k, v in status.model_dump().items() if k in _FEED_STATE_FIELDS}
            feed = FeedState(**fields)
            feeds.append(feed)
            seen.extend(Pending(i.id, i.hash, i.url, b"") for i in status.seen)
            self.items_of[status.url] = status.seen
            if status.url in self.states:
                self.states[status.url] = feed
            log.debug(
                "Feed state taken over. url=%s from=%s etag=%s failures=%d",
                status.url,
                status.producer or "-",
                feed.etag or "-",
                feed.consecutive_failures,
            )
        self.state.save_feeds(feeds)
        self.state.mark_published(seen)
        self._reschedule = True
        return len(feeds)

    def give_up(self, urls: Sequence[str], instance: str) -> list[FeedStatus]:
        """Stop polling ``urls`` (a rebalance takes them from this instance) and return the
        statuses of those polled since their status was last handed out, pending items or
        not (see :meth:`producers.group.GroupMember.before_revoke`). Called from kafka-python's
        thread while polls run: a poll whose result comes after this is dropped, so
        every item found here is either in a returned status or never queued."""
        with self._handover:
            self.leaving.update(urls)
            out = []
            for url in urls:
                feed = self.states.get(url)
                if feed is None or url not in self.polled:
                    continue
                self.polled.discard(url)
                seen = self.items_of.get(url, ())
                out.append(FeedStatus(**asdict(feed), seen=seen, producer=instance))
            return out

    def take_statuses(self, instance: str) -> list[FeedStatus]:
        """The statuses of feeds polled since the last call whose articles Kafka holds (a feed
        with articles still pending waits for the next call)."""
        pending = self.state.pending_ids()
        out = []
        for url in sorted(self.polled):
            feed = self.states.get(url)
            if feed is None:
                self.polled.discard(url)
                continue
            items = self.items_of.get(url, ())
            if any(i.id in pending for i in items):
                continue
            self.polled.discard(url)
            out.append(FeedStatus(**asdict(feed), seen=items, producer=instance))
        return out

    def client(self, host: str = "") -> httpx.AsyncClient:
        """The HTTP client for ``host``'s feeds: hosts are spread over a few clients, each
        with its own connection pool. httpcore walks a pool's connections for every request
        (and, per idle connection, all of them again: quadratic); with one pool of 64
        connections to many hosts that walk was about half of a 304 poll's CPU."""
        shard = hash(host) % len(self._clients)
        client = self._clients[shard]
        if client is None:
            client = self._clients[shard] = http_client(
                timeout_seconds=self.conf.timeout_seconds,
                user_agent=self.conf.user_agent,
                # The global limit caps fetches; a pool only keeps what one shard reuses.
                max_connections=self.conf.max_concurrency,
                max_keepalive_connections=max(
                    self.conf.per_host_concurrency, self.conf.max_concurrency // CLIENT_SHARDS
                ),
            )
        return client

    async def aclose(self) -> None:
        for shard, client in enumerate(self._clients):
            if client is not None:
                await client.aclose()
                self._clients[shard] = None

    def _host_of(self, url: str) -> str:
        host = self._host_cache.get(url)
        if host is None:
            host = self._host_cache[url] = sys.intern(urlsplit(url).hostname or "")
        return host

    def _polite(self, url: str) -> tuple[asyncio.Semaphore, asyncio.Lock, list[float]]:
        """Per host: a concurrency limit, a gate for the delay, the last request's time."""
        host = self._host_of(url)
        if host not in self._hosts:
            self._hosts[host] = (
                asyncio.Semaphore(self.conf.per_host_concurrency),
                asyncio.Lock(),
                [0.0],
            )
        return self._hosts[host]

    async def poll(self, spec: FeedSpec) -> PollOutcome:
        """Fetch, parse and queue one feed; never raises for a bad feed."""
        feed = self.states.setdefault(spec.url, self.state.feed(spec.url))
        if feed.gone:
            return PollOutcome(spec.url, "skipped_gone")
        try:
            return await self._poll(spec, feed)
        finally:
            self.fetching.discard(spec.url)

    async def _poll(self, spec: FeedSpec, feed: FeedState) -> PollOutcome:
        polls = feed.polls + 1
        use_validators = not feed.validators_unreliable and polls % UNCONDITIONAL_EVERY != 0
        validators = Validators(feed.etag, feed.last_modified) if use_validators else None
        host_sem, host_gate, last_request = self._polite(spec.url)
        try:
            async with host_sem:
                # One request at a time waits for the host's delay, measured from the last
                # request actually sent (a busy event loop must not let requests bunch up).
                # The host's turn comes first, then a global slot: a fetch waiting out its
                # host's delay holds no slot another host's feed could use (with the slot
                # taken first, feeds listed host by host went at about one a second per slot).
                async with host_gate:
                    wait = last_request[0] + self.conf.per_host_delay_seconds - time.monotonic()
                    if wait > 0:
                        await asyncio.sleep(wait)
                    await self._global.acquire()
                    last_request[0] = time.monotonic()
                try:
                    if spec.url in self.withdrawn:
                        # Its partition is being handed over: the next owner polls it.
                        return PollOutcome(spec.url, "withdrawn")
                    self.fetching.add(spec.url)
                    feed.name = spec.label
                    feed.polls = polls
                    feed.last_attempt = self.clock()
                    result = await fetch_feed(
                        self.client(self._host_of(spec.url)),
                        spec.url,
                        validators=validators,
                        max_bytes=self.conf.max_body_bytes,
                        max_redirects=self.conf.max_redirects,
                        deadline_seconds=self.conf.fetch_deadline_seconds,
                    )
                finally:
                    self._global.release()
            with self._handover:
                if spec.url in self.leaving:  # given up while this poll was under way
                    metrics.FETCHES.labels("given_up").inc()
                    return PollOutcome(spec.url, "given_up")
                outcome = self._accept(spec, feed, result)
                self.polled.add(spec.url)
        except FeedError as exc:
            outcome = self._failed(spec, feed, exc)
        except Exception as exc:  # a bug, not a bad feed: keep the service and the evidence
            log.exception("Feed handling failed unexpectedly. url=%s", spec.url)
            outcome = self._failed(
                spec,
                feed,
                PermanentFeedError(f"{type(exc).__name__}: {exc}", error_class="internal"),
            )
        self.state.save_feed(feed)
        self.polled.add(spec.url)
        metrics.FETCHES.labels(outcome.outcome).inc()
        return outcome

    def _accept(self, spec: FeedSpec, feed: FeedState, result: FetchResult) -> PollOutcome:
        metrics.FETCH_SECONDS.observe(result.seconds)
        metrics.FETCH_BYTES.inc(len(result.body))
        if result.moved_to and result.moved_to != feed.moved_to:
            log.warning("Feed moved permanently. url=%s new_url=%s", spec.url, result.moved_to)
            feed.moved_to = result.moved_to
        # Unchanged or 304: the feed still holds what it held; nothing in it is new.
        items, new = feed.items_last_poll, 0
        hint = result.max_age_seconds
        if result.not_modified:
            outcome = "not_modified"
        else:
            body_hash = hashlib.sha256(result.body).hexdigest()
            new_etag = result.validators.etag
            if (
                feed.body_hash
                and body_hash != feed.body_hash
                and new_etag
                and new_etag == feed.etag
            ):
                # The content changed but the validator did not: stop trusting validators.
                feed.validators_unreliable = True
                log.warning(
                    "Feed validators do not track content; using content hash. url=%s", spec.url
                )
            if body_hash == feed.body_hash:
                outcome = "unchanged"
            else:
                parsed = parse_feed(
                    result.body,
                    feed_url=spec.url,
                    fetched_at=datetime.fromtimestamp(self.clock(), UTC),
                    feed_name=spec.name,
                    language_hint=spec.language,
                    source_country=spec.country,
                    tags=spec.tags,
                    response_headers=result.headers,
                )
                items = len(parsed.articles)
                hashes = [content_hash(a) for a in parsed.articles]
                fresh = self.state.classify_new(
                    (a.id, h, a.url) for a, h in zip(parsed.articles, hashes, strict=True)
                )
                self.state.add_pending(
                    Pending(
                        parsed.articles[i].id,
                        hashes[i],
                        parsed.articles[i].url,
                        encode(parsed.articles[i]),
                    )
                    for i in fresh
                )
                new = len(fresh)
                self.items_of[spec.url] = tuple(
                    SeenItem(id=a.id, hash=h, url=a.url)
                    for a, h in zip(parsed.articles, hashes, strict=True)
                )
                metrics.DUPLICATES.inc(items - new)
                feed.problem = parsed.problem
                if parsed.ttl_seconds:
                    hint = max(hint or 0.0, parsed.ttl_seconds)
                outcome = "ok"
            feed.body_hash = body_hash
            feed.etag = new_etag
            feed.last_modified = result.validators.last_modified
        feed.last_success = self.clock()
        feed.consecutive_failures = 0
        feed.last_error_class = feed.last_error = ""
        feed.items_last_poll = items
        feed.new_last_poll = new
        interval = next_interval(self.conf, feed, spec, changed=new > 0, hint_seconds=hint)
        feed.interval_seconds = interval
        feed.next_poll = self.clock() + interval * self.rng.uniform(0.9, 1.1)
        return PollOutcome(spec.url, outcome, items, new)

    def _failed(self, spec: FeedSpec, feed: FeedState, exc: FeedError) -> PollOutcome:
        feed.consecutive_failures += 1
        feed.last_error_class = exc.error_class
        feed.last_error = str(exc)[:500]
        feed.items_last_poll = feed.new_last_poll = 0
        if isinstance(exc, FeedGoneError):
            feed.gone = True
            log.warning("Feed gone; polling stopped. url=%s error=%s", spec.url, exc)
        else:
            log.warning(
                "Feed fetch failed. url=%s error_type=%s error=%s failures=%d",
                spec.url,
                exc.error_class,
                exc,
                feed.consecutive_failures,
            )
        delay = backoff_seconds(self.conf, feed.consecutive_failures, spec, exc.retry_after)
        feed.next_poll = self.clock() + delay * self.rng.uniform(0.8, 1.2)
        return PollOutcome(spec.url, exc.error_class, error=str(exc))

    def count_health(self) -> None:
        """Set the feeds-by-health gauge (once per cycle or second: it walks every feed)."""
        counts: dict[str, int] = {"new": 0, "healthy": 0, "failing": 0, "gone": 0}
        stale_before = self.clock() - self.conf.stale_after_seconds
        stale = 0
        for feed in self.states.values():
            counts[feed.health] += 1
            if not feed.gone and (feed.last_success or self.started) < stale_before:
                stale += 1
        for name, value in counts.items():
            metrics.FEEDS.labels(name).set(value)
        metrics.STALE.set(stale)

    async def publish_pending(self) -> int:
        """Send what is pending; returns how many Kafka acknowledged."""
        if self.publisher is None:
            return 0
        total = 0
        while True:
            batch = self.state.pending(limit=5000)
            if not batch:
                break
            done, error = await asyncio.to_thread(self.publisher.publish, batch)
            if done:
                self.state.mark_published(done)
                metrics.PUBLISHED.inc(len(done))
                total += len(done)
            if error:
                metrics.PUBLISH_ERRORS.inc()
                log.warning(
                    "Publish failed; articles stay pending. topic=%s pending=%d error=%s",
                    self.publisher.topic,
                    self.state.pending_count(),
                    error,
                )
                break
        metrics.PENDING.set(self.state.pending_count())
        return total

    async def run_cycle(self, feeds: Sequence[FeedSpec] | None = None) -> list[PollOutcome]:
        """Poll every feed once (concurrently, within the limits), then publish."""
        outcomes = await asyncio.gather(*(self.poll(f) for f in (feeds or self.feeds)))
        await self.publish_pending()
        self.count_health()
        return list(outcomes)

    async def run_forever(
        self, stop: asyncio.Event, tick: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        """Poll each feed when it is due until ``stop``; ``tick`` runs every half second (the
        consumer group's share and state hand-over), after publishing. Due feeds come from a
        heap of due times (:class:`~producers.schedule.DueFeeds`), not a walk of every feed."""
        in_flight = self.in_flight
        per_host: dict[str, int] = {}
        # Polls under way at most: enough for every slot and many hosts' delays at once, not
        # one task per due feed (100,000 feeds due together made 100,000 tasks).
        cap = 16 * self.conf.max_concurrency
        # No more polls of one host under way than it takes at once: the others would only
        # wait for it, and feeds listed host by host would fill the cap.
        per_host_cap = self.conf.per_host_concurrency
        due = self._due

        def current(url: str, at: float) -> bool:
            feed = self.states.get(url)
            return (
                feed is not None
                and feed.next_poll == at
                and not feed.gone
                and url not in in_flight
                and url not in self.leaving
            )

        def room(host: str) -> int:
            left = cap - len(in_flight)
            return min(left, per_host_cap - per_host.get(host, 0)) if left > 0 else -1

        last_publish = 0.0
        while not stop.is_set():
            now = self.clock()
            if self._reschedule:
                self._reschedule = False
                due.clear()
                for url, feed in self.states.items():
                    if feed.next_poll <= 0:
                        # Spread the first polls over a few seconds rather than all at once.
                        feed.next_poll = now + self.rng.uniform(
                            0, min(10.0, self.conf.min_interval_seconds)
                        )
                    if url not in in_flight:
                        due.push(feed.next_poll, url)
            due.release(now, self._host_of, current)
            for url in due.take(room):
                spec = self._specs.get(url)
                if spec is None or url in self.leaving or url in in_flight:
                    continue
                host = self._host_of(url)
                per_host[host] = per_host.get(host, 0) + 1
                in_flight[url] = asyncio.create_task(self.poll(spec))
            for url, task in list(in_flight.items()):
                if task.done():
                    del in_flight[url]
                    host = self._host_of(url)
                    per_host[host] -= 1
                    if not per_host[host]:
                        del per_host[host]
                    if not task.cancelled():  # cancelled: its feed moved to another producer
                        task.result()
                        polled = self.states.get(url)
                        if polled is not None:
                            due.push(polled.next_poll, url)
            if time.monotonic() - last_publish >= 1.0:
                if self.state.pending_count():
                    await self.publish_pending()
                self.count_health()
                last_publish = time.monotonic()
            if tick is not None:
                await tick()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=0.5)
        for task in in_flight.values():
            task.cancel()
        await asyncio.gather(*in_flight.values(), return_exceptions=True)
        await self.publish_pending()
