"""Untrusted alert text in every rendered channel: Atom stays well-formed XML, only http(s)
article links are ever emitted, and a URL cannot spoof the text of a Slack link."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
import pytest
from aiohttp.test_utils import TestClient, TestServer
from aiosmtpd.controller import Controller

from newsradar.schemas import Alert, Match, RelationEvidence, alert_id
from newsradar.settings import EmailSinkSettings, WebhookSinkSettings, load_settings
from sinks.dashboard.app import create_app
from sinks.email import EmailSink
from sinks.sqlite import SqliteSink
from sinks.webhook import WebhookSink
from tests.conftest import free_ports
from tests.feedserver import FeedServer, Reply, feed_server

NOW = datetime(2026, 11, 29, tzinfo=UTC)
ATOM = "{http://www.w3.org/2005/Atom}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
# Characters XML 1.0 forbids (C0 controls but tab, LF, CR; U+FFFE, U+FFFF), as feeds deliver
# them: an ANSI colour escape, a form feed, a vertical tab, a noncharacter.
HOSTILE_TEXT = "Iraq \x1b[31mRussia\x1b[0m\x0c talks\x0b \ufffe\uffff end"
UNSAFE_LINKS = [
    "javascript:alert(document.cookie)",
    " JaVaScRiPt:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "//evil.example/no-scheme",
]


def alert(article: str, *, title: str = "Iraq and Russia", url: str = "") -> Alert:
    return Alert(
        id=alert_id("hostile", article),
        rule_id="hostile",
        article_id=article,
        score=4,
        article_title=title,
        article_url=url or f"https://e.org/{article}",
        article_published=NOW,
        pairs=("IQ-RU",),
        topics=("energy",),
        matches=(
            Match(
                term="Russia",
                denotes="country:RU",
                field="title",
                start=10,
                end=16,
                snippet=HOSTILE_TEXT,
            ),
        ),
        relations=(
            RelationEvidence(
                pair="IQ-RU",
                kind="meeting",
                field="title",
                start=0,
                end=10,
                sentence=HOSTILE_TEXT,
            ),
        ),
        reasons=(HOSTILE_TEXT,),
    )


Feed = Callable[[Sequence[Alert]], bytes]


@pytest.fixture
def atom(tmp_path: Path) -> Feed:
    """Stores alerts in the alert store and reads /feeds/all.atom from the dashboard's app."""
    settings = load_settings(None, env={"NEWSRADAR_DATA_DIR": str(tmp_path)})

    def feed(alerts: Sequence[Alert]) -> bytes:
        sink = SqliteSink(settings.alerts_db)
        sink.write(alerts)
        sink.close()

        async def read() -> bytes:
            async with TestClient(TestServer(create_app(settings))) as client:
                response = await client.get("/feeds/all.atom")
                assert response.status == 200
                return await response.read()

        return asyncio.run(read())

    return feed


def test_atom_feed_is_well_formed_whatever_the_alert_text_holds(atom: Feed) -> None:
    hostile_language = alert("lang", title="Iraq and Russia").model_copy(
        update={"language": 'en" onload="x'}
    )
    raw = atom([hostile_language, alert("ctl", title=HOSTILE_TEXT)])  # newest first
    root = ET.fromstring(raw)  # a strict XML 1.0 parser: raises on ill-formed XML
    entry = root.find(f"{ATOM}entry")
    assert entry is not None
    assert entry.findtext(f"{ATOM}title") == "Iraq [31mRussia[0m talks  end"
    assert "[31mRussia" in (entry.findtext(f"{ATOM}summary") or "")
    assert not feedparser.parse(raw).bozo
    # A language that is not a language tag never becomes the entry's xml:lang.
    assert b"onload" not in raw
    assert [e.get(XML_LANG) for e in root.iter(f"{ATOM}entry")] == [None, None]


def test_atom_never_links_to_a_non_http_url(atom: Feed) -> None:
    raw = atom(
        [alert(f"bad{n}", url=url) for n, url in enumerate(UNSAFE_LINKS)]
        + [alert("good", url="https://e.org/good?a=1&b=2")]
    )
    root = ET.fromstring(raw)
    links = [
        link.get("href")
        for entry in root.iter(f"{ATOM}entry")
        for link in entry.iter(f"{ATOM}link")
    ]
    assert links == ["https://e.org/good?a=1&b=2"]
    assert len(list(root.iter(f"{ATOM}entry"))) == len(UNSAFE_LINKS) + 1


@pytest.fixture
def receiver() -> Iterator[FeedServer]:
    with feed_server() as server:
        server.routes["/hook"] = Reply(200, b"ok")
        yield server


def webhook(receiver: FeedServer, tmp_path: Path, mode: str) -> WebhookSink:
    config = WebhookSinkSettings.model_validate(
        {"name": mode, "url": receiver.url("/hook"), "mode": mode}
    )
    return WebhookSink(config, tmp_path / mode)


def test_webhook_json_empties_a_non_http_article_url(receiver: FeedServer, tmp_path: Path) -> None:
    sink = webhook(receiver, tmp_path, "json")
    try:
        sink.write([alert(f"bad{n}", url=url) for n, url in enumerate(UNSAFE_LINKS)])
        sink.write([alert("good", url="https://e.org/good")])
    finally:
        sink.close()
    posted = [json.loads(body) for _, body in receiver.accepted]
    assert [p["article_url"] for p in posted] == [""] * len(UNSAFE_LINKS) + ["https://e.org/good"]
    assert all(Alert.model_validate(p) for p in posted)  # still a valid alert record


SLACK_LINK = re.compile(r"<([^<>|]*)\|([^<>]*)>")


def test_slack_never_links_to_a_non_http_url(receiver: FeedServer, tmp_path: Path) -> None:
    sink = webhook(receiver, tmp_path, "slack")
    try:
        sink.write([alert(f"bad{n}", url=url) for n, url in enumerate(UNSAFE_LINKS)])
    finally:
        sink.close()
    for _, body in receiver.accepted:
        text = json.loads(body)["text"]
        assert SLACK_LINK.search(text) is None, text
        assert "script:" not in text.lower()
        assert "Iraq and Russia" in text


def test_a_url_cannot_spoof_the_text_of_a_slack_link(receiver: FeedServer, tmp_path: Path) -> None:
    spoof = "https://evil.example/login|Your bank: verify here>"
    sink = webhook(receiver, tmp_path, "slack")
    try:
        sink.write([alert("spoof", title="Iraq and Russia", url=spoof)])
    finally:
        sink.close()
    text = json.loads(receiver.accepted[0][1])["text"]
    links = SLACK_LINK.findall(text)
    assert len(links) == 1, text
    target, shown = links[0]
    assert shown == "Iraq and Russia"
    assert target.startswith("https://evil.example/login")
    assert "|" not in target
    assert "Your bank" not in shown


class Inbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.content)
        return "250 OK"


def test_email_never_links_to_a_non_http_url(tmp_path: Path) -> None:
    inbox = Inbox()
    (port,) = free_ports(1)
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
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
        sink.write([alert(f"bad{n}", url=url) for n, url in enumerate(UNSAFE_LINKS)])
    finally:
        sink.close()
        controller.stop()
    assert len(inbox.messages) == len(UNSAFE_LINKS)
    for raw in inbox.messages:
        message = email.message_from_bytes(raw, policy=email.policy.default)
        html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
        text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        for part in (html, text):
            lowered = part.lower()
            assert "script:" not in lowered
            assert "data:text" not in lowered
            assert "file:" not in lowered
            assert "//evil.example" not in lowered
        assert "href=" not in html
        assert "Iraq and Russia" in html
