"""Atom feeds of alerts, served by the dashboard's app from the alert store it reads:
``GET /feeds/<rule>.atom`` and ``GET /feeds/all.atom`` (the newest ``dashboard.feed_entries``).

XML is built with ElementTree, so untrusted article text is always escaped; characters XML 1.0
cannot hold are removed, so a feed stays well-formed whatever a title holds, and an entry links
to its article only when the URL is http(s) (:mod:`sinks.render`). Each entry carries its
article's language as ``xml:lang`` (when it is a language tag). The articles of one story
(``story_id``) are one entry, updated as outlets join it.

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


def _stories(alerts: Sequence[Alert]) -> list[list[Alert]]:
    """The alerts grouped by story (in the order their stories first appear), each story's
    articles oldest first."""
    grouped: dict[tuple[str, str], list[Alert]] = {}
    for alert in alerts:
        grouped.setdefault((alert.rule_id, alert.story), []).append(alert)
    return [sorted(story, key=lambda a: a.article_published) for story in grouped.values()]


def render(alerts: Sequence[Alert], *, rule: str, self_url: str) -> bytes:
    """The Atom document of ``alerts`` (newest first) for ``rule`` (``all``: every rule): one
    entry per story (a story's first alert gives its id, title and link, its other articles
    are ``related`` links, its summary says how far it spread)."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    title = "all rules" if rule == "all" else rule
    ET.SubElement(feed, f"{{{ATOM}}}title").text = f"newsradar alerts: {title}"
    ET.SubElement(feed, f"{{{ATOM}}}id").text = f"urn:newsradar:feed:{rule}"
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="self", href=xml_text(self_url))
    ET.SubElement(feed, f"{{{ATOM}}}updated").text = newest(alerts).isoformat()
    ET.SubElement(ET.SubElement(feed, f"{{{ATOM}}}author"), f"{{{ATOM}}}name").text = "newsradar"
    for story in _stories(alerts):
        first, latest = story[0], max(story, key=lambda a: (a.story_articles, a.created_at))
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        if _LANGUAGE.fullmatch(first.language):
            entry.set(XML_LANG, first.language)
        # The story's id is its first alert's: a feed reader keeps the entry it had.
        ET.SubElement(entry, f"{{{ATOM}}}id").text = f"urn:newsradar:alert:{first.story}"
        title = first.article_title or first.article_id
        ET.SubElement(entry, f"{{{ATOM}}}title").text = xml_text(title)
        link = safe_link(first.article_url)
        if link:
            ET.SubElement(entry, f"{{{ATOM}}}link", href=xml_text(link))
        for other in story[1:]:
            related = safe_link(other.article_url)
            if related:
                ET.SubElement(entry, f"{{{ATOM}}}link", rel="related", href=xml_text(related))
        updated = max(a.created_at for a in story)
        ET.SubElement(entry, f"{{{ATOM}}}updated").text = updated.isoformat()
        ET.SubElement(entry, f"{{{ATOM}}}published").text = first.article_published.isoformat()
        ET.SubElement(entry, f"{{{ATOM}}}category", term=first.rule_id)
        best = max(story, key=lambda a: a.score)
        terms = sorted({f"{m.term} ({m.denotes})" for m in best.matches})[:20]
        why = best.why()
        spread = latest.reported_by()
        also = "; ".join(a.article_title or a.article_id for a in story[1:6])
        ET.SubElement(entry, f"{{{ATOM}}}summary", type="text").text = xml_text(
            (f"Story: {spread}. " if spread else "")
            + (f"Also: {also}. " if also else "")
            + (f"Why: {why}. " if why else "")
            + f"Rule {best.rule_id} (score {best.score:g}). "
            f"Pairs: {', '.join(best.pairs) or '-'}. Topics: {', '.join(best.topics) or '-'}. "
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
