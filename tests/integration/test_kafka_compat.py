"""kafka-python 3.0.12 with newsradar's join fix (``newsradar.kafka_compat``), on the real
broker: a group member whose polls time out while its group rebalances is still assigned its
partitions. Without the fix the member below ends with no partitions and no heartbeats."""

from __future__ import annotations

import time
from typing import Any

from kafka import ConsumerRebalanceListener, KafkaAdminClient, KafkaConsumer
from kafka.admin import NewPartitions, NewTopic

from newsradar import kafka_compat
from tests.integration.conftest import KafkaEnv


class _Held(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self) -> None:
        self.partitions: set[int] = set()

    def on_partitions_revoked(self, revoked: Any) -> None:
        self.partitions -= {tp.partition for tp in revoked}

    def on_partitions_assigned(self, assigned: Any) -> None:
        self.partitions |= {tp.partition for tp in assigned}


def _member(kafka: KafkaEnv, topic: str) -> tuple[Any, _Held]:
    held = _Held()
    consumer = KafkaConsumer(
        bootstrap_servers=kafka.bootstrap,
        group_id=f"join-{topic}",
        enable_auto_commit=False,
        session_timeout_ms=10_000,
        heartbeat_interval_ms=1_000,
        metadata_max_age_ms=500,
    )
    consumer.subscribe([topic], listener=held)
    return consumer, held


def _poll_until(consumer: Any, held: _Held, want: set[int], timeout_ms: int) -> set[int]:
    deadline = time.monotonic() + 30
    while held.partitions != want and time.monotonic() < deadline:
        consumer.poll(timeout_ms=timeout_ms)
    return held.partitions


def test_a_member_polling_with_short_timeouts_joins_and_takes_partitions_added_later(
    kafka: KafkaEnv,
) -> None:
    assert kafka_compat.join_fix_installed()
    topic = f"join-fix-{time.time_ns()}"
    admin = KafkaAdminClient(bootstrap_servers=kafka.bootstrap)
    try:
        admin.create_topics([NewTopic(topic, 1, 1)])
        consumer, held = _member(kafka, topic)
        try:
            # 5 ms polls: every join round outlives the poll that started it.
            assert _poll_until(consumer, held, {0}, timeout_ms=5) == {0}
            # New partitions make the leader (this member) rejoin; the round that assigns
            # them is again collected by a later poll.
            admin.create_partitions({topic: NewPartitions(4)})
            assert _poll_until(consumer, held, {0, 1, 2, 3}, timeout_ms=5) == {0, 1, 2, 3}
        finally:
            consumer.close()
    finally:
        admin.close()
