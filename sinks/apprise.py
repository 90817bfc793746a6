"""Apprise sink: alerts to Telegram, Matrix, Microsoft Teams, Discord, ntfy and the rest.

`Apprise <https://appriseit.com>`_ speaks to 100+ chat and push services, each named by one
URL (``tgram://BOT_TOKEN/CHAT_ID``, ``msteams://...``, ``ntfys://ntfy.sh/TOPIC``). This sink
sends one message per alert, or digests, with the same rule filter, throttle, quiet hours and
``hourly``/``daily``/``weekly`` cadence as email (:class:`~sinks.push.PushSink`,
:mod:`sinks.noise`).

Feed text is untrusted. The message is written in the configured ``format``:

- ``text`` (the default): plain text, which Apprise itself escapes for each service that reads
  Markdown or HTML, so nothing in a title can become markup there;
- ``markdown``: every ASCII punctuation character of feed text is backslash-escaped
  (CommonMark), so a title cannot open a link, an image or raw HTML;
- ``html``: feed text is HTML-escaped.

In every format only http(s) article links are linked or shown (:func:`sinks.render.safe_link`).

URLs are secrets (tokens sit in their host, path or query): errors and logs show ``scheme://…``
and the URL's position. An alert goes to every URL; when one service fails the sink raises a
:class:`TransientSinkError` (the runner retries with backoff, the alert waits in Kafka) and the
services that already took the alert are not sent it again by this process. A crash in between
may repeat it there (at least once). Apprise reports no reason a service refused, so every
failure is transient; a URL Apprise does not know is a configuration error at start.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from urllib.parse import quote, urlsplit

import apprise

from newsradar.errors import ConfigError
from newsradar.schemas import Alert
from newsradar.settings import AppriseSinkSettings
from sinks.base import Health
from sinks.errors import TransientSinkError
from sinks.noise import Digest
from sinks.push import Clock, PushSink, channel_options, utc_now
from sinks.render import safe_link, without_controls

MATCHES_SHOWN = 10
DIGEST_ALERTS_SHOWN = 50
HEALTHCHECK_TIMEOUT_SECONDS = 5.0
_MARKDOWN_SPECIAL = re.compile(r"[!-/:-@\[-`{-~]")
"""Every ASCII punctuation character: CommonMark lets each be backslash-escaped."""


def _one_line(text: str) -> str:
    """Feed text on one line, without control characters (they could start a new line or
    confuse a terminal-like client)."""
    return without_controls(" ".join(text.split()))


def _markdown_text(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\g<0>", _one_line(text))


def _markdown_link(url: str, text: str) -> str:
    link = safe_link(url)
    if not link:
        return _markdown_text(text)
    # In a link destination, parentheses, angle brackets, backslashes and spaces could end it
    # early or smuggle markup: percent-encode them.
    target = quote(link, safe="!#$&'*+,/:;=?@[]~%")
    return f"[{_markdown_text(text)}]({target})"


def _html_text(text: str) -> str:
    return escape(_one_line(text))


def _html_link(url: str, text: str) -> str:
    link = safe_link(url)
    shown = _html_text(text)
    return f'<a href="{escape(link, quote=True)}">{shown}</a>' if link else shown


def _text_link(url: str, text: str) -> str:
    link = safe_link(url)
    return f"{_one_line(text)}\n{link}" if link else _one_line(text)


@dataclass(frozen=True)
class Markup:
    """How one message format writes untrusted text, emphasis, a link and a line break."""

    body_format: str
    text: Callable[[str], str]
    bold: Callable[[str], str]
    link: Callable[[str, str], str]
    """``link(url, text)``: the text linked to ``url`` when it is http(s), else the text."""
    newline: str


MARKUPS = {
    "text": Markup(apprise.NotifyFormat.TEXT, _one_line, lambda t: t, _text_link, "\n"),
    "markdown": Markup(
        apprise.NotifyFormat.MARKDOWN, _markdown_text, lambda t: f"**{t}**", _markdown_link, "\n"
    ),
    "html": Markup(
        apprise.NotifyFormat.HTML, _html_text, lambda t: f"<b>{t}</b>", _html_link, "<br/>\n"
    ),
}


def alert_message(alert: Alert, markup: Markup) -> tuple[str, str]:
    """The title and body of one alert's message."""
    m = markup
    name = alert.article_title or alert.article_id
    facts = " · ".join(
        [
            m.bold(m.text(alert.rule_id)) + f" (score {alert.score:g})",
            f"{alert.article_published:%Y-%m-%d %H:%M} UTC",
            m.text(f"pairs {', '.join(alert.pairs) or '-'}"),
            m.text(f"topics {', '.join(alert.topics) or '-'}"),
        ]
    )
    lines = [m.link(alert.article_url, name), facts]
    why = alert.why()
    if why:
        lines.append(m.text(f"Why: {why}"))
    for match in alert.matches[:MATCHES_SHOWN]:
        lines.append(m.text(f"- {match.term} ({match.denotes}): {match.snippet or match.term}"))
    return m.text(f"{alert.rule_id}: {name}"), m.newline.join(lines)


