"""Poison alert records never stall or loop a sink.

A record the sinks cannot take (an id with CR/LF, NUL in a title, a NaN score, a lone surrogate,
JSON nested beyond reason) goes to ``newsradar.deadletter`` with stage ``sinks``, its error type
and a one-line reason, is counted, and every sink goes on with the next record: on the real
Kafka broker, the real PostgreSQL, a real SMTP server and a real HTTP receiver.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from aiosmtpd.controller import Controller
from kafka import KafkaProducer
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from newsradar.schemas import Alert, DeadLetter, alert_id
from newsradar.settings import EmailSinkSettings, PostgresSinkSettings, WebhookSinkSettings
from sinks.base import Health, Sink
from sinks.email import EmailSink
from sinks.errors import PermanentSinkError
from sinks.postgres import PostgresSink
from sinks.sqlite import SqliteSink
from sinks.webhook import WebhookSink
from tests.conftest import free_ports
from tests.feedserver import FeedServer, Reply, feed_server
from tests.integration import conftest as integration
from tests.integration.conftest import KafkaEnv, decoded, service
from tests.unit.sinks.test_service import Message, Runner

# The session's real services (fixtures of tests/integration).
kafka = integration.kafka
postgres = integration.postgres
postgres_server = integration.postgres_server

NOW = datetime(2026, 11, 29, tzinfo=UTC)


def good_alert(article: str) -> Alert:
    return Alert(
        id=alert_id("hostile", article),
        rule_id="hostile",
        article_id=article,
        article_title=f"Iraq and Russia sign a deal ({article})",
        article_url=f"https://e.org/{article}",
        article_published=NOW,
        pairs=("IQ-RU",),
    )


def poisoned(article: str, **changes: object) -> bytes:
    """A good alert's JSON with ``changes`` applied: what a bad producer could write."""
    raw = good_alert(article).model_dump(mode="json")
    raw.update(changes)
    return json.dumps(raw).encode()


class Inbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.content)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    (port,) = free_ports(1)
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
def receiver() -> Iterator[FeedServer]:
    with feed_server() as server:
        server.routes["/hook"] = Reply(204)
        yield server


def wait_for(predicate: Callable[[], bool], seconds: float = 120) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.5)
    return predicate()


def sqlite_ids(db: Path) -> set[str]:
    try:
        with sqlite3.connect(db) as conn:
            return {row[0] for row in conn.execute("SELECT id FROM alerts")}
    except sqlite3.Error:
        return set()


def postgres_ids(dsn: str, ids: Sequence[str]) -> set[str]:
    try:
        with psycopg.connect(dsn) as conn:
            rows = conn.execute("SELECT id FROM alerts WHERE id = ANY(%s)", (list(ids),))
            return {row[0] for row in rows}
    except psycopg.Error:
        return set()


def mailed_ids(inbox: Inbox) -> set[str]:
    import email

    return {
        str(email.message_from_bytes(raw)["X-Newsradar-Alert-Id"])
        for raw in inbox.messages
        if b"X-Newsradar-Alert-Id" in raw
    }


def deadletter_counts(metrics_url: str) -> dict[tuple[str, str], float]:
    try:
        text = httpx.get(metrics_url, timeout=5).text
    except httpx.HTTPError:
        return {}
    counts: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "newsradar_sink_deadletter_total":
                counts[(sample.labels["sink"], sample.labels["error_type"])] = sample.value
    return counts


