"""The sink runner's delivery rules, with a scripted sink (Kafka is in tests/integration)."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import REGISTRY

from newsradar.schemas import Alert, alert_id, encode
from newsradar.settings import load_settings
from sinks.base import Health, Sink
from sinks.errors import PermanentSinkError, TransientSinkError
from sinks.service import SinkRunner

NOW = datetime(2026, 11, 29, tzinfo=UTC)


@dataclass
class Message:
    value: bytes
    key: bytes = b"k"
    topic: str = "newsradar.alerts"
    partition: int = 0
    offset: int = 0
    timestamp: int = 0


class ScriptedSink(Sink):
    name = "scripted"

    def __init__(self, transient_failures: int = 0, refuse: str = "") -> None:
        self.transient_failures = transient_failures
        self.refuse = refuse
        self.rows: dict[str, Alert] = {}

    def setup(self) -> None: ...

    def write(self, batch: Sequence[Alert]) -> None:
        if self.transient_failures:
            self.transient_failures -= 1
            raise TransientSinkError("database is locked")
        if any(a.article_id == self.refuse for a in batch):
            raise PermanentSinkError("HTTP 422: rejected")
        self.rows.update({a.id: a for a in batch})

    def healthcheck(self) -> Health:
        return Health(True, "ok")

    def close(self) -> None: ...


class Runner(SinkRunner):
    def __init__(self, sink: Sink) -> None:
        settings = load_settings(None, env={"NEWSRADAR_SINKS__RETRY_MAX_SECONDS": "0.01"})
        super().__init__(settings, sink, threading.Event())
        self.dead: list[tuple[bytes, str]] = []

    def dead_letter(self, message: Any, error: BaseException) -> None:
        self.dead.append((message.value, str(error)))


def msg(article: str) -> Message:
    a = Alert(id=alert_id("r", article), rule_id="r", article_id=article, article_published=NOW)
    return Message(encode(a))


def test_transient_failures_are_retried_until_accepted() -> None:
    sink = ScriptedSink(transient_failures=2)
    runner = Runner(sink)
    assert runner.deliver([msg("a"), msg("b")])
    assert sorted(a.article_id for a in sink.rows.values()) == ["a", "b"]
    assert runner.dead == []


def test_a_refused_alert_is_dead_lettered_and_the_rest_delivered() -> None:
    sink = ScriptedSink(refuse="b")
    runner = Runner(sink)
    bad = msg("b")
    assert runner.deliver([msg("a"), bad, msg("c"), Message(b"not json")])
    assert sorted(a.article_id for a in sink.rows.values()) == ["a", "c"]
    assert [v for v, _ in runner.dead] == [b"not json", bad.value]
    assert runner.dead[1][1] == "HTTP 422: rejected"


def test_stopping_while_the_sink_fails_reports_not_delivered() -> None:
    sink = ScriptedSink(transient_failures=10**6)
    runner = Runner(sink)
    threading.Timer(0.2, runner.stop.set).start()
    assert not runner.deliver([msg("a")])  # the caller then does not commit the offsets
    assert sink.rows == {}


def test_delivery_latency_runs_from_the_article_reaching_kafka() -> None:
    sink = ScriptedSink()
    sink.name = "latency-check"
    runner = Runner(sink)
    enqueued = datetime.now(UTC) - timedelta(seconds=40)
    alert = Alert(
        id=alert_id("r", "late"),
        rule_id="r",
        article_id="late",
        article_published=NOW,
        article_enqueued_at=enqueued,
    )
    # The alert itself reached Kafka just now; the latency counts from the article.
    assert runner.deliver([Message(encode(alert), timestamp=int(time.time() * 1000))])
    labels = {"sink": "latency-check"}
    total = REGISTRY.get_sample_value("newsradar_delivery_latency_seconds_sum", labels)
    assert total is not None
    assert 40 <= total < 100
    under_30s = {"sink": "latency-check", "le": "30.0"}
    assert REGISTRY.get_sample_value("newsradar_delivery_latency_seconds_bucket", under_30s) == 0


def test_kafka_going_away_reconnects_instead_of_ending_the_runner() -> None:
    from kafka.errors import KafkaConnectionError

    class Consumer:
        def __init__(self, runner: Runner) -> None:
            self.runner = runner

        def poll(self, **_: Any) -> dict[Any, Any]:
            self.runner.stop.set()  # one quiet poll on the new consumer, then stop
            return {}

        def assignment(self) -> set[Any]:
            return set()

        def close(self, **_: Any) -> None: ...

    class Flaky(Runner):
        attempts = 0

        def _consumer(self) -> Any:
            self.attempts += 1
            if self.attempts == 1:
                raise KafkaConnectionError("111 ECONNREFUSED")
            return Consumer(self)

    runner = Flaky(ScriptedSink())
    runner.run()  # returns: no exception escaped
    assert runner.attempts == 2