def digest_message(digest: Digest, markup: Markup) -> tuple[str, str]:
    """The title and body of one digest's message, newest article first."""
    m = markup
    alerts = sorted(digest.alerts, key=lambda a: a.article_published, reverse=True)
    reasons = ", ".join(digest.reasons)
    head = m.bold(m.text(digest.rule_id)) + m.text(f": {len(alerts)} alerts ({reasons} digest)")
    lines = [head]
    for a in alerts[:DIGEST_ALERTS_SHOWN]:
        lines.append(
            m.text("- ")
            + m.link(a.article_url, a.article_title or a.article_id)
            + m.text(f" · {a.article_published:%Y-%m-%d %H:%M} UTC · score {a.score:g}")
        )
    if len(alerts) > DIGEST_ALERTS_SHOWN:
        lines.append(m.text(f"… and {len(alerts) - DIGEST_ALERTS_SHOWN} more"))
    title = m.text(f"{digest.rule_id}: {len(alerts)} alerts ({reasons} digest)")
    return title, m.newline.join(lines)


def _endpoint(service: apprise.NotifyBase) -> tuple[str, int] | None:
    """The host and port a service talks to: its fixed API (Telegram's, Discord's) or the host
    of its URL (ntfy, Matrix, JSON); None for a service that is not reached over a network."""
    fixed = getattr(type(service), "notify_url", None)
    if isinstance(fixed, str) and fixed.startswith(("http://", "https://")):
        parts = urlsplit(fixed)
        if parts.hostname:
            return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
    host = getattr(service, "host", None)
    if isinstance(host, str) and host:
        port = getattr(service, "port", None)
        secure = bool(getattr(service, "secure", False))
        return host, int(port) if port else (443 if secure else 80)
    return None


class AppriseSink(PushSink):
    def __init__(
        self, config: AppriseSinkSettings, state_dir: Path, clock: Clock = utc_now
    ) -> None:
        super().__init__(
            f"apprise-{config.name}", state_dir, clock=clock, **channel_options(config)
        )
        self.config = config
        self.markup = MARKUPS[config.format]
        self.services: list[tuple[str, apprise.Apprise, apprise.NotifyBase]] = []
        for index, url in enumerate(config.urls):
            where = f"sinks.apprise[{config.name}].urls[{index}]"
            service = apprise.Apprise.instantiate(url.get_secret_value())
            if service is None:
                raise ConfigError(
                    f"{where}: {url} is not a URL Apprise can use (unknown service or a part "
                    "missing); see https://appriseit.com/services/ for each service's URL form"
                )
            one = apprise.Apprise()
            one.add(service)
            self.services.append((f"urls[{index}] {url}", one, service))
        self._taken: set[tuple[str, int]] = set()
        """(message key, URL index) a service took while another failed: not sent again."""

    def _notify(self, key: str, title: str, body: str) -> None:
        failed = []
        for index, (where, one, _) in enumerate(self.services):
            if (key, index) in self._taken:
                continue
            result = one.notify(
                body=body,
                title=title,
                body_format=self.markup.body_format,
                timeout=self.config.timeout_seconds,
            )
            if result:
                self._taken.add((key, index))
            else:
                failed.append(where)
        if failed:
            raise TransientSinkError(
                f"{self.name}: {', '.join(failed)} did not take the message (see the apprise "
                "log lines above for the service's answer)"
            )
        self._taken -= {(key, index) for index in range(len(self.services))}

    def send(self, alerts: Sequence[Alert]) -> None:
        for alert in alerts:
            self._notify(alert.id, *alert_message(alert, self.markup))
            self.sent(alert)

    def send_digest(self, digest: Digest) -> None:
        self._notify(digest.id, *digest_message(digest, self.markup))

    def healthcheck(self) -> Health:
        """Each URL is a service Apprise knows, and the host it talks to takes a TCP
        connection (Apprise has no way to ask a service without sending it a message)."""
        problems = []
        reached = 0
        for where, _, service in self.services:
            endpoint = _endpoint(service)
            if endpoint is None:
                continue
            try:
                with socket.create_connection(endpoint, timeout=HEALTHCHECK_TIMEOUT_SECONDS):
                    pass
            except OSError as exc:
                problems.append(f"{where} unreachable: {type(exc).__name__}")
            else:
                reached += 1
        if problems:
            return Health(False, f"{self.name}: " + "; ".join(problems))
        local = len(self.services) - reached  # e.g. a desktop notification: nothing to reach
        return Health(
            True,
            f"{self.name}: {reached} service(s) reachable"
            + (f", {local} not reached over a network" if local else ""),
        )
