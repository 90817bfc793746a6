"""Compacted topics as tables: read one whole, write changes to it.

A compacted topic (``newsradar.feeds``, ``newsradar.feed-state``) is a table kept by Kafka: the
last record of a key is that key's value, and a tombstone (null value) deletes the key. Reading
it means reading every partition from the beginning up to the end offsets taken at the start,
so the table read is the table as it was when the read began (writes during it may show too).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError

from newsradar import kafka_compat  # noqa: F401  (closes sockets of failed connects)
from newsradar.errors import KafkaUnavailableError
from newsradar.settings import Settings


def unavailable(settings: Settings, exc: Exception) -> KafkaUnavailableError:
    """The error for a cluster that did not answer a client of these topics."""
    return KafkaUnavailableError(
        f"Kafka at {','.join(settings.bootstrap_servers)} did not answer "
        f"({type(exc).__name__}); start the local broker with `newsradar broker start` "
        "or check kafka.bootstrap"
    )


class TopicReader:
    """Reads ``topic`` (``partitions`` of it only, if given) from its beginning, without a
    consumer group, so every reader sees every record: up to the end it has now
    (:meth:`catch_up`), then what arrives (:meth:`poll`).

    :class:`KafkaUnavailableError` if the cluster does not answer, the topic does not exist or
    is not read to its end within the timeout."""

    def __init__(
        self,
        settings: Settings,
        topic: str,
        *,
        partitions: set[int] | None = None,
        timeout_seconds: float = 30.0,
    ) -> None:
        self.topic = topic
        self._servers = ",".join(settings.bootstrap_servers)
        try:
            self.consumer: Any = KafkaConsumer(
                bootstrap_servers=settings.bootstrap_servers,
                group_id=None,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                bootstrap_timeout_ms=int(timeout_seconds * 1000),
                **settings.kafka.client_options(),
            )
        except KafkaError as exc:
            raise unavailable(settings, exc) from None
        try:
            known = self.consumer.partitions_for_topic(topic)
            if not known:
                raise KafkaUnavailableError(
                    f"topic {topic} does not exist on {self._servers}; create it with "
                    "`newsradar topics create`"
                )
            self.partitions = [
                TopicPartition(topic, p)
                for p in sorted(known)
                if partitions is None or p in partitions
            ]
            if self.partitions:
                self.consumer.assign(self.partitions)
                self.consumer.seek_to_beginning(*self.partitions)
        except KafkaError as exc:
            self.consumer.close()
            raise unavailable(settings, exc) from None
        except BaseException:
            self.consumer.close()
            raise

    def catch_up(self, timeout_seconds: float = 30.0) -> list[Any]:
        """Every record up to the end of the topic as it is now, partition by partition in
        offset order."""
        out: list[Any] = []
        if not self.partitions:
            return out
        try:
            ends: dict[Any, int] = self.consumer.end_offsets(self.partitions)
            deadline = time.monotonic() + timeout_seconds
            while any(self.consumer.position(tp) < ends[tp] for tp in self.partitions):
                if time.monotonic() > deadline:
                    raise KafkaUnavailableError(
                        f"topic {self.topic} on {self._servers} was not read to its end "
                        f"within {timeout_seconds:g}s"
                    )
                out.extend(self.poll(0.5))
        except KafkaError as exc:
            raise KafkaUnavailableError(
                f"could not read topic {self.topic} on {self._servers}: {type(exc).__name__}: {exc}"
            ) from None
        return out

    def poll(self, timeout_seconds: float) -> list[Any]:
        """The records that arrived since the last call (may be none)."""
        if not self.partitions:
            return []
        batches = self.consumer.poll(timeout_ms=int(timeout_seconds * 1000))
        return [m for tp in sorted(batches, key=lambda t: t.partition) for m in batches[tp]]

    def close(self) -> None:
        self.consumer.close()

    def __enter__(self) -> TopicReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_table(
    settings: Settings,
    topic: str,
    *,
    partitions: set[int] | None = None,
    timeout_seconds: float = 30.0,
) -> dict[str, bytes]:
    """Every live key of ``topic`` (of ``partitions`` only, if given) and its last value.

    :class:`KafkaUnavailableError` if the cluster does not answer or the topic is not read to
    its end within ``timeout_seconds``."""
    table: dict[str, bytes] = {}
    with TopicReader(
        settings, topic, partitions=partitions, timeout_seconds=timeout_seconds
    ) as reader:
        for message in reader.catch_up(timeout_seconds):
            if message.key is None:
                continue
            key = message.key.decode("utf-8", "replace")
            if message.value is None:
                table.pop(key, None)
            else:
                table[key] = message.value
    return table


def write_table(
    settings: Settings,
    topic: str,
    changes: Mapping[str, bytes | None],
    *,
    timeout_seconds: float = 30.0,
) -> None:
    """Write ``changes`` (key: value, or None for a tombstone) and wait until every one is
    acknowledged by all in-sync replicas; :class:`KafkaUnavailableError` if any is not."""
    if not changes:
        return
    servers = ",".join(settings.bootstrap_servers)
    try:
        producer = KafkaProducer(
            bootstrap_servers=settings.bootstrap_servers,
            acks="all",
            enable_idempotence=True,
            max_block_ms=int(timeout_seconds * 1000),
            bootstrap_timeout_ms=int(timeout_seconds * 1000),
            **settings.kafka.client_options(),
        )
    except KafkaError as exc:
        raise unavailable(settings, exc) from None
    try:
        futures = [
            producer.send(topic, key=key.encode(), value=value) for key, value in changes.items()
        ]
        producer.flush(timeout=timeout_seconds)
        for future in futures:
            future.get(timeout=timeout_seconds)
    except KafkaError as exc:
        raise KafkaUnavailableError(
            f"could not write to topic {topic} on {servers}: {type(exc).__name__}: {exc}"
        ) from None
    finally:
        producer.close(timeout=timeout_seconds)
