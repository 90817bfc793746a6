"""Publish articles to Kafka with kafka-python: key = article id, acks=all, idempotent, gzip.

:meth:`Publisher.publish` returns only what the broker acknowledged; the caller keeps the rest
pending and tries again later, so a broker outage delays articles but loses none.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError

from newsradar.settings import Settings
from producers.state import Pending

log = logging.getLogger("newsradar.producers")


class Publisher:
    def __init__(self, settings: Settings, *, timeout_seconds: float = 30.0) -> None:
        self._settings = settings
        self._timeout = timeout_seconds
        self._producer: Any = None
        self.topic = settings.topics.articles.name

    def _connect(self) -> Any:
        if self._producer is None:
            self._producer = KafkaProducer(
                bootstrap_servers=self._settings.bootstrap_servers,
                acks="all",
                enable_idempotence=True,
                compression_type="gzip",
                linger_ms=20,
                bootstrap_timeout_ms=int(self._timeout * 1000),
                **self._settings.kafka.client_options(),
            )
        return self._producer

    def publish(self, items: Sequence[Pending]) -> tuple[list[Pending], str]:
        """Send ``items``; return those Kafka acknowledged, and an error text if any failed."""
        if not items:
            return [], ""
        try:
            producer = self._connect()
            futures = [
                (item, producer.send(self.topic, key=item.id.encode(), value=item.record))
                for item in items
            ]
            producer.flush(timeout=self._timeout)
        except KafkaError as exc:
            self._reset()
            return [], f"{type(exc).__name__}: {exc}"
        done: list[Pending] = []
        error = ""
        for item, future in futures:
            try:
                future.get(timeout=0)
                done.append(item)
            except KafkaError as exc:
                error = f"{type(exc).__name__}: {exc}"
        if error:
            self._reset()
        return done, error

    def _reset(self) -> None:
        if self._producer is not None:
            with contextlib.suppress(KafkaError):
                self._producer.close(timeout=5)
            self._producer = None

    def close(self) -> None:
        if self._producer is not None:
            self._producer.flush(timeout=self._timeout)
        self._reset()
