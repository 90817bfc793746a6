"""The Apprise sink against a real local receiver: Apprise's json:// and ntfy:// URLs pointed
at a local HTTP server, as the webhook tests do."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from newsradar.errors import ConfigError
from newsradar.schemas import Alert, Match, alert_id
from newsradar.settings import AppriseSinkSettings, load_settings
from sinks.apprise import AppriseSink
from sinks.errors import TransientSinkError
from tests.feedserver import FeedServer, Reply, feed_server

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)  # a Sunday
HOSTILE_TITLE = "<script>alert('x')</script> [click](javascript:alert(1)) *Iraq* & Russia"


def make_alert(article: str, *, title: str = "", url: str = "https://e.org/a1") -> Alert:
    return Alert(
        id=alert_id("iraq-russia", article),
        rule_id="iraq-russia",
        article_id=article,
        score=7.5,
        article_title=title or f"Story {article}",
        article_url=url,
        article_published=NOW,
        pairs=("IQ-RU",),
        topics=("defense",),
        matches=(
            Match(
                term="موسكو",
                denotes="RU",
                field="content",
                start=0,
                end=5,
                snippet="وفد <b>عراقي</b> في موسكو",
            ),
        ),
    )


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with feed_server() as s:
        s.routes["/hook"] = Reply(200, b"{}", {"Content-Type": "application/json"})
        yield s


OPEN: list[AppriseSink] = []


@pytest.fixture(autouse=True)
def _close_sinks() -> Iterator[None]:
    yield
    while OPEN:
        OPEN.pop().close()


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def new(tmp_path: Path, clock: Clock | None = None, **config: Any) -> AppriseSink:
    config.setdefault("name", "chat")
    made = AppriseSink(AppriseSinkSettings.model_validate(config), tmp_path, clock or Clock())
    OPEN.append(made)
    return made


def received(server: FeedServer, path: str = "/hook") -> list[dict[str, Any]]:
    return [json.loads(body) for p, _, body in server.posts if p == path]


def test_one_message_per_alert_sent_once_and_remembered(server: FeedServer, tmp_path: Path) -> None:
    url = f"json://127.0.0.1:{server.port}/hook"
    chat = new(tmp_path, urls=[url])
    chat.write([make_alert("a1")])
    chat.write([make_alert("a1")])  # redelivered after a crash before the offset commit
    (message,) = received(server)
    assert message["title"] == "iraq-russia: Story a1"
    assert "Story a1\nhttps://e.org/a1" in message["message"]
    assert "iraq-russia (score 7.5)" in message["message"]
    assert "موسكو (RU)" in message["message"]
    chat.close()
    new(tmp_path, urls=[url]).write([make_alert("a1")])  # a restarted sink remembers
    assert len(received(server)) == 1


def test_text_is_escaped_by_apprise_for_html_and_markdown_services(
    server: FeedServer, tmp_path: Path
) -> None:
    base = f"json://127.0.0.1:{server.port}/hook"
    new(tmp_path, urls=[f"{base}?format=html", f"{base}?format=markdown"]).write(
        [make_alert("a1", title=HOSTILE_TITLE)]
    )
    as_html, as_markdown = (m["message"] for m in received(server))
    assert "<script>" not in as_html
    assert "&lt;script&gt;" in as_html
    assert "<b>" not in as_html
    assert "\\*Iraq\\*" in as_markdown
    assert "\\[click\\]" in as_markdown


def test_markdown_format_escapes_feed_text_and_links_only_http(
    server: FeedServer, tmp_path: Path
) -> None:
    url = f"json://127.0.0.1:{server.port}/hook?format=markdown"
    chat = new(tmp_path, urls=[url], format="markdown")
    chat.write([make_alert("a1", title=HOSTILE_TITLE, url="https://e.org/a (1)")])
    chat.write([make_alert("a2", title="Evil link", url="javascript:alert(1)")])
    first, second = (m["message"] for m in received(server))
    assert first.startswith("[\\<script\\>alert\\(\\'x\\'\\)\\<\\/script\\> \\[click\\]")
    assert "](https://e.org/a%20%281%29)" in first  # the destination cannot be closed early
    assert "**iraq\\-russia** (score 7.5)" in first
    assert "\\<b\\>عراقي\\<\\/b\\>" in first
    assert second.startswith("Evil link\n")
    assert "javascript" not in second


def test_html_format_escapes_feed_text_and_links_only_http(
    server: FeedServer, tmp_path: Path
) -> None:
    url = f"json://127.0.0.1:{server.port}/hook?format=html"
    chat = new(tmp_path, urls=[url], format="html")
    chat.write([make_alert("a1", title=HOSTILE_TITLE)])
    chat.write([make_alert("a2", title="Evil link", url="javascript:alert(1)")])
    first, second = (m["message"] for m in received(server))
    assert first.startswith('<a href="https://e.org/a1">&lt;script&gt;alert(&#x27;x&#x27;)')
    assert "<b>iraq-russia</b>" in first
    assert "&lt;b&gt;عراقي&lt;/b&gt;" in first
    assert "<script>" not in first
    assert second.startswith("Evil link<br/>")
    assert "javascript" not in second


def test_ntfy_receives_the_alert(server: FeedServer, tmp_path: Path) -> None:
    server.routes["/"] = Reply(200, b"{}", {"Content-Type": "application/json"})
    new(tmp_path, urls=[f"ntfy://127.0.0.1:{server.port}/desk"]).write([make_alert("a1")])
    (message,) = received(server, "/")
    assert message["topic"] == "desk"
    assert message["title"] == "iraq-russia: Story a1"


def test_a_failing_service_is_retried_without_repeating_the_others(
    server: FeedServer, tmp_path: Path
) -> None:
    server.routes["/down"] = Reply(503)
    chat = new(
        tmp_path,
        urls=[f"json://127.0.0.1:{server.port}/hook", f"json://127.0.0.1:{server.port}/down"],
    )
    with pytest.raises(TransientSinkError) as failed:
        chat.write([make_alert("a1")])
    assert "urls[1] json://…" in str(failed.value)
    assert str(server.port) not in str(failed.value)  # the URL itself is a secret
    server.routes["/down"] = Reply(200)
    chat.write([make_alert("a1")])  # the runner's retry
    assert len(received(server, "/hook")) == 1
    assert len(received(server, "/down")) == 2
    chat.write([make_alert("a1")])
    assert len(received(server, "/hook")) == 1


def test_throttle_folds_the_rest_into_one_digest(server: FeedServer, tmp_path: Path) -> None:
    clock = Clock()
    chat = new(
        tmp_path,
        clock,
        urls=[f"json://127.0.0.1:{server.port}/hook"],
        noise={"max_per_window": 1, "window_seconds": 600},
    )
    chat.write([make_alert("a1"), make_alert("a2"), make_alert("a3", title="<i>Third</i>")])
    assert [m["title"] for m in received(server)] == ["iraq-russia: Story a1"]
    chat.flush()
    assert len(received(server)) == 1  # not due yet
    clock.now = NOW + timedelta(minutes=10)
    chat.flush()
    chat.flush()
    digest = received(server)[1]
    assert digest["title"] == "iraq-russia: 2 alerts (throttle digest)"
    assert "Story a2" in digest["message"]
    assert "<i>Third</i>" in digest["message"]
    assert len(received(server)) == 2


def test_weekly_digest_goes_out_on_the_configured_day(server: FeedServer, tmp_path: Path) -> None:
    clock = Clock()
    chat = new(
        tmp_path,
        clock,
        urls=[f"json://127.0.0.1:{server.port}/hook?format=html"],
        format="html",
        cadence="weekly",
        weekly_on="tuesday",
        daily_at="09:30",
    )
    chat.write([make_alert("a1"), make_alert("a2", title="<b>Bold</b>")])
    clock.now = datetime(2026, 12, 1, 9, 29, tzinfo=UTC)
    chat.flush()
    assert received(server) == []
    clock.now = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    chat.flush()
    (digest,) = received(server)
    assert digest["title"] == "iraq-russia: 2 alerts (weekly digest)"
    assert "&lt;b&gt;Bold&lt;/b&gt;" in digest["message"]
    assert '<a href="https://e.org/a1">Story a1</a>' in digest["message"]


def test_healthcheck_connects_to_the_service(server: FeedServer, tmp_path: Path) -> None:
    good = new(tmp_path, urls=[f"json://127.0.0.1:{server.port}/hook"])
    assert good.healthcheck().ok
    bad = new(tmp_path, name="bad", urls=["json://127.0.0.1:9/hook"])
    health = bad.healthcheck()
    assert not health.ok
    assert "urls[0] json://… unreachable" in health.detail


def test_an_unknown_service_is_a_one_line_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        new(tmp_path, urls=["nosuchservice://sekrit-token@host/x"])
    assert "urls[0]" in str(error.value)
    assert "appriseit.com" in str(error.value)
    assert "sekrit" not in str(error.value)


def test_urls_are_secrets_in_settings_and_errors(tmp_path: Path) -> None:
    env = {"NEWSRADAR_SINKS__APPRISE__0__NAME": "team"}
    env["NEWSRADAR_SINKS__APPRISE__TEAM__URLS"] = '["tgram://123:sekrit/456", "ntfys://ntfy.sh/t"]'
    settings = load_settings(None, env=env)
    (chat,) = settings.sinks.apprise
    assert chat.urls[0].get_secret_value() == "tgram://123:sekrit/456"
    assert "sekrit" not in repr(settings)
    assert "tgram://…" in repr(chat.urls[0])
    env["NEWSRADAR_SINKS__APPRISE__TEAM__URLS"] = "sekrit-no-scheme"
    with pytest.raises(ConfigError) as error:
        load_settings(None, env=env)
    assert "sinks.apprise.0.urls" in str(error.value)
    assert "sekrit" not in str(error.value)


def test_documented_example_config_builds_the_sink(tmp_path: Path) -> None:
    example = (Path(__file__).parents[3] / "deploy" / "newsradar.example.toml").read_text()
    block = example[example.index("# [[sinks.apprise]]") :].split("\n#\n")[0]
    lines = [line.removeprefix("# ") for line in block.splitlines()]
    toml = "\n".join(line for line in lines if re.match(r"\[\[|[a-z_]+ = ", line))
    config = tmp_path / "newsradar.toml"
    config.write_text(toml)
    (chat,) = load_settings(config, env={}).sinks.apprise
    assert chat.name == "team"
    assert AppriseSink(chat, tmp_path).services
