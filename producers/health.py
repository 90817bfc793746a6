"""Feed health as people read it: one row per feed of ``newsradar.feeds``.

``newsradar feeds status`` prints these rows and the web dashboard serves them. Both read them
from Kafka, so they work on any machine that reaches the cluster, wherever the producers run:

- the feed list is ``newsradar.feeds`` (what the producers poll), not a local feed file;
- each feed's health is its record in ``newsradar.feed-state``, written by the producer
  instance that polls it (named in the row's ``producer``).

A feed with no state yet is ``never_polled``. A state whose feed was removed from the feeds
topic is not listed (the count is in :attr:`FeedHealth.removed`). A record this version cannot
read crashes nothing: it becomes an ``unreadable`` row whose ``last_error`` says why.

:func:`health_of_tables` is the logic, over the two tables as read; :func:`read_feed_health`
reads them from Kafka.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from newsradar.compacted import read_table
from newsradar.errors import KafkaUnavailableError, SchemaError
from newsradar.schemas import FeedStatus, decode
from newsradar.settings import Settings
from producers.errors import FeedListError
from producers.feeds import FeedSpec, feed_from_record
from producers.state import feed_health

UNREADABLE_FEED = "unreadable_feed_record"
UNREADABLE_STATE = "unreadable_state_record"
"""``last_error_class`` of a row whose feed (or feed-state) record this version cannot read."""


@dataclass(frozen=True)
class FeedHealth:
    rows: list[dict[str, Any]] = field(default_factory=list)
    """One JSON-ready row per key of ``newsradar.feeds``, sorted by key."""
    removed: int = 0
    """States in ``newsradar.feed-state`` whose feed is no longer in ``newsradar.feeds``."""


def _iso(ts: float | None) -> str | None:
    return datetime.fromtimestamp(ts, UTC).isoformat() if ts else None


def _row(url: str, name: str, health: str, status: FeedStatus | None = None) -> dict[str, Any]:
    s = status or FeedStatus(url=url)
    return {
        "url": url,
        "name": name,
        "health": health,
        "producer": s.producer,
        "last_success": _iso(s.last_success),
        "last_attempt": _iso(s.last_attempt),
        "consecutive_failures": s.consecutive_failures,
        "last_error_class": s.last_error_class,
        "last_error": s.last_error,
        "items_last_poll": s.items_last_poll,
        "new_last_poll": s.new_last_poll,
        "interval_seconds": round(s.interval_seconds, 1),
        "next_poll": _iso(s.next_poll or None),
        "moved_to": s.moved_to,
        "problem": s.problem,
    }


def _health(status: FeedStatus) -> str:
    return feed_health(status.gone, status.consecutive_failures, status.last_success)


def _feed_row(key: str, spec: FeedSpec, raw_state: bytes | None) -> dict[str, Any]:
    if raw_state is None:
        return _row(spec.url, spec.name, "never_polled")
    try:
        status = decode(FeedStatus, raw_state)
    except SchemaError as exc:
        row = _row(spec.url, spec.name, "unreadable")
        row["last_error_class"] = UNREADABLE_STATE
        row["last_error"] = f"newsradar.feed-state record {key}: {exc}"
        return row
    return _row(spec.url, spec.name or status.name, _health(status), status)


def health_of_tables(feeds: Mapping[str, bytes], states: Mapping[str, bytes]) -> FeedHealth:
    """The health rows of the feeds table ``feeds`` given the feed-state table ``states``
    (both by key, as :func:`~newsradar.compacted.read_table` returns them)."""
    rows = []
    for key in sorted(feeds):
        try:
            spec = feed_from_record(key, feeds[key])
        except FeedListError as exc:
            # The producers skip this record too: it is not polled until it is fixed.
            row = _row(key, "", "unreadable")
            row["last_error_class"] = UNREADABLE_FEED
            row["last_error"] = str(exc)
            rows.append(row)
            continue
        rows.append(_feed_row(key, spec, states.get(key)))
    return FeedHealth(rows=rows, removed=len(set(states) - set(feeds)))


def read_feed_health(settings: Settings, *, timeout_seconds: float = 15.0) -> FeedHealth:
    """Read ``newsradar.feeds`` and ``newsradar.feed-state`` and build the rows.

    :class:`KafkaUnavailableError` (one line naming the bootstrap servers and the fix) when
    the cluster does not answer or a topic is missing."""
    from newsradar.broker import require_running

    servers = ",".join(settings.bootstrap_servers)
    try:
        require_running(settings)  # fails at once when the local broker plainly is not up
        feeds = read_table(settings, settings.topics.feeds.name, timeout_seconds=timeout_seconds)
        states = read_table(
            settings, settings.topics.feed_state.name, timeout_seconds=timeout_seconds
        )
    except KafkaUnavailableError as exc:
        reason = str(exc) if servers in str(exc) else f"Kafka at {servers}: {exc}"
        raise KafkaUnavailableError(f"feed health not read: {reason}") from None
    return health_of_tables(feeds, states)
