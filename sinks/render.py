"""Alert text from feeds is untrusted: what every channel does to it before rendering.

- Links: only ``http``/``https`` URLs with a host are ever emitted as links (Atom ``<link>``,
  the ``href`` of an email, a Slack link, a webhook's ``article_url``); anything else
  (``javascript:``, ``data:``, ``file:``, scheme-relative ``//host``) is no link at all.
- XML: characters XML 1.0 forbids (C0 controls but tab, LF and CR; U+FFFE, U+FFFF) are removed,
  so an Atom feed stays well-formed whatever a title holds.
- Slack: ``&``, ``<`` and ``>`` are escaped in text; in a link's URL ``|``, ``<``, ``>`` and
  white space are percent-encoded, so a URL cannot end the link early or set its text.
"""

from __future__ import annotations

import re
from html import escape
from urllib.parse import quote, urlsplit

from newsradar.schemas import Alert

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
# What may stand in a Slack link's URL as it is: RFC 3986 characters but | < > (and %).
_SLACK_URL_SAFE = "!#$&'()*+,/:;=?@[]~%"


def safe_link(url: str) -> str:
    """``url`` when it is an http(s) URL with a host, else ``""`` (no link)."""
    candidate = url.strip()
    if not candidate or _CONTROL.search(candidate):
        return ""
    try:
        parts = urlsplit(candidate)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return ""
    return candidate


def xml_text(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot hold."""
    return _NOT_XML.sub("", text)


def without_controls(text: str) -> str:
    """``text`` without control characters (C0, DEL, C1), e.g. for a mail header."""
    return _CONTROL.sub("", text)


def slack_escape(text: str) -> str:
    """Slack's own escaping: &, < and > are control characters in message text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_link(url: str, text: str) -> str:
    """``<url|text>`` for an http(s) ``url``, else the escaped ``text`` alone."""
    link = safe_link(url)
    if not link:
        return slack_escape(text)
    target = quote(link, safe=_SLACK_URL_SAFE).replace("&", "&amp;")
    return f"<{target}|{slack_escape(text)}>"


def linked_title_html(alert: Alert) -> str:
    """The escaped title, linked to the article when its URL is http(s)."""
    title = escape(alert.article_title or alert.article_id)
    link = safe_link(alert.article_url)
    return f'<a href="{escape(link, quote=True)}">{title}</a>' if link else title


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
