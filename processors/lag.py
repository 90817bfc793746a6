"""A worker's consumer lag on ``newsradar.articles``, per partition, from its own consumer.

Every LAG_EVERY_SECONDS the worker asks Kafka for the high-water offset of each partition it
holds and sets, per partition, ``newsradar_processor_lag_records`` (high-water minus the offset
it committed) and ``newsradar_processor_committed_offset``. Measured from the broker, not from
what the worker processed, so the lag grows while a stuck worker processes nothing; the
committed offset then stands still, which is what ``NewsradarProcessorStuck`` looks for. A
worker whose event loop itself is stuck stops measuring: ``newsradar_processor_lag_measured_
timestamp_seconds`` goes stale. Partitions the worker no longer holds (a rebalance gave them to
another worker) are removed from the metrics, so two workers never report one partition.
"""

from __future__ import annotations

from typing import Any

from processors import metrics

LAG_EVERY_SECONDS = 10.0


class LagReporter:
    def __init__(self, topic: str) -> None:
        self.topic = topic
        self.reported: set[int] = set()

    async def report(self, consumer: Any) -> dict[int, int]:
        """Measure and export the lag of every partition of the topic ``consumer`` (faust's
        consumer) holds; the lag by partition."""
        held = [tp for tp in consumer.assignment() if tp.topic == self.topic]
        ends = await consumer.highwaters(*held) if held else {}
        # faust's record of the offset it committed per partition (read from Kafka when the
        # partition was assigned, then updated on each commit): the next offset to process.
        committed = {tp: consumer._committed_offset.get(tp) for tp in held}
        never = [tp for tp, offset in committed.items() if offset is None]
        # A partition this group never committed is read from its earliest offset.
        starts = await consumer.earliest_offsets(*never) if never else {}
        lags: dict[int, int] = {}
        for tp in held:
            done = committed[tp]
            if done is None:
                done = starts.get(tp, 0)
            end = ends.get(tp)
            if end is None:
                continue
            lags[tp.partition] = max(0, end - done)
            labels = (self.topic, str(tp.partition))
            metrics.CONSUMER_LAG.labels(*labels).set(lags[tp.partition])
            metrics.COMMITTED.labels(*labels).set(done)
        for gone in self.reported - set(lags):
            metrics.CONSUMER_LAG.remove(self.topic, str(gone))
            metrics.COMMITTED.remove(self.topic, str(gone))
        self.reported = set(lags)
        metrics.LAG_MEASURED.set_to_current_time()
        return lags
