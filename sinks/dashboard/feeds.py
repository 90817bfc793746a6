"""Atom feeds of alerts, served by the dashboard's app from the alert store it reads:
``GET /feeds/<rule>.atom`` and ``GET /feeds/all.atom`` (the newest ``dashboard.feed_entries``).

XML is built with ElementTree, so untrusted article text is always escaped; characters XML 1.0
cannot hold are removed, so a feed stays well-formed whatever a title holds, and an entry links
to its article only when the URL is http(s) (:mod:`sinks.render`). Each entry carries its
article's language as ``xml:lang`` (when it is a language tag).

Feed readers poll, so the feeds answer conditional requests: the ``ETag`` is a digest of the
feed as served, ``Last-Modified`` the newest entry's time; a request whose ``If-None-Match``
names the current ETag (or, without one, whose ``If-Modified-Since`` is not older than the
newest entry) gets ``304 Not Modified`` and no body. The dashboard's gate admits feed readers
as they send credentials: the token as ``?token=`` in the feed URL (kept there: no cookie, no
redirect), as the password of basic auth, or as ``Authorization: Bearer``.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import UTC, datetime

from aiohttp import web

from newsradar.schemas import Alert
from sinks.dashboard.store import AlertStore
from sinks.render import safe_link, xml_text

ATOM = "http://www.w3.org/2005/Atom"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
PREFIX = "/feeds/"
"""Every feed's path starts so (the gate and the security headers treat them as feeds)."""
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'; sandbox"
)
CACHE_CONTROL = "private, no-cache"
"""Readers may keep a feed but must revalidate it (the ETag makes that cheap); shared caches
must not keep it (it may be behind a token)."""
EMPTY_UPDATED = datetime(1970, 1, 1, tzinfo=UTC)
"""A feed without entries is as old as can be, so its ETag does not change from poll to poll."""
_FEED_NAME = re.compile(r"([a-z0-9][a-z0-9._-]{0,63})\.atom")
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,3}")


def render(alerts: Sequence[Alert], *, rule: str, self_url: str) -> bytes:
    """The Atom document of ``alerts`` (newest first) for ``rule`` (``all``: every rule)."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    title = "all rules" if rule == "all" else rule
    ET.SubElement(feed, f"{{{ATOM}}}title").text = f"newsradar alerts: {title}"
    ET.SubElement(feed, f"{{{ATOM}}}id").text = f"urn:newsradar:feed:{rule}"
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="self", href=xml_text(self_url))
    ET.SubElement(feed, f"{{{ATOM}}}updated").text = newest(alerts).isoformat()
    ET.SubElement(ET.SubElement(feed, f"{{{ATOM}}}author"), f"{{{ATOM}}}name").text = "newsradar"
    for alert in alerts:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        if _LANGUAGE.fullmatch(alert.language):
            entry.set(XML_LANG, alert.language)
        ET.SubElement(entry, f"{{{ATOM}}}id").text = f"urn:newsradar:alert:{alert.id}"
        title = alert.article_title or alert.article_id
        ET.SubElement(entry, f"{{{ATOM}}}title").text = xml_text(title)
        link = safe_link(alert.article_url)
        if link:
            ET.SubElement(entry, f"{{{ATOM}}}link", href=xml_text(link))
        ET.SubElement(entry, f"{{{ATOM}}}updated").text = alert.created_at.isoformat()
        ET.SubElement(entry, f"{{{ATOM}}}published").text = alert.article_published.isoformat()
        ET.SubElement(entry, f"{{{ATOM}}}category", term=alert.rule_id)
        terms = sorted({f"{m.term} ({m.denotes})" for m in alert.matches})[:20]
        why = alert.why()
        ET.SubElement(entry, f"{{{ATOM}}}summary", type="text").text = xml_text(
            (f"Why: {why}. " if why else "") + f"Rule {alert.rule_id} (score {alert.score:g}). "
            f"Pairs: {', '.join(alert.pairs) or '-'}. Topics: {', '.join(alert.topics) or '-'}. "
            f"Matched: {'; '.join(terms) or '-'}."
        )
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + bytes(ET.tostring(feed, encoding="utf-8"))


def newest(alerts: Sequence[Alert]) -> datetime:
    return max((a.created_at for a in alerts), default=EMPTY_UPDATED)


def not_modified(request: web.Request, etag: str, modified: datetime) -> bool:
    """Whether the reader's copy is current (RFC 9110 13.2.2: If-None-Match, when sent,
    decides; If-Modified-Since counts only without it)."""
    if request.if_none_match is not None:
        return any(tag.value in (etag, "*") for tag in request.if_none_match)
    since = request.if_modified_since
    return since is not None and modified.replace(microsecond=0) <= since


async def feed(request: web.Request, store: AlertStore, entries: int) -> web.StreamResponse:
    found = _FEED_NAME.fullmatch(request.match_info["name"])
    if found is None:
        raise web.HTTPNotFound()  # the app's one-line error, naming the feeds' paths
    rule = found.group(1)
    rows = await asyncio.to_thread(
        lambda: store.recent(rule=None if rule == "all" else rule, limit=entries)
    )
    alerts = [alert for _, alert in rows]
    # The feed's own link without the query: a token in the URL stays out of it. The Host
    # has passed the gate: it is one of this server's names.
    body = render(alerts, rule=rule, self_url=f"{request.scheme}://{request.host}{request.path}")
    etag = hashlib.sha256(body).hexdigest()[:32]
    modified = newest(alerts)
    if not_modified(request, etag, modified):
        response = web.Response(status=304)
    else:
        response = web.Response(body=body, content_type="application/atom+xml", charset="utf-8")
    response.etag = etag
    response.last_modified = modified
    return response


def add_routes(app: web.Application, store: AlertStore, entries: int) -> None:
    """``GET /feeds/<rule>.atom`` (and HEAD) on ``app``, reading ``store``."""

    async def serve(request: web.Request) -> web.StreamResponse:
        return await feed(request, store, entries)

    app.router.add_get(PREFIX + "{name}", serve)
