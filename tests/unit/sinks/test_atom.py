"""The Atom sink serves per-rule feeds that any feed reader (here feedparser) reads."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import httpx
import pytest

from newsradar.schemas import Alert, Match, alert_id
from newsradar.settings import AtomSinkSettings
from sinks.atom import AtomSink
from sinks.errors import TransientSinkError

NOW = datetime(2026, 11, 29, tzinfo=UTC)


def alert(rule: str, article: str, title: str) -> Alert:
    return Alert(
        id=alert_id(rule, article),
        rule_id=rule,
        article_id=article,
        score=6,
        article_title=title,
        article_url=f"https://e.org/{article}",
        article_published=NOW,
        pairs=("IQ-RU",),
        topics=("defense",),
        matches=(Match(term="روسيا", denotes="country:RU", field="title", start=0, end=5),),
    )


def test_feeds_per_rule_with_text_escaped(tmp_path: Path) -> None:
    sink = AtomSink(AtomSinkSettings(port=0), tmp_path)
    try:
        sink.setup()
        sink.write(
            [
                alert("iraq-russia", "a1", "<script>alert(1)</script> روسيا والعراق"),
                alert("other", "b1", "Other news"),
            ]
        )
        sink.write([alert("iraq-russia", "a1", "<script>alert(1)</script> روسيا والعراق")])
        raw = httpx.get(f"{sink.base_url}/feeds/iraq-russia.atom").content
        assert b"<script>" not in raw
        assert b"&lt;script&gt;" in raw
        feed = feedparser.parse(raw)
        assert not feed.bozo
        assert feed.feed.title == "newsradar alerts: iraq-russia"
        assert [(e.title, e.link) for e in feed.entries] == [
            ("<script>alert(1)</script> روسيا والعراق", "https://e.org/a1")
        ]
        assert "Pairs: IQ-RU" in feed.entries[0].summary
        assert "روسيا (country:RU)" in feed.entries[0].summary
        everything = feedparser.parse(httpx.get(f"{sink.base_url}/feeds/all.atom").content)
        assert len(everything.entries) == 2
        missing = httpx.get(f"{sink.base_url}/nothing")
        assert missing.status_code == 404
        assert sink.healthcheck().ok
    finally:
        sink.close()


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    first = AtomSink(AtomSinkSettings(port=0), tmp_path / "a")
    first.setup()
    try:
        port = int(first.base_url.rsplit(":", 1)[1])
        # A second sink on the same port cannot listen, but the running one answers there:
        # that is what `newsradar sinks check` sees while the service runs.
        second = AtomSink(AtomSinkSettings(port=port), tmp_path / "b")
        assert second.healthcheck().ok
        with pytest.raises(TransientSinkError, match=f"cannot listen on 127.0.0.1:{port}"):
            second.setup()
        second.close()
    finally:
        first.close()
    with socket.socket() as holder:  # a port held by something that is not an Atom server
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        other = AtomSink(AtomSinkSettings(port=port), tmp_path / "c")
        health = other.healthcheck()
        assert not health.ok
        assert f"cannot listen on 127.0.0.1:{port}" in health.detail
        other.close()
