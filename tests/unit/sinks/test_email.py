"""The email sink against a real local SMTP server (aiosmtpd)."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from newsradar.schemas import Alert, Match, alert_id
from newsradar.settings import EmailSinkSettings
from sinks.email import EmailSink
from sinks.errors import TransientSinkError
from tests.conftest import free_ports

NOW = datetime(2026, 11, 29, tzinfo=UTC)
TITLE = "<img src=x onerror=alert(1)> روسيا\r\nBcc: victim@example.org"
ALERT = Alert(
    id=alert_id("iraq-russia", "a1"),
    rule_id="iraq-russia",
    article_id="a1",
    score=6,
    article_title=TITLE,
    article_url="https://e.org/a1?x=1&y=<2>",
    article_published=NOW,
    pairs=("IQ-RU",),
    matches=(
        Match(
            term="روسيا",
            denotes="country:RU",
            field="title",
            start=30,
            end=35,
            snippet="قال <b> إن روسيا مستعدة",
        ),
    ),
)


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
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


def config(port: int, **extra: object) -> EmailSinkSettings:
    return EmailSinkSettings.model_validate(
        {
            "name": "desk",
            "host": "127.0.0.1",
            "port": port,
            "security": "none",
            "sender": "newsradar@example.org",
            "recipients": ["desk@example.org"],
            **extra,
        }
    )


def test_one_escaped_message_per_alert_without_header_injection(
    smtp: tuple[Inbox, int], tmp_path: Path
) -> None:
    inbox, port = smtp
    sink = EmailSink(config(port), tmp_path)
    try:
        sink.write([ALERT])
        sink.write([ALERT])  # redelivered: not mailed twice
    finally:
        sink.close()
    assert len(inbox.messages) == 1
    sender, recipients, raw = inbox.messages[0]
    assert (sender, recipients) == ("newsradar@example.org", ["desk@example.org"])
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message["Bcc"] is None
    assert "\n" not in message["Subject"]
    assert message["Subject"].startswith(
        "[newsradar] iraq-russia: <img src=x onerror=alert(1)> روسيا"
    )
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "<img" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<mark>روسيا</mark>" in html
    assert "قال &lt;b&gt; إن" in html
    assert 'href="https://e.org/a1?x=1&amp;y=&lt;2&gt;"' in html
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Pairs: IQ-RU" in text


def test_rule_filter_and_unreachable_server(smtp: tuple[Inbox, int], tmp_path: Path) -> None:
    inbox, port = smtp
    sink = EmailSink(config(port, rules=["other-rule"]), tmp_path)
    sink.write([ALERT])
    sink.close()
    assert inbox.messages == []
    assert EmailSink(config(port), tmp_path / "h").healthcheck().ok
    (dead_port,) = free_ports(1)
    dead = EmailSink(config(dead_port), tmp_path / "d")
    with pytest.raises(TransientSinkError, match=f"SMTP 127.0.0.1:{dead_port} unavailable"):
        dead.write([ALERT])
    assert not dead.healthcheck().ok
    dead.close()


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_daily_digest_per_rule_sent_once_when_due(smtp: tuple[Inbox, int], tmp_path: Path) -> None:
    inbox, port = smtp
    clock = Clock(NOW.replace(hour=9))
    settings = config(port, cadence="daily", daily_at="08:00", rule_cadence={"urgent": "immediate"})
    sink = EmailSink(settings, tmp_path, clock=clock)
    urgent = ALERT.model_copy(update={"id": alert_id("urgent", "a1"), "rule_id": "urgent"})
    second = ALERT.model_copy(
        update={"id": alert_id("iraq-russia", "a2"), "article_id": "a2", "article_title": "Second"}
    )
    try:
        sink.write([ALERT, urgent, second])
        sink.flush()
        assert len(inbox.messages) == 1  # only the immediate rule went out
        sink.close()
        sink = EmailSink(settings, tmp_path, clock=clock)  # held across a restart
        sink.write([ALERT])  # redelivered: not held twice
        clock.now = NOW.replace(day=30, hour=7, minute=59)
        sink.flush()
        assert len(inbox.messages) == 1
        clock.now = NOW.replace(day=30, hour=8)
        sink.flush()
        sink.flush()
    finally:
        sink.close()
    assert len(inbox.messages) == 2
    digest = email.message_from_bytes(inbox.messages[1][2], policy=email.policy.default)
    assert digest["Subject"] == "[newsradar] iraq-russia: 2 alerts (daily digest)"
    assert digest["X-Newsradar-Digest-Id"].startswith("digest-")
    html = digest.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "<img" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "Second" in html
    assert "<mark>روسيا</mark>" in html
    text = digest.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "2 alerts of rule iraq-russia (daily)." in text


def test_weekly_digest_goes_out_on_weekly_on(smtp: tuple[Inbox, int], tmp_path: Path) -> None:
    inbox, port = smtp
    clock = Clock(NOW.replace(hour=9))  # Sunday 29 November 2026
    settings = config(port, cadence="weekly", weekly_on="friday", daily_at="17:00")
    sink = EmailSink(settings, tmp_path, clock=clock)
    try:
        sink.write([ALERT])
        clock.now = datetime(2026, 12, 4, 16, 59, tzinfo=UTC)  # Friday, a minute early
        sink.flush()
        assert inbox.messages == []
        clock.now = datetime(2026, 12, 4, 17, 0, tzinfo=UTC)
        sink.flush()
    finally:
        sink.close()
    (digest,) = (
        email.message_from_bytes(m[2], policy=email.policy.default) for m in inbox.messages
    )
    assert digest["Subject"] == "[newsradar] iraq-russia: 1 alerts (weekly digest)"
