"""One suite every sink passes: idempotent writes, real healthchecks, clear failures, metrics."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

from newsradar.schemas import Alert, alert_id, encode
from newsradar.settings import (
    AppriseSinkSettings,
    JsonlSinkSettings,
    WebhookSinkSettings,
    load_settings,
)
from sinks.apprise import AppriseSink
from sinks.base import Sink
from sinks.errors import TransientSinkError
from sinks.jsonl import JsonlSink
from sinks.service import SinkRunner
from sinks.sqlite import SqliteSink
from sinks.webhook import WebhookSink
from tests.feedserver import Reply, feed_server
from tests.unit.sinks.test_service import Message

NOW = datetime(2026, 11, 29, tzinfo=UTC)


def alert(article: str) -> Alert:
    return Alert(id=alert_id("r", article), rule_id="r", article_id=article, article_published=NOW)


@dataclass
class Case:
    sink: Sink
    delivered: Callable[[], list[str]]
    """Article ids as the sink's target holds them, repeats included."""
    broken: Sink
    """The same kind of sink pointed at a target that cannot work."""


@pytest.fixture(params=["sqlite", "jsonl", "webhook", "apprise"])
def case(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Case]:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    if request.param == "sqlite":
        db = tmp_path / "a.sqlite"

        def rows() -> list[str]:
            with sqlite3.connect(db) as conn:
                return [r[0] for r in conn.execute("SELECT article_id FROM alerts")]

        made = Case(SqliteSink(db), rows, SqliteSink(blocker / "a.sqlite"))
        yield made
    elif request.param == "jsonl":
        path = tmp_path / "alerts.jsonl"
        made = Case(
            JsonlSink(JsonlSinkSettings(enabled=True), path),
            lambda: [json.loads(x)["article_id"] for x in path.read_text().splitlines()],
            JsonlSink(JsonlSinkSettings(enabled=True), blocker / "alerts.jsonl"),
        )
        yield made
    elif request.param == "apprise":
        with feed_server() as server:
            server.routes["/chat"] = Reply(200)
            made = Case(
                AppriseSink(
                    AppriseSinkSettings(name="c", urls=[f"json://127.0.0.1:{server.port}/chat"]),
                    tmp_path,
                ),
                # Titles read "<rule>: <article title or id>".
                lambda: [json.loads(body)["title"].split(": ")[1] for _, _, body in server.posts],
                AppriseSink(
                    AppriseSinkSettings(name="d", urls=["json://127.0.0.1:9/chat"]), tmp_path
                ),
            )
            yield made
    else:
        with feed_server() as server:
            server.routes["/hook"] = Reply(200)
            made = Case(
                WebhookSink(WebhookSinkSettings(name="c", url=server.url("/hook")), tmp_path),
                lambda: [json.loads(body)["article_id"] for _, _, body in server.posts],
                WebhookSink(WebhookSinkSettings(name="d", url="http://127.0.0.1:9/"), tmp_path),
            )
            yield made
    made.sink.close()
    made.broken.close()


def test_writes_are_idempotent(case: Case) -> None:
    case.sink.setup()
    case.sink.write([alert("a"), alert("b")])
    case.sink.write([alert("a")])  # redelivered
    case.sink.write([alert("b"), alert("c")])
    assert sorted(case.delivered()) == ["a", "b", "c"]


def test_healthcheck_tells_working_from_broken(case: Case) -> None:
    case.sink.setup()
    assert case.sink.healthcheck().ok
    health = case.broken.healthcheck()
    assert not health.ok
    assert health.detail


def test_a_broken_target_is_a_transient_error(case: Case) -> None:
    with pytest.raises(TransientSinkError):
        case.broken.write([alert("a")])


def test_deliveries_are_counted(case: Case) -> None:
    settings = load_settings(None, env={})
    runner = SinkRunner(settings, case.sink, threading.Event())

    labels = {"sink": case.sink.name, "rule": "r"}
    before = REGISTRY.get_sample_value("newsradar_alerts_delivered_total", labels) or 0.0
    messages: list[Any] = [Message(encode(alert("m1"))), Message(encode(alert("m2")))]
    assert runner.deliver(messages)
    assert REGISTRY.get_sample_value("newsradar_alerts_delivered_total", labels) == before + 2
    assert REGISTRY.get_sample_value("newsradar_sink_up", {"sink": case.sink.name}) == 1


def test_jsonl_rotates_by_size(tmp_path: Path) -> None:
    sink = JsonlSink(JsonlSinkSettings(enabled=True, max_bytes=1024, keep=2), tmp_path / "a.jsonl")
    for i in range(30):
        sink.write([alert(f"x{i}")])
    sink.close()
    files = sorted(p.name for p in tmp_path.glob("a.jsonl*") if not p.name.endswith("sqlite"))
    assert files == ["a.jsonl", "a.jsonl.1", "a.jsonl.2"]
    assert all((tmp_path / name).stat().st_size < 1024 + 400 for name in files)
