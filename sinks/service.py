"""The sinks service: every sink reads ``newsradar.alerts`` in its own consumer group.

For each sink a thread polls a batch, decodes it (a malformed record goes to the dead-letter
topic with stage ``sinks`` and a reason), hands the alerts to the sink and commits the offsets
only after the sink accepted them. A sink that fails is retried with exponential backoff (up
to ``sinks.retry_max_seconds``) while its alerts wait in Kafka; the other sinks go on.

No record can stall or stop a sink: one it refuses for good (:class:`PermanentSinkError`), or
one on which it fails in a way it did not foresee, is found by writing the batch one alert at
a time and dead-lettered, with the sink's name in the one-line reason; the sink goes on with
the next. A runner that stops all the same ends the service (non-zero exit), so its
supervisor restarts it from the last committed offsets.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError

from newsradar import kafka_compat  # noqa: F401  (closes sockets of failed connects)
from newsradar.errors import NewsradarError
from newsradar.schemas import Alert, DeadLetter, decode, encode
from newsradar.settings import Settings
from sinks import metrics
from sinks.base import Sink
from sinks.email import EmailSink
from sinks.errors import PermanentSinkError, SinkError, UnexpectedSinkError
from sinks.jsonl import JsonlSink
from sinks.postgres import PostgresSink
from sinks.sqlite import SqliteSink
from sinks.webhook import WebhookSink

log = logging.getLogger("newsradar.sinks")
STAGE = "sinks"
FLUSH_EVERY_SECONDS = 5.0
REASON_MAX_CHARS = 500


def configured_sinks(settings: Settings) -> list[Sink]:
    sinks: list[Sink] = []
    if settings.sinks.sqlite.enabled:
        sinks.append(SqliteSink(settings.alerts_db))
    if settings.sinks.postgres.enabled:
        sinks.append(PostgresSink(settings.sinks.postgres))
    if settings.sinks.jsonl.enabled:
        sinks.append(JsonlSink(settings.sinks.jsonl, settings.data_dir / "alerts.jsonl"))
    sinks.extend(EmailSink(mail, settings.data_dir / "sinks") for mail in settings.sinks.emails)
    sinks.extend(WebhookSink(hook, settings.data_dir / "sinks") for hook in settings.sinks.webhooks)
    if settings.sinks.apprise:
        from sinks.apprise import AppriseSink  # loads Apprise's 100+ services: only when used

        sinks.extend(AppriseSink(c, settings.data_dir / "sinks") for c in settings.sinks.apprise)
    return sinks


class SinkRunner:
    """Feeds one sink from Kafka; at-least-once, commits only what the sink accepted."""

    def __init__(self, settings: Settings, sink: Sink, stop: threading.Event) -> None:
        self.settings = settings
        self.sink = sink
        self.stop = stop
        self.group = f"{settings.sinks.group_prefix}-{sink.name}"
        self._producer: Any = None
        self._next_flush = 0.0
        self._flush_backoff = 1.0
        # Exported from the start (at 0), so a sink shows in the metrics before its first
        # failure, and NewsradarMetricsAbsent can tell a missing sinks service.
        metrics.FAILURES.labels(sink.name)

    def _consumer(self) -> Any:
        return KafkaConsumer(
            self.settings.topics.alerts.name,
            bootstrap_servers=self.settings.bootstrap_servers,
            group_id=self.group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self.settings.sinks.batch_size,
            # A drained partition is fetched again only when the fetch in flight returns:
            # keep that short, or idle partitions add up to this much to an alert's latency.
            fetch_max_wait_ms=100,
            **self.settings.kafka.client_options(),
        )

    def dead_letter(self, message: Any, error: BaseException) -> None:
        record = DeadLetter.for_message(message, stage=STAGE, error=error)
        reason = " ".join(record.reason.split())
        if not reason.startswith(f"{self.sink.name}:"):
            reason = f"{self.sink.name}: {reason}"
        if len(reason) > REASON_MAX_CHARS:
            reason = reason[: REASON_MAX_CHARS - 1] + "…"
        record = record.model_copy(update={"reason": reason})
        if self._producer is None:
            self._producer = KafkaProducer(
                bootstrap_servers=self.settings.bootstrap_servers,
                acks="all",
                **self.settings.kafka.client_options(),
            )
        self._producer.send(
            self.settings.topics.deadletter.name, key=message.key, value=encode(record)
        ).get(timeout=30)
        metrics.DEADLETTERS.labels(self.sink.name, record.error_type).inc()
        log.warning(
            "Alert dead-lettered. sink=%s topic=%s partition=%s offset=%s error_type=%s reason=%s",
            self.sink.name, message.topic, message.partition, message.offset,
            record.error_type, record.reason,
        )  # fmt: skip

    def _write(self, alerts: list[tuple[Any, Alert]]) -> list[tuple[Any, Alert]] | None:
        """Write until the sink accepts; the alerts it accepted, or None if stopped first.

        A transient failure is retried with backoff. An alert the sink refuses for good, or
        fails on unexpectedly, is found by writing one at a time, and dead-lettered.
        """
        backoff = 1.0
        while not self.stop.is_set():
            try:
                self.sink.write([a for _, a in alerts])
                return alerts
            except PermanentSinkError as exc:
                return self._one_at_a_time(alerts, exc)
            except SinkError as exc:
                wait = max(backoff, getattr(exc, "retry_after", None) or 0.0)
                metrics.FAILURES.labels(self.sink.name).inc()
                metrics.HEALTHY.labels(self.sink.name).set(0)
                log.warning(
                    "Sink write failed; retrying. sink=%s error=%s retry_in_seconds=%.0f",
                    self.sink.name, exc, wait,
                )  # fmt: skip
                backoff = self._pause(wait, backoff)
            except Exception as exc:  # a bug an alert sets off: isolate that alert
                if len(alerts) == 1:
                    log.exception(
                        "Sink failed unexpectedly on an alert. sink=%s topic=%s partition=%s "
                        "offset=%s",
                        self.sink.name, alerts[0][0].topic, alerts[0][0].partition,
                        alerts[0][0].offset,
                    )  # fmt: skip
                problem = UnexpectedSinkError(
                    f"{self.sink.name}: unexpected {type(exc).__name__} writing this alert: {exc}"
                )
                return self._one_at_a_time(alerts, problem)
        return None

    def _one_at_a_time(
        self, alerts: list[tuple[Any, Alert]], error: PermanentSinkError
    ) -> list[tuple[Any, Alert]] | None:
        """After the batch failed for good with ``error``: a single alert is dead-lettered;
        a larger batch is written alert by alert, so only the bad ones are."""
        if len(alerts) == 1:
            self.dead_letter(alerts[0][0], error)
            return []
        accepted: list[tuple[Any, Alert]] = []
        for pair in alerts:
            one = self._write([pair])
            if one is None:
                return None
            accepted.extend(one)
        return accepted

    def _pause(self, wait: float, backoff: float) -> float:
        """Wait ``wait`` seconds (less if stopped); the next backoff, doubled up to the cap."""
        self.stop.wait(wait)
        return min(backoff * 2, self.settings.sinks.retry_max_seconds)

    def deliver(self, messages: Sequence[Any]) -> bool:
        """Hand a polled batch to the sink, retrying until it accepts; False if stopped first."""
        alerts: list[tuple[Any, Alert]] = []
        for message in messages:
            try:
                alerts.append((message, decode(Alert, message.value)))
            except Exception as exc:  # SchemaError, or anything else a bad record sets off
                self.dead_letter(message, exc)
        if alerts:
            accepted = self._write(alerts)
            if accepted is None:
                return False
            alerts = accepted
        now = time.time()
        for message, alert in alerts:
            metrics.DELIVERED.labels(self.sink.name, alert.rule_id).inc()
            # From the article's arrival in Kafka; alerts of older processors lack it, so
            # from the alert's own arrival there.
            if alert.article_enqueued_at is not None:
                since = alert.article_enqueued_at.timestamp()
            elif message.timestamp:
                since = message.timestamp / 1000
            else:
                continue
            metrics.LATENCY.labels(self.sink.name).observe(max(0.0, now - since))
        metrics.HEALTHY.labels(self.sink.name).set(1)
        return True

    def run(self) -> None:
        backoff = 1.0
        while not self.stop.is_set():
            try:
                self._run()
                return
            except KafkaError as exc:
                # Kafka went away (a broker restart, a lost coordinator): nothing was committed
                # past what the sink accepted, so a fresh consumer resumes where this one was.
                log.warning(
                    "Kafka unavailable; reconnecting. sink=%s error=%s retry_in_seconds=%.0f",
                    self.sink.name, exc, backoff,
                )  # fmt: skip
                backoff = self._pause(backoff, backoff)
            except Exception:  # the service restarts; the alerts wait in Kafka
                log.exception("Sink runner stopped unexpectedly. sink=%s", self.sink.name)
                raise

    def _run(self) -> None:
        consumer = self._consumer()
        last_lag = 0.0
        try:
            while not self.stop.is_set():
                batches = consumer.poll(timeout_ms=1000, max_records=self.settings.sinks.batch_size)
                messages = [m for batch in batches.values() for m in batch]
                if messages:
                    if not self.deliver(messages):
                        break  # stopped while the sink was failing: do not commit
                    consumer.commit()
                self._flush()
                if time.monotonic() - last_lag > 10:
                    self._report_lag(consumer)
                    last_lag = time.monotonic()
        finally:
            consumer.close(autocommit=False)
            if self._producer is not None:
                self._producer.close(timeout=5)
                self._producer = None

    def _flush(self) -> None:
        """Send what is due (digests); on failure wait longer before the next try."""
        if time.monotonic() < self._next_flush:
            return
        try:
            self.sink.flush()
        except Exception as exc:  # a digest is no record to dead-letter: it stays held
            if not isinstance(exc, SinkError):
                log.exception("Digest failed unexpectedly. sink=%s", self.sink.name)
            metrics.FAILURES.labels(self.sink.name).inc()
            most = self.settings.sinks.retry_max_seconds
            self._flush_backoff = min(self._flush_backoff * 2, most)
            log.warning(
                "Digest not sent; it stays held. sink=%s error=%s retry_in_seconds=%.0f",
                self.sink.name, exc, self._flush_backoff,
            )  # fmt: skip
            self._next_flush = time.monotonic() + self._flush_backoff
            return
        self._flush_backoff = 1.0
        self._next_flush = time.monotonic() + FLUSH_EVERY_SECONDS

    def _report_lag(self, consumer: Any) -> None:
        try:
            assigned: set[TopicPartition] = consumer.assignment()
            if not assigned:
                return
            ends = consumer.end_offsets(list(assigned))
            lag = sum(max(0, ends[tp] - consumer.position(tp)) for tp in assigned)
            metrics.LAG.labels(self.sink.name).set(lag)
        except KafkaError as exc:
            log.debug("Lag not measured. sink=%s error=%s", self.sink.name, exc)


def run_sinks(settings: Settings, sinks: Sequence[Sink], stop: threading.Event) -> None:
    """Run a thread per sink until ``stop`` is set; raise if a runner stopped by itself."""
    threads = []
    for sink in sinks:
        runner = SinkRunner(settings, sink, stop)
        thread = threading.Thread(target=runner.run, name=f"sink-{sink.name}", daemon=True)
        thread.start()
        threads.append(thread)
    while not stop.is_set() and all(t.is_alive() for t in threads):
        stop.wait(1)
    dead = [t.name for t in threads if not t.is_alive()] if not stop.is_set() else []
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    if dead:
        raise NewsradarError(
            f"{', '.join(dead)} stopped unexpectedly (see the log above); restart the sinks: "
            "they resume from the last committed offsets, nothing is lost"
        )
