"""The webhook sink against a real local HTTP server."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsradar.schemas import Alert, alert_id
from newsradar.settings import WebhookSinkSettings
from sinks.errors import PermanentSinkError, TransientSinkError
from sinks.webhook import WebhookSink
from tests.feedserver import FeedServer, Reply, feed_server

NOW = datetime(2026, 11, 29, tzinfo=UTC)
ALERT = Alert(
    id=alert_id("iraq-russia", "a1"),
    rule_id="iraq-russia",
    article_id="a1",
    score=7.5,
    article_title="<script>alert('x')</script> Iraq & Russia",
    article_url="https://e.org/a1",
    article_published=NOW,
    pairs=("IQ-RU",),
    topics=("defense",),
)


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with feed_server() as s:
        yield s


OPEN: list[WebhookSink] = []


@pytest.fixture(autouse=True)
def _close_sinks() -> Iterator[None]:
    yield
    while OPEN:
        OPEN.pop().close()


def sink(server: FeedServer, tmp_path: Path, **config: object) -> WebhookSink:
    return new(tmp_path, name="ops", url=server.url("/hook"), **config)


def new(tmp_path: Path, **config: object) -> WebhookSink:
    made = WebhookSink(WebhookSinkSettings.model_validate(config), tmp_path)
    OPEN.append(made)
    return made


def test_signed_json_post_with_idempotency_key_sent_once(
    server: FeedServer, tmp_path: Path
) -> None:
    server.routes["/hook"] = Reply(204)
    hook = sink(server, tmp_path, secret="s3cret")
    hook.write([ALERT])
    hook.write([ALERT])  # redelivered after a crash before the offset commit
    assert len(server.posts) == 1
    _, headers, body = server.posts[0]
    assert headers["idempotency-key"] == ALERT.id
    expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert headers["x-newsradar-signature"] == expected
    assert Alert.model_validate(json.loads(body)) == ALERT
    # Remembered across restarts of the sink.
    hook.close()
    sink(server, tmp_path, secret="s3cret").write([ALERT])
    assert len(server.posts) == 1


def test_slack_mode_escapes_untrusted_text(server: FeedServer, tmp_path: Path) -> None:
    server.routes["/hook"] = Reply(200, b"ok")
    sink(server, tmp_path, mode="slack").write([ALERT])
    payload = json.loads(server.posts[0][2])
    assert "<script>" not in payload["text"]
    assert "&lt;script&gt;alert('x')&lt;/script&gt; Iraq &amp; Russia" in payload["text"]
    assert "<https://e.org/a1|" in payload["text"]
    assert payload["blocks"][0]["text"]["text"] == payload["text"]


def test_failures_are_transient_or_permanent(server: FeedServer, tmp_path: Path) -> None:
    server.routes["/hook"] = Reply(503, headers={"Retry-After": "7"})
    with pytest.raises(TransientSinkError) as transient:
        sink(server, tmp_path).write([ALERT])
    assert transient.value.retry_after == 7
    server.routes["/hook"] = Reply(422, b'{"error": "unknown channel"}')
    with pytest.raises(PermanentSinkError, match=r"HTTP 422 .*unknown channel"):
        sink(server, tmp_path).write([ALERT])
    refused = WebhookSink(WebhookSinkSettings(name="gone", url="http://127.0.0.1:9/hook"), tmp_path)
    with pytest.raises(TransientSinkError, match="ConnectError"):
        refused.write([ALERT])


def test_healthcheck_makes_a_real_request(server: FeedServer, tmp_path: Path) -> None:
    server.routes["/hook"] = Reply(405)
    assert sink(server, tmp_path).healthcheck().ok
    server.routes["/hook"] = Reply(502)
    health = sink(server, tmp_path).healthcheck()
    assert (health.ok, health.detail) == (
        False,
        f"webhook-ops: http://127.0.0.1:{server.port}/… answers HTTP 502",
    )
    dead = new(tmp_path, name="x", url="http://127.0.0.1:9/")
    assert not dead.healthcheck().ok


def test_throttled_alerts_arrive_as_one_digest_after_the_window(
    server: FeedServer, tmp_path: Path
) -> None:
    server.routes["/hook"] = Reply(204)
    clock = [NOW]
    hook = WebhookSink(
        WebhookSinkSettings.model_validate(
            {
                "name": "ops",
                "url": server.url("/hook"),
                "secret": "k",
                "noise": {"max_per_window": 2, "window_seconds": 3600},
            }
        ),
        tmp_path,
        clock=lambda: clock[0],
    )
    OPEN.append(hook)
    alerts = [
        ALERT.model_copy(update={"id": alert_id("iraq-russia", f"a{n}"), "article_id": f"a{n}"})
        for n in range(5)
    ]
    hook.write(alerts)
    hook.flush()
    assert [h["x-newsradar-alert-id"] for _, h, _ in server.posts] == [a.id for a in alerts[:2]]
    server.routes["/hook"] = Reply(503)
    clock[0] = NOW.replace(hour=1)
    with pytest.raises(TransientSinkError):
        hook.flush()  # the receiver is down: the digest stays held
    server.routes["/hook"] = Reply(204)
    hook.flush()
    hook.flush()
    digests = [(h, b) for _, h, b in server.posts if "x-newsradar-digest-id" in h]
    assert len(digests) == 2  # the failed attempt and the delivered one, same key
    headers, body = digests[-1]
    assert headers["idempotency-key"] == digests[0][0]["idempotency-key"]
    expected = "sha256=" + hmac.new(b"k", body, hashlib.sha256).hexdigest()
    assert headers["x-newsradar-signature"] == expected
    payload = json.loads(body)
    assert (payload["type"], payload["rule_id"], payload["reasons"], payload["count"]) == (
        "digest",
        "iraq-russia",
        ["throttle"],
        3,
    )
    assert [a["article_id"] for a in payload["alerts"]] == ["a2", "a3", "a4"]
