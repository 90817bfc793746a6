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
    servers = ",".join(settings.bootstrap_servers)
    table: dict[str, bytes] = {}
    try:
        consumer = KafkaConsumer(
            bootstrap_servers=settings.bootstrap_servers,
            group_id=None,
            enable_auto_commit=False,
            bootstrap_timeout_ms=int(timeout_seconds * 1000),
            **settings.kafka.client_options(),
        )
    except KafkaError as exc:
        raise unavailable(settings, exc) from None
    try:
        known = consumer.partitions_for_topic(topic)
        if not known:
            raise KafkaUnavailableError(
                f"topic {topic} does not exist on {servers}; create it with "
                "`newsradar topics create`"
            )
        wanted = [
            TopicPartition(topic, p) for p in sorted(known) if partitions is None or p in partitions
        ]
        if not wanted:
            return table
        consumer.assign(wanted)
        consumer.seek_to_beginning(*wanted)
        ends: dict[Any, int] = consumer.end_offsets(wanted)
        deadline = time.monotonic() + timeout_seconds
        pending = {tp for tp in wanted if ends[tp] > 0}
        while pending:
            if time.monotonic() > deadline:
                raise KafkaUnavailableError(
                    f"topic {topic} on {servers} was not read to its end within "
                    f"{timeout_seconds:g}s"
                )
            for batch in consumer.poll(timeout_ms=500).values():
                for message in batch:
                    if message.key is None:
                        continue
                    key = message.key.decode("utf-8", "replace")
                    if message.value is None:
                        table.pop(key, None)
                    else:
                        table[key] = message.value
            pending = {tp for tp in pending if consumer.position(tp) < ends[tp]}
    except KafkaError as exc:
        raise KafkaUnavailableError(
            f"could not read topic {topic} on {servers}: {type(exc).__name__}: {exc}"
        ) from None
    finally:
        consumer.close()
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
