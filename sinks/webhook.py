"""Webhook sink: one signed JSON POST per alert, or a Slack-compatible message.

With a throttle or quiet hours (``noise``, see sinks.noise) the alerts held back go out later as
one digest POST per rule: ``{"type": "digest", "id", "rule_id", "reasons", "count", "alerts"}``
(or one Slack message listing them), its ``Idempotency-Key`` the digest id.

Headers: ``Idempotency-Key`` and ``X-Newsradar-Alert-Id`` (the alert id). With a secret, the
call is signed per Standard Webhooks (https://www.standardwebhooks.com/): ``webhook-id`` (the
alert or digest id, the same on a repeat), ``webhook-timestamp`` (Unix seconds) and
``webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``, so a receiver can
refuse a replayed call by its age; the secret is ``whsec_`` + base64 of the key, or any other
string whose UTF-8 bytes are the key. ``X-Newsradar-Signature: sha256=<hex HMAC-SHA256 of the
body>`` is still sent for one release (deprecated: it covers the body only). Ids already
delivered are remembered (SQLite beside the alert store), so a redelivered alert is not posted
twice; a crash between the POST and that note can repeat a call, which the receiver recognises
by its Idempotency-Key and webhook-id.

The URL is a secret (Slack's carries its token): errors, logs and healthchecks show it as
``scheme://host/…``. Only http(s) article links are sent: ``article_url`` is emptied otherwise
(the field stays, a receiver reads "no link"), and a Slack message shows the title unlinked.

Outcomes: 2xx delivered; timeouts, connection errors, 408, 429 and 5xx are transient (the runner
retries, at least Retry-After later); other 4xx, and an alert that cannot make a valid request
(say, an id that cannot be a header), are permanent: the alert is dead-lettered with the reason.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from standardwebhooks.webhooks import Webhook

from newsradar.schemas import Alert
from newsradar.settings import WebhookSinkSettings
from sinks.base import Health
from sinks.errors import PermanentSinkError, TransientSinkError
from sinks.noise import Digest
from sinks.push import Clock, PushSink, utc_now
from sinks.render import safe_link, slack_escape, slack_link

SIGNATURE_HEADER = "X-Newsradar-Signature"
"""Deprecated: hex HMAC-SHA256 of the body alone; the Standard Webhooks headers replace it."""
TRANSIENT_STATUSES = frozenset({408, 425, 429})
"""4xx answers that mean "not now" rather than "never"."""


def slack_payload(alert: Alert) -> dict[str, Any]:
    link = slack_link(alert.article_url, alert.article_title or alert.article_id)
    facts = (
        f"*{slack_escape(alert.rule_id)}* (score {alert.score:g}) · "
        f"pairs {slack_escape(', '.join(alert.pairs) or '-')} · "
        f"topics {slack_escape(', '.join(alert.topics) or '-')}"
    )
    why = alert.why()
    text = f"{facts}\n{link}" + (f"\n> {slack_escape(why)}" if why else "")
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}


def sign(secret: str, body: bytes) -> str:
    """The deprecated X-Newsradar-Signature: hex HMAC-SHA256 of the body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def standard_signature_headers(
    secret: str, msg_id: str, at: datetime, body: bytes
) -> dict[str, str]:
    """The Standard Webhooks headers: id, timestamp and the ``v1`` signature over both and the
    body. A ``whsec_`` secret is base64 of the key; any other string is the key's UTF-8."""
    signer = Webhook(secret if secret.startswith("whsec_") else secret.encode())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signer.sign(msg_id, at, body.decode("utf-8")),
    }


def json_alert(alert: Alert) -> dict[str, Any]:
    """The alert record as JSON, its ``article_url`` emptied unless it is an http(s) link."""
    payload = alert.model_dump(mode="json")
    payload["article_url"] = safe_link(alert.article_url)
    return payload


def slack_digest(digest: Digest) -> dict[str, Any]:
    lines = [
        f"• {slack_link(a.article_url, a.article_title or a.article_id)}"
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
        "alerts": [json_alert(a) for a in digest.alerts],
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

    def _url(self) -> str:
        return self.config.url.get_secret_value()

    def body(self, alert: Alert) -> bytes:
        payload = slack_payload(alert) if self.config.mode == "slack" else json_alert(alert)
        return json.dumps(payload, ensure_ascii=False).encode()

    def headers(self, key: str, body: bytes) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": key,
            "User-Agent": "newsradar",
        }
        if self.config.secret is not None:
            secret = self.config.secret.get_secret_value()
            headers.update(standard_signature_headers(secret, key, self.clock(), body))
            headers[SIGNATURE_HEADER] = sign(secret, body)
        return headers

    def _post(self, body: bytes, headers: dict[str, str]) -> None:
        where = str(self.config.url)  # scheme://host/…: the URL itself is a secret
        try:
            response = self._http().post(self._url(), content=body, headers=headers)
        except (httpx.LocalProtocolError, UnicodeError) as exc:
            # Our request cannot be made at all (a header value no HTTP allows): for good.
            raise PermanentSinkError(
                f"{self.name}: alert cannot be posted: {type(exc).__name__}: {_one_line(exc)}"
            ) from None
        except httpx.HTTPError as exc:
            raise TransientSinkError(
                f"{self.name}: {type(exc).__name__} posting to {where}"
            ) from None
        status = response.status_code
        if status in TRANSIENT_STATUSES or status >= 500:
            error = TransientSinkError(f"{self.name}: HTTP {status} from {where}")
            error.retry_after = _retry_after(response.headers.get("retry-after"))
            raise error
        if status >= 400:
            raise PermanentSinkError(
                f"{self.name}: HTTP {status} from {where}: {_one_line(response.text)}"
            )

    def _prepared(self, alert: Alert) -> tuple[bytes, dict[str, str]]:
        try:
            body = self.body(alert)
            headers = self.headers(alert.id, body)
        except (ValueError, UnicodeError) as exc:
            raise PermanentSinkError(
                f"{self.name}: alert cannot be posted: {_one_line(exc)}"
            ) from None
        return body, {**headers, "X-Newsradar-Alert-Id": alert.id}

    def send(self, alerts: Sequence[Alert]) -> None:
        for alert in alerts:
            self._post(*self._prepared(alert))
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
        where = str(self.config.url)
        try:
            response = self._http().request("OPTIONS", self._url())
        except (httpx.HTTPError, TransientSinkError) as exc:
            return Health(False, f"{self.name}: {where} unreachable: {type(exc).__name__}")
        if response.status_code >= 500:
            return Health(False, f"{self.name}: {where} answers HTTP {response.status_code}")
        return Health(True, f"{self.name}: {where} reachable")

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        super().close()


def _one_line(value: object, limit: int = 300) -> str:
    return " ".join(str(value).split())[:limit]


def _retry_after(value: str | None) -> float | None:
    if value and value.strip().isdigit():
        return float(value)
    return None
