"""Backfill: run rules over the articles Kafka still retains for a time range.

"What would this rule have caught last week?" The articles are read straight from
``newsradar.articles`` by record time (``offsets_for_times`` per partition, no consumer group,
nothing committed), classified with the given rules, and the alerts written to a separate file,
so live alerts, offsets and sinks are untouched. Malformed records are counted and skipped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from pydantic import ValidationError

from newsradar import kafka_compat  # noqa: F401  (closes sockets of failed connects)
from newsradar.errors import KafkaUnavailableError, SchemaError
from newsradar.schemas import Alert, Article, decode
from newsradar.settings import Settings
from processors.classify import ArticleText, Engine

Record = tuple[int, bytes]
"""A Kafka record as backfill needs it: timestamp (ms) and value."""


@dataclass
class Summary:
    articles: int = 0
    alerts: int = 0
    malformed: int = 0
    by: dict[str, Counter[str]] = field(default_factory=dict)
    """``day``/``source``/``language`` -> value -> articles, and the same with ``:alerts``."""

    def count(self, dimension: str, value: str, alerts: int) -> None:
        self.by.setdefault(dimension, Counter())[value] += 1
        self.by.setdefault(f"{dimension}:alerts", Counter())[value] += alerts

    def table(self, dimension: str) -> list[tuple[str, int, int]]:
        """(value, articles, alerts) rows, sorted by value."""
        articles = self.by.get(dimension, Counter())
        alerts = self.by.get(f"{dimension}:alerts", Counter())
        return [(v, articles[v], alerts[v]) for v in sorted(articles)]


def source_of(article: Article) -> str:
    return urlsplit(article.feed).netloc or article.feed or "(unknown)"


def run_rules(engine: Engine, records: Iterable[Record], emit: Callable[[Alert], None]) -> Summary:
    """Classify every record; alerts go to ``emit``; the summary counts by day, source and
    language (the day of the record's time in Kafka, UTC)."""
    summary = Summary()
    for timestamp, value in records:
        try:
            article = decode(Article, value)
        except SchemaError:
            summary.malformed += 1
            continue
        enqueued = datetime.fromtimestamp(timestamp / 1000, UTC)
        try:
            raised = engine.alerts(article, engine.classify(ArticleText.of(article)), enqueued)
        except ValidationError:
            # An article older than the producers' cleaning (a NUL in its title) makes an
            # alert no store can keep: counted with the malformed, as the live stage
            # dead-letters it.
            summary.malformed += 1
            continue
        for alert in raised:
            emit(alert)
        summary.articles += 1
        summary.alerts += len(raised)
        summary.count("day", f"{enqueued:%Y-%m-%d}", len(raised))
        summary.count("source", source_of(article), len(raised))
        summary.count("language", article.language or "(unknown)", len(raised))
    return summary


class ArticleRange:
    """The records of the articles topic with ``start <= time < end``, partition by partition."""

    def __init__(self, settings: Settings, start: datetime, end: datetime) -> None:
        self.topic = settings.topics.articles.name
        try:
            self.consumer: Any = KafkaConsumer(
                bootstrap_servers=settings.bootstrap_servers,
                group_id=None,
                enable_auto_commit=False,
                **settings.kafka.client_options(),
            )
        except KafkaError as exc:
            raise KafkaUnavailableError(
                f"Kafka at {','.join(settings.bootstrap_servers)} did not answer "
                f"({type(exc).__name__}); start it (`newsradar broker start`) "
                "or check kafka.bootstrap"
            ) from None
        parts = self.consumer.partitions_for_topic(self.topic) or set()
        self.partitions = [TopicPartition(self.topic, p) for p in sorted(parts)]
        self.bounds: dict[TopicPartition, tuple[int, int]] = {}
        if self.partitions:
            self._bound(start, end)

    def _bound(self, start: datetime, end: datetime) -> None:
        first = self.consumer.beginning_offsets(self.partitions)
        last = self.consumer.end_offsets(self.partitions)
        since = self.consumer.offsets_for_times(
            {tp: int(start.timestamp() * 1000) for tp in self.partitions}
        )
        until = self.consumer.offsets_for_times(
            {tp: int(end.timestamp() * 1000) for tp in self.partitions}
        )
        for tp in self.partitions:
            lo = since[tp].offset if since.get(tp) else last[tp]
            hi = until[tp].offset if until.get(tp) else last[tp]
            lo = max(lo, first[tp])
            if hi > lo:
                self.bounds[tp] = (lo, hi)

    @property
    def total(self) -> int:
        return sum(hi - lo for lo, hi in self.bounds.values())

    def records(self, progress: Callable[[int], None] = lambda _n: None) -> Iterator[Record]:
        if not self.bounds:
            return
        self.consumer.assign(list(self.bounds))
        for tp, (lo, _) in self.bounds.items():
            self.consumer.seek(tp, lo)
        remaining = dict(self.bounds)
        while remaining:
            batches = self.consumer.poll(timeout_ms=1000, max_records=2000)
            for tp, messages in batches.items():
                if tp not in remaining:
                    continue
                hi = remaining[tp][1]
                for message in messages:
                    if message.offset >= hi:
                        break
                    yield message.timestamp, message.value
                progress(sum(1 for m in messages if m.offset < hi))
                if self.consumer.position(tp) >= hi:
                    del remaining[tp]
                    self.consumer.pause(tp)
            for tp in list(remaining):  # compacted or deleted away under us
                if self.consumer.position(tp) >= remaining[tp][1]:
                    del remaining[tp]

    def close(self) -> None:
        self.consumer.close()
