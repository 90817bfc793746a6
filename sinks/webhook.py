"""Webhook sink: one signed JSON POST per alert, or a Slack-compatible message.

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
from sinks.base import Health, Sink
from sinks.delivered import DeliveredIds
from sinks.errors import PermanentSinkError, TransientSinkError

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
    text = f"{facts}\n{link}"
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookSink(Sink):
    def __init__(self, config: WebhookSinkSettings, state_dir: Path) -> None:
        self.config = config
        self.name = f"webhook-{config.name}"
        self.delivered = DeliveredIds(state_dir / f"{self.name}.sqlite")
        self._client: httpx.Client | None = None

    def setup(self) -> None:
        self.delivered.open()
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

    def headers(self, alert: Alert, body: bytes) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": alert.id,
            "X-Newsradar-Alert-Id": alert.id,
            "User-Agent": "newsradar",
        }
        if self.config.secret is not None:
            headers[SIGNATURE_HEADER] = sign(self.config.secret.get_secret_value(), body)
        return headers

    def write(self, batch: Sequence[Alert]) -> None:
        client = self._http()
        for alert in self.delivered.fresh(batch):
            body = self.body(alert)
            try:
                response = client.post(
                    self.config.url, content=body, headers=self.headers(alert, body)
                )
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
            self.delivered.add([alert.id])

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
        self.delivered.close()


def _retry_after(value: str | None) -> float | None:
    if value and value.strip().isdigit():
        return float(value)
    return None
