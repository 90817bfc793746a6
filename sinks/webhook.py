"""Webhook sink: one signed JSON POST per alert, or a Slack-compatible message.

With a throttle or quiet hours (``noise``, see sinks.noise) the alerts held back go out later as
one digest POST per rule: ``{"type": "digest", "id", "rule_id", "reasons", "count", "alerts"}``
(or one Slack message listing them), its ``Idempotency-Key`` the digest id.

Headers: ``Idempotency-Key`` and ``X-Newsradar-Alert-Id`` (the alert id), and with a secret
``X-Newsradar-Signature: sha256=<hex HMAC-SHA256 of the body>``. Ids already delivered are
remembered (SQLite beside the alert store), so a redelivered alert is not posted twice; a crash
between the POST and that note can repeat a call, which the receiver recognises by its
Idempotency-Key.

Outcomes: 2xx delivered; timeouts, connection errors, 429 and 5xx are transient (the runner
retries, at least Retry-After later); other 4xx are permanent: the alert is dead-lettered with
the response.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from newsradar.schemas import Alert
from newsradar.settings import WebhookSinkSettings
from sinks.base import Health
from sinks.errors import PermanentSinkError, TransientSinkError
from sinks.noise import Digest
from sinks.push import Clock, PushSink, utc_now

SIGNATURE_HEADER = "X-Newsradar-Signature"


def slack_escape(text: str) -> str:
    """Slack's own escaping: &, < and > are control characters in message text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(alert: Alert) -> dict[str, Any]:
    title = slack_escape(alert.article_title or alert.article_id)
    link = f"<{slack_escape(alert.article_url)}|{title}>" if alert.article_url else title
    facts = (
        f"*{slack_escape(alert.rule_id)}* (score {alert.score:g}) · "
        f"pairs {slack_escape(', '.join(alert.pairs) or '-')} · "
        f"topics {slack_escape(', '.join(alert.topics) or '-')}"
    )
    why = alert.why()
    text = f"{facts}\n{link}" + (f"\n> {slack_escape(why)}" if why else "")
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def slack_digest(digest: Digest) -> dict[str, Any]:
    lines = [
        f"• <{slack_escape(a.article_url)}|{slack_escape(a.article_title or a.article_id)}>"
        if a.article_url
        else f"• {slack_escape(a.article_title or a.article_id)}"
        for a in digest.alerts[:50]
    ]
    more = len(digest.alerts) - len(lines)
    head = (
        f"*{slack_escape(digest.rule_id)}*: {len(digest.alerts)} alerts "
        f"({slack_escape(', '.join(digest.reasons))} digest)"
    )
    text = "\n".join([head, *lines] + ([f"… and {more} more"] if more > 0 else []))
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}


def json_digest(digest: Digest) -> dict[str, Any]:
    return {
        "type": "digest",
        "id": digest.id,
        "rule_id": digest.rule_id,
        "reasons": list(digest.reasons),
        "count": len(digest.alerts),
        "alerts": [a.model_dump(mode="json") for a in digest.alerts],
    }


class WebhookSink(PushSink):
    def __init__(
        self, config: WebhookSinkSettings, state_dir: Path, clock: Clock = utc_now
    ) -> None:
        super().__init__(
            f"webhook-{config.name}", state_dir, rules=config.rules, noise=config.noise, clock=clock
        )
        self.config = config
        self._client: httpx.Client | None = None

    def setup(self) -> None:
        super().setup()
        if self._client is None:
            self._client = httpx.Client(timeout=self.config.timeout_seconds)

    def _http(self) -> httpx.Client:
        self.setup()
        assert self._client is not None
        return self._client

    def body(self, alert: Alert) -> bytes:
        payload = (
            slack_payload(alert) if self.config.mode == "slack" else alert.model_dump(mode="json")
        )
        return json.dumps(payload, ensure_ascii=False).encode()

    def headers(self, key: str, body: bytes) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": key,
            "User-Agent": "newsradar",
        }
        if self.config.secret is not None:
            headers[SIGNATURE_HEADER] = sign(self.config.secret.get_secret_value(), body)
        return headers

    def _post(self, body: bytes, headers: dict[str, str]) -> None:
        try:
            response = self._http().post(self.config.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise TransientSinkError(
                f"{self.name}: {type(exc).__name__} posting to {self.config.url}"
            ) from None
        status = response.status_code
        if status == 429 or status >= 500:
            error = TransientSinkError(f"{self.name}: HTTP {status} from {self.config.url}")
            error.retry_after = _retry_after(response.headers.get("retry-after"))
            raise error
        if status >= 400:
            raise PermanentSinkError(
                f"{self.name}: HTTP {status} from {self.config.url}: {response.text[:300]}"
            )

    def send(self, alerts: Sequence[Alert]) -> None:
        for alert in alerts:
            body = self.body(alert)
            self._post(body, {**self.headers(alert.id, body), "X-Newsradar-Alert-Id": alert.id})
            self.sent(alert)

    def send_digest(self, digest: Digest) -> None:
        payload = slack_digest(digest) if self.config.mode == "slack" else json_digest(digest)
        body = json.dumps(payload, ensure_ascii=False).encode()
        try:
            self._post(body, {**self.headers(digest.id, body), "X-Newsradar-Digest-Id": digest.id})
        except PermanentSinkError as exc:
            # A digest is not one Kafka record, so it cannot be dead-lettered: it stays held,
            # is retried, and the failure shows in the log and metrics.
            raise TransientSinkError(str(exc)) from None

    def healthcheck(self) -> Health:
        """A real request to the endpoint: any HTTP answer below 500 means it is there."""
        try:
            response = self._http().request("OPTIONS", self.config.url)
        except (httpx.HTTPError, TransientSinkError) as exc:
            return Health(
                False, f"{self.name}: {self.config.url} unreachable: {type(exc).__name__}"
            )
        if response.status_code >= 500:
            return Health(
                False, f"{self.name}: {self.config.url} answers HTTP {response.status_code}"
            )
        return Health(True, f"{self.name}: {self.config.url} reachable")

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        super().close()


def _retry_after(value: str | None) -> float | None:
    if value and value.strip().isdigit():
        return float(value)
    return None
