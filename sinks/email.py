"""Email sink: one message per alert over SMTP (STARTTLS, TLS or plain; optional auth).

The message has a plain-text part and an HTML part in which the matched terms are highlighted
in the article's own words; every piece of article text is HTML-escaped, and CR/LF are removed
from anything that goes into a header, so a title cannot inject headers. Ids already sent are
remembered (SQLite), so a redelivered alert is not mailed twice.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import make_msgid
from html import escape
from pathlib import Path

from newsradar.schemas import Alert
from newsradar.settings import EmailSinkSettings
from sinks.base import Health, Sink
from sinks.delivered import DeliveredIds
from sinks.errors import PermanentSinkError, TransientSinkError


def header_safe(text: str, limit: int = 200) -> str:
    return " ".join(text.split())[:limit]


def highlight_html(alert: Alert) -> str:
    """The title and each match's snippet, escaped, with the matched term in <mark>."""
    parts = []
    for match in alert.matches[:30]:
        snippet = match.snippet or match.term
        at = snippet.find(match.term)
        if at < 0:
            html = escape(snippet)
        else:
            html = (
                escape(snippet[:at])
                + f"<mark>{escape(match.term)}</mark>"
                + escape(snippet[at + len(match.term) :])
            )
        parts.append(f'<li dir="auto">{html} <small>({escape(match.denotes)})</small></li>')
    return "".join(parts)


def build_message(alert: Alert, config: EmailSinkSettings) -> EmailMessage:
    message = EmailMessage()
    title = header_safe(alert.article_title or alert.article_id)
    message["Subject"] = header_safe(f"[newsradar] {alert.rule_id}: {title}")
    message["From"] = config.sender
    message["To"] = ", ".join(config.recipients)
    message["Message-ID"] = make_msgid(idstring=alert.id[:16], domain="newsradar.local")
    message["X-Newsradar-Alert-Id"] = alert.id
    facts = (
        f"Rule: {alert.rule_id} (version {alert.rule_version}, score {alert.score:g})\n"
        f"Countries: {', '.join(alert.countries) or '-'}\nPairs: {', '.join(alert.pairs) or '-'}\n"
        f"Topics: {', '.join(alert.topics) or '-'}\n"
        f"Published: {alert.article_published:%Y-%m-%d %H:%M} UTC\n"
    )
    terms = "\n".join(f"- {m.term} ({m.denotes}): {m.snippet}" for m in alert.matches[:30])
    message.set_content(
        f"{alert.article_title}\n{alert.article_url}\n\n{facts}\nMatched terms:\n{terms}\n"
    )
    message.add_alternative(
        "<html><body>"
        f'<h2 dir="auto"><a href="{escape(alert.article_url, quote=True)}">'
        f"{escape(alert.article_title or alert.article_id)}</a></h2>"
        f"<pre>{escape(facts)}</pre><ul>{highlight_html(alert)}</ul>"
        "</body></html>",
        subtype="html",
    )
    return message


class EmailSink(Sink):
    def __init__(self, config: EmailSinkSettings, state_dir: Path) -> None:
        self.config = config
        self.name = f"email-{config.name}"
        self.delivered = DeliveredIds(state_dir / f"{self.name}.sqlite")

    def setup(self) -> None:
        self.delivered.open()

    def _connect(self) -> smtplib.SMTP:
        c = self.config
        try:
            smtp: smtplib.SMTP
            if c.security == "tls":
                smtp = smtplib.SMTP_SSL(
                    c.host, c.port, timeout=c.timeout_seconds, context=ssl.create_default_context()
                )
            else:
                smtp = smtplib.SMTP(c.host, c.port, timeout=c.timeout_seconds)
                if c.security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
            if c.username:
                smtp.login(c.username, c.password.get_secret_value() if c.password else "")
        except smtplib.SMTPAuthenticationError as exc:
            raise PermanentSinkError(f"{self.name}: SMTP login refused: {exc.smtp_code}") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise TransientSinkError(
                f"{self.name}: SMTP {c.host}:{c.port} unavailable: {type(exc).__name__}: {exc}"
            ) from None
        return smtp

    def write(self, batch: Sequence[Alert]) -> None:
        wanted = [
            a
            for a in self.delivered.fresh(batch)
            if not self.config.rules or a.rule_id in self.config.rules
        ]
        if not wanted:
            return
        smtp = self._connect()
        try:
            for alert in wanted:
                try:
                    smtp.send_message(build_message(alert, self.config))
                except smtplib.SMTPRecipientsRefused as exc:
                    raise PermanentSinkError(f"{self.name}: recipients refused: {exc}") from None
                except (OSError, smtplib.SMTPException) as exc:
                    raise TransientSinkError(f"{self.name}: sending failed: {exc}") from None
                self.delivered.add([alert.id])
        finally:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()

    def healthcheck(self) -> Health:
        """Connect, negotiate and log in as a delivery would; send nothing."""
        try:
            smtp = self._connect()
            smtp.noop()
            smtp.quit()
        except (TransientSinkError, PermanentSinkError, smtplib.SMTPException, OSError) as exc:
            return Health(False, str(exc))
        return Health(True, f"{self.name}: SMTP {self.config.host}:{self.config.port} ok")

    def close(self) -> None:
        self.delivered.close()
