"""Publish articles to Kafka with kafka-python: key = article id, acks=all, idempotent, gzip.

:meth:`Publisher.publish` returns only what the broker acknowledged; the caller keeps the rest
pending and offers them again later, so a broker outage delays articles but loses none.

One producer lives as long as the service. A record handed to it stays "in flight" until its
future resolves: while the broker is away the producer keeps retrying it (idempotently, so a
retry after a lost acknowledgement is not written twice), and ``publish`` does not hand the
same article over a second time. Only a record whose delivery failed for good (its future
failed, e.g. after ``delivery_timeout_ms``) is offered again; that is where at-least-once can
repeat an article, and why every sink writes idempotently.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError

from newsradar import kafka_compat  # noqa: F401  (closes sockets of failed connects)
from newsradar.settings import Settings
from producers.state import Pending

log = logging.getLogger("newsradar.producers")


class Publisher:
    def __init__(self, settings: Settings, *, timeout_seconds: float = 10.0) -> None:
        self._settings = settings
        self._timeout = timeout_seconds
        self._producer: Any = None
        self._in_flight: dict[str, Any] = {}
        self.topic = settings.topics.articles.name

    def _connect(self) -> Any:
        if self._producer is None:
            self._producer = KafkaProducer(
                bootstrap_servers=self._settings.bootstrap_servers,
                acks="all",
                enable_idempotence=True,
                compression_type="gzip",
                linger_ms=20,
                # While the broker is away, send() must give up (the article stays pending)
                # rather than block the service for kafka-python's default minute.
                max_block_ms=int(self._timeout * 1000),
                bootstrap_timeout_ms=int(self._timeout * 1000),
                **self._settings.kafka.client_options(),
            )
        return self._producer

    def publish(self, items: Sequence[Pending]) -> tuple[list[Pending], str]:
        """Hand ``items`` to Kafka; return those acknowledged so far, and the last error."""
        if not items:
            return [], ""
        error = ""
        try:
            producer = self._connect()
        except KafkaError as exc:
            return [], f"{type(exc).__name__}: {exc}"
        for item in items:
            if item.id in self._in_flight:
                continue
            try:
                self._in_flight[item.id] = producer.send(
                    self.topic, key=item.id.encode(), value=item.record
                )
            except KafkaError as exc:  # no metadata within max_block_ms: broker away
                error = f"{type(exc).__name__}: {exc}"
                break
        try:
            producer.flush(timeout=self._timeout)
        except KafkaError as exc:
            error = f"{type(exc).__name__}: {exc}"
        done: list[Pending] = []
        for item in items:
            future = self._in_flight.get(item.id)
            if future is None or not future.is_done:
                continue  # not handed over, or still being retried by the producer
            del self._in_flight[item.id]
            if future.succeeded():
                done.append(item)
            else:
                error = f"{type(future.exception).__name__}: {future.exception}"
        return done, error

    def close(self) -> None:
        if self._producer is not None:
            try:
                self._producer.close(timeout=self._timeout)
            except KafkaError as exc:
                log.warning("Kafka producer did not close cleanly. error=%s", exc)
            self._producer = None