@pytest.mark.integration
def test_poison_records_are_dead_lettered_and_every_sink_goes_on(
    kafka: KafkaEnv,
    postgres: str,
    smtp: tuple[Inbox, int],
    receiver: FeedServer,
    tmp_path: Path,
) -> None:
    run = time.time_ns()
    inbox, smtp_port = smtp
    (metrics_port,) = free_ports(1)
    topic = f"hostile-alerts-{run}"
    config = tmp_path / "newsradar.toml"
    config.write_text(
        f"""
[topics.alerts]
name = "{topic}"
[sinks]
retry_max_seconds = 1.0
metrics_port = {metrics_port}
[sinks.postgres]
enabled = true
dsn = "{postgres}"
[sinks.jsonl]
enabled = true
[[sinks.emails]]
name = "desk"
host = "127.0.0.1"
port = {smtp_port}
security = "none"
sender = "newsradar@example.org"
recipients = ["desk@example.org"]
[[sinks.webhooks]]
name = "ops"
url = "{receiver.url("/hook")}"
"""
    )
    first, last = good_alert(f"first-{run}"), good_alert(f"last-{run}")
    poison = {
        # key: (record, field the reason must name)
        f"crlf-{run}": (poisoned(f"crlf-{run}", id="abc\r\nBcc: victim@example.org"), "id"),
        f"nul-{run}": (poisoned(f"nul-{run}", article_title="Iraq\x00Russia"), "article_title"),
        f"nan-{run}": (poisoned(f"nan-{run}", score=float("nan")), "score"),
        f"surrogate-{run}": (poisoned(f"surrogate-{run}", article_title="\ud800"), "article_title"),
        f"nested-{run}": (b'{"id": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested"),
    }
    sink_names = ["sqlite", "postgres", "jsonl", "email-desk", "webhook-ops"]
    env = {
        "NEWSRADAR_CONFIG": str(config),
        "NEWSRADAR_DATA_DIR": str(tmp_path / "data"),
        "NEWSRADAR_KAFKA_BOOTSTRAP": kafka.bootstrap,
    }
    good_ids = {first.id, last.id}
    with service(kafka, ["sinks", "run"], tmp_path / "sinks.log", **env) as sinks:
        producer = KafkaProducer(bootstrap_servers=kafka.bootstrap)
        # One partition: every poison record stands between the two good alerts.
        producer.send(topic, key=b"first", value=first.model_dump_json().encode(), partition=0)
        for key, (value, _) in poison.items():
            producer.send(topic, key=key.encode(), value=value, partition=0)
        producer.send(topic, key=b"last", value=last.model_dump_json().encode(), partition=0)
        producer.flush(30)
        producer.close()

        def ours(message: Any) -> DeadLetter | None:
            record = decoded(DeadLetter, message)
            return record if record and record.key in poison else None

        dead = kafka.consume(
            kafka.settings.topics.deadletter.name,
            ours,
            want=len(poison) * len(sink_names),
            timeout_seconds=180,
        )
        assert wait_for(lambda: sqlite_ids(tmp_path / "data" / "alerts.sqlite") >= good_ids)
        assert wait_for(lambda: postgres_ids(postgres, [*good_ids]) == good_ids)
        assert wait_for(lambda: mailed_ids(inbox) >= good_ids)
        assert wait_for(lambda: len(receiver.accepted) >= 2)
        metrics = f"http://127.0.0.1:{metrics_port}/metrics"
        assert wait_for(
            lambda: all(
                deadletter_counts(metrics).get((name, "SchemaError")) == len(poison)
                for name in sink_names
            )
        ), deadletter_counts(metrics)
        assert sinks.poll() is None, "the sinks service died"
    assert len(dead) == len(poison) * len(sink_names)
    for record in dead:
        assert record.stage == "sinks"
        assert record.error_type == "SchemaError"
        assert record.topic == topic
        _, field = poison[str(record.key)]
        assert "\n" not in record.reason
        assert "\r" not in record.reason
        assert len(record.reason) < 600
        assert field in record.reason, record.reason
        assert record.original_value() == poison[str(record.key)][0]
    by_sink = {(r.key, r.reason.split(":")[0]) for r in dead}
    assert by_sink == {(key, name) for key in poison for name in sink_names}
    posted = {json.loads(body)["id"] for _, body in receiver.accepted}
    assert posted == good_ids
    lines = (tmp_path / "data" / "alerts.jsonl").read_text().splitlines()
    assert {json.loads(line)["id"] for line in lines} == good_ids


def constructed(article: str, **changes: Any) -> Alert:
    """An alert that skipped validation, as one read by an older release would be."""
    return good_alert(article).model_copy(update=changes)


@pytest.mark.integration
def test_postgres_refuses_an_alert_it_cannot_store_for_good(postgres: str) -> None:
    sink = PostgresSink(PostgresSinkSettings(enabled=True, dsn=SecretStr(postgres)))
    try:
        sink.setup()
        with pytest.raises(PermanentSinkError, match="postgres: alert cannot be stored"):
            sink.write([constructed("pg-nul", article_title="Iraq\x00Russia")])
        sink.write([good_alert("pg-after-nul")])  # the connection still works
        assert postgres_ids(postgres, [good_alert("pg-after-nul").id])
    finally:
        sink.close()


def test_sqlite_refuses_an_alert_it_cannot_store_for_good(tmp_path: Path) -> None:
    sink = SqliteSink(tmp_path / "alerts.sqlite")
    try:
        with pytest.raises(PermanentSinkError):
            sink.write([constructed("nan", score=float("nan"))])
        with pytest.raises(PermanentSinkError):
            sink.write([constructed("surrogate", article_title="\ud800")])
        with pytest.raises(PermanentSinkError):
            sink.write([constructed("big", rule_version=10**30)])
        sink.write([good_alert("fine")])
        assert sqlite_ids(tmp_path / "alerts.sqlite") == {good_alert("fine").id}
    finally:
        sink.close()


@pytest.mark.integration
def test_email_refuses_an_alert_it_cannot_mail_instead_of_crashing(
    smtp: tuple[Inbox, int], tmp_path: Path
) -> None:
    inbox, port = smtp
    config = EmailSinkSettings(
        name="desk",
        host="127.0.0.1",
        port=port,
        security="none",
        sender="newsradar@example.org",
        recipients=("desk@example.org",),
    )
    sink = EmailSink(config, tmp_path)
    try:
        with pytest.raises(PermanentSinkError, match="email-desk: alert cannot be mailed"):
            sink.write([constructed("crlf", id="abc\r\nBcc: victim@example.org")])
        sink.write([good_alert("after")])
    finally:
        sink.close()
    assert mailed_ids(inbox) == {good_alert("after").id}


@pytest.mark.integration
def test_webhook_refuses_an_alert_it_cannot_post_instead_of_retrying(
    receiver: FeedServer, tmp_path: Path
) -> None:
    sink = WebhookSink(WebhookSinkSettings(name="ops", url=receiver.url("/hook")), tmp_path)
    try:
        with pytest.raises(PermanentSinkError, match="webhook-ops: alert cannot be posted"):
            sink.write([constructed("crlf", id="abc\r\nX-Injected: 1")])
        sink.write([good_alert("after")])
    finally:
        sink.close()
    assert [json.loads(body)["id"] for _, body in receiver.accepted] == [good_alert("after").id]


class Buggy(Sink):
    """A sink with a bug that one alert sets off."""

    name = "buggy"

    def __init__(self) -> None:
        self.rows: list[str] = []

    def setup(self) -> None: ...

    def write(self, batch: Sequence[Alert]) -> None:
        if any(a.article_id == "trigger" for a in batch):
            raise KeyError("boom")
        self.rows.extend(a.article_id for a in batch)

    def healthcheck(self) -> Health:
        return Health(True, "ok")

    def close(self) -> None: ...


def test_an_alert_that_sets_off_a_sink_bug_is_dead_lettered_not_a_dead_runner() -> None:
    sink = Buggy()
    runner = Runner(sink)
    messages = [Message(good_alert(a).model_dump_json().encode()) for a in ("a", "trigger", "b")]
    nested = Message(b"[" * 100_000 + b"]" * 100_000)
    assert runner.deliver([*messages, nested])
    assert sink.rows == ["a", "b"]
    assert [value for value, _ in runner.dead] == [nested.value, messages[1].value]
    assert "nested" in runner.dead[0][1]
    assert "KeyError" in runner.dead[1][1]
