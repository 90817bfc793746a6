"""Email sink: one message per alert, or digests, over SMTP (STARTTLS, TLS or plain; auth).

Each rule's ``cadence`` is ``immediate`` (one message per alert) or an
``hourly``/``daily``/``weekly`` digest; throttle and quiet hours (``noise``) fold the rest
into digests too (see sinks.noise).

The message has a plain-text part and an HTML part in which the matched terms are highlighted
in the article's own words; every piece of article text is HTML-escaped, control characters
(CR/LF among them) are removed from anything that goes into a header, so a title cannot inject
headers, and only http(s) article links are linked or shown. Ids already sent are remembered
(SQLite), so a redelivered alert is not mailed twice.

An alert no message can be made of, or one the server refuses for good (5xx to its data), is
permanent: it is dead-lettered and the sink goes on. Connection trouble and 4xx are transient.
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
from sinks.base import Health
from sinks.errors import PermanentSinkError, TransientSinkError
from sinks.noise import Digest
from sinks.push import Clock, PushSink, channel_options, utc_now
from sinks.render import highlight_html, linked_title_html, safe_link, without_controls


def header_safe(text: str, limit: int = 200) -> str:
    return without_controls(" ".join(text.split()))[:limit]


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
    why = alert.why()
    message.set_content(
        f"{alert.article_title}\n{safe_link(alert.article_url)}\n\n"
        + (f"Why: {why}\n\n" if why else "")
        + f"{facts}\nMatched terms:\n{terms}\n"
    )
    message.add_alternative(
        "<html><body>"
        f'<h2 dir="auto">{linked_title_html(alert)}</h2>'
        + (f'<p dir="auto"><strong>Why:</strong> {escape(why)}</p>' if why else "")
        + f"<pre>{escape(facts)}</pre><ul>{highlight_html(alert)}</ul>"
        "</body></html>",
        subtype="html",
    )
    return message


def build_digest(digest: Digest, config: EmailSinkSettings) -> EmailMessage:
    """One message listing every alert of the digest, newest article first."""
    alerts = sorted(digest.alerts, key=lambda a: a.article_published, reverse=True)
    message = EmailMessage()
    why = ", ".join(digest.reasons)
    message["Subject"] = header_safe(
        f"[newsradar] {digest.rule_id}: {len(alerts)} alerts ({why} digest)"
    )
    message["From"] = config.sender
    message["To"] = ", ".join(config.recipients)
    message["Message-ID"] = make_msgid(idstring=digest.id[7:23], domain="newsradar.local")
    message["X-Newsradar-Digest-Id"] = digest.id
    lines = [
        f"- {a.article_published:%Y-%m-%d %H:%M} UTC · {a.article_title or a.article_id}\n"
        f"  {safe_link(a.article_url) or '(no link)'}\n"
        f"  pairs {', '.join(a.pairs) or '-'} · topics {', '.join(a.topics) or '-'} · "
        f"score {a.score:g}"
        for a in alerts
    ]
    message.set_content(
        f"{len(alerts)} alerts of rule {digest.rule_id} ({why}).\n\n" + "\n".join(lines) + "\n"
    )
    items = "".join(
        f'<li><h3 dir="auto">{linked_title_html(a)}</h3>'
        f"<small>{a.article_published:%Y-%m-%d %H:%M} UTC · "
        f"{escape(', '.join(a.pairs) or '-')} · {escape(', '.join(a.topics) or '-')}</small>"
        f"<ul>{highlight_html(a)}</ul></li>"
        for a in alerts
    )
    message.add_alternative(
        f"<html><body><p>{len(alerts)} alerts of rule <b>{escape(digest.rule_id)}</b> "
        f"({escape(why)}).</p><ol>{items}</ol></body></html>",
        subtype="html",
    )
    return message


class EmailSink(PushSink):
    def __init__(self, config: EmailSinkSettings, state_dir: Path, clock: Clock = utc_now) -> None:
        super().__init__(f"email-{config.name}", state_dir, clock=clock, **channel_options(config))
        self.config = config

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

    def _deliver(self, messages: Sequence[tuple[EmailMessage, Alert | None]]) -> None:
        """Send over one SMTP session; ``sent`` is noted for each alert message that went out."""
        smtp = self._connect()
        try:
            for message, alert in messages:
                try:
                    smtp.send_message(message)
                except smtplib.SMTPRecipientsRefused as exc:
                    raise PermanentSinkError(f"{self.name}: recipients refused: {exc}") from None
                except smtplib.SMTPDataError as exc:
                    # 5xx to the message itself (too large, refused content) is for good.
                    error = PermanentSinkError if exc.smtp_code >= 500 else TransientSinkError
                    raise error(
                        f"{self.name}: message refused: {exc.smtp_code} {_one_line(exc.smtp_error)}"
                    ) from None
                except (ValueError, UnicodeError) as exc:
                    raise PermanentSinkError(
                        f"{self.name}: alert cannot be mailed: {_one_line(exc)}"
                    ) from None
                except (OSError, smtplib.SMTPException) as exc:
                    raise TransientSinkError(f"{self.name}: sending failed: {exc}") from None
                if alert is not None:
                    self.sent(alert)
        finally:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()

    def send(self, alerts: Sequence[Alert]) -> None:
        self._deliver([(self._message(a), a) for a in alerts])

    def _message(self, alert: Alert) -> EmailMessage:
        try:
            return build_message(alert, self.config)
        except (ValueError, UnicodeError) as exc:  # e.g. an id no header can hold
            raise PermanentSinkError(
                f"{self.name}: alert cannot be mailed: {_one_line(exc)}"
            ) from None

    def send_digest(self, digest: Digest) -> None:
        self._deliver([(build_digest(digest, self.config), None)])

    def healthcheck(self) -> Health:
        """Connect, negotiate and log in as a delivery would; send nothing."""
        try:
            smtp = self._connect()
            smtp.noop()
            smtp.quit()
        except (TransientSinkError, PermanentSinkError, smtplib.SMTPException, OSError) as exc:
            return Health(False, str(exc))
        return Health(True, f"{self.name}: SMTP {self.config.host}:{self.config.port} ok")


def _one_line(value: object, limit: int = 300) -> str:
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return " ".join(text.split())[:limit]
