"""The dashboard's versioned API, ``/api/v1``, described by ``openapi.json`` (OpenAPI 3.1, beside
this module, served at ``/api/openapi.json``; a test holds every route the dashboard serves and
that file to each other).

- ``GET /api/v1/alerts``: alerts newest first, filtered (``rule``, ``country``, ``language``,
  ``q`` search words, ``unread``, ``starred``, ``since``), ``limit`` per page; ``next`` is an
  opaque cursor for the following page (``cursor=``), null on the last one.
- ``GET /api/v1/alerts/{id}``: one alert with its triage state; ``PATCH`` with
  ``{"read": bool, "starred": bool}`` (either) changes it.
- ``GET /api/v1/export?format=csv|jsonl``: every alert of the same filters (at most
  :data:`MAX_EXPORT`) as a file to download.
- ``GET /api/v1/facets``, ``/pairs``, ``/feeds``, ``/stream``: as the unversioned paths.

The unversioned ``/api/*`` paths answer as before (deprecated in the description). Everything
passes the dashboard's gate (Host allow-list, token): an API client sends the token as
``Authorization: Bearer``. A change (``PATCH``) must come as JSON, which a page on another site
cannot send without the browser asking first, and a browser request marked cross-site
(``Sec-Fetch-Site``) is refused.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import re
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from sinks import export
from sinks.dashboard import app as dashboard
from sinks.search import AlertFilter, StoredAlert
from sinks.search import BadQuery as UnreadableSearch

log = logging.getLogger("newsradar.dashboard")
OPENAPI = Path(__file__).parent / "openapi.json"
PREFIX = "/api/v1"
MAX_QUERY_CHARS = 500
MAX_EXPORT = 100_000
"""Alerts in one export at most (newest first); narrow the filters for older ones."""
EXPORT_PAGE = 1000
MAX_CHANGE_BYTES = 1024
_FLAGS = {"": False, "0": False, "false": False, "1": True, "true": True}
_CURSOR = re.compile(r"[A-Za-z0-9_-]{1,64}")
_CURSOR_TEXT = re.compile(r"before:([0-9]{1,19})")


def stored_item(stored: StoredAlert) -> dict[str, Any]:
    return {
        "cursor": stored.cursor,
        "read": stored.read,
        "starred": stored.starred,
        "alert": stored.alert.model_dump(mode="json"),
    }


def encode_cursor(before: int) -> str:
    return base64.urlsafe_b64encode(f"before:{before}".encode()).decode().rstrip("=")


def decode_cursor(request: web.Request) -> int | None:
    raw = request.query.get("cursor", "")
    if not raw:
        return None
    problem = "not a cursor this API gave (use the `next` of a page, or start without one)"
    if not _CURSOR.fullmatch(raw):
        raise dashboard.BadQuery("cursor", problem)
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise dashboard.BadQuery("cursor", problem) from None
    found = _CURSOR_TEXT.fullmatch(text)
    if found is None or int(found.group(1)) > dashboard.MAX_CURSOR:
        raise dashboard.BadQuery("cursor", problem)
    return int(found.group(1))


def flag(request: web.Request, name: str) -> bool:
    raw = request.query.get(name, "").lower()
    if raw not in _FLAGS:
        raise dashboard.BadQuery(name, "must be true or false")
    return _FLAGS[raw]


def moment(request: web.Request, name: str) -> datetime | None:
    raw = request.query.get(name, "")
    if not raw:
        return None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise dashboard.BadQuery(
            name, "not an ISO 8601 time, e.g. 2026-11-28 or 2026-11-28T06:00:00Z"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def alert_filter(request: web.Request) -> AlertFilter:
    """The filters of a list or export request; 400 naming the parameter for a bad one."""
    rule, country, language = (
        dashboard.text_filter(request, n) for n in ("rule", "country", "language")
    )
    query = request.query.get("q", "").strip() or None
    if query is not None and len(query) > MAX_QUERY_CHARS:
        raise dashboard.BadQuery("q", f"longer than {MAX_QUERY_CHARS} characters")
    try:
        return AlertFilter(
            rule=rule,
            country=country.upper() if country else None,
            language=language,
            query=query,
            unread=flag(request, "unread"),
            starred=flag(request, "starred"),
            since=moment(request, "since"),
        )
    except UnreadableSearch as exc:
        raise dashboard.BadQuery("q", str(exc)) from None


async def list_alerts(request: web.Request) -> web.Response:
    store = request.app[dashboard.STORE]
    wanted = alert_filter(request)
    limit = dashboard.whole(request, "limit", 100, 1, 1000)
    before = decode_cursor(request)
    rows = await asyncio.to_thread(store.find, wanted, before=before, limit=limit + 1)
    page = rows[:limit]
    following = encode_cursor(page[-1].cursor) if len(rows) > limit else None
    return web.json_response({"alerts": [stored_item(s) for s in page], "next": following})


def _alert_id(request: web.Request) -> str | None:
    wanted = request.match_info["alert_id"]
    ok = len(wanted) <= 256 and wanted.isprintable() and wanted.isascii()  # what ids are
    return wanted if ok else None


async def get_alert(request: web.Request) -> web.Response:
    wanted = _alert_id(request)
    found = None
    if wanted is not None:
        found = await asyncio.to_thread(request.app[dashboard.STORE].stored, wanted)
    if found is None:
        return dashboard.error(404, "no such alert")
    return web.json_response(stored_item(found))


async def change_alert(request: web.Request) -> web.Response:
    """Triage: ``{"read": true}``, ``{"starred": false}``, or both."""
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in {"same-origin", "none"}:
        return dashboard.error(403, "changes are accepted from the dashboard's own pages only")
    if request.content_type != "application/json":
        return dashboard.error(
            415, 'send the change as JSON (Content-Type: application/json): {"read": true}'
        )
    body = await request.content.read(MAX_CHANGE_BYTES + 1)
    try:
        change = json.loads(body) if len(body) <= MAX_CHANGE_BYTES else None
    except (ValueError, UnicodeDecodeError):
        change = None
    if (
        not isinstance(change, dict)
        or not change
        or not set(change) <= {"read", "starred"}
        or not all(isinstance(v, bool) for v in change.values())
    ):
        return dashboard.error(
            400, 'the change must be a JSON object of "read" and/or "starred", each true or false'
        )
    wanted = _alert_id(request)
    found = None
    if wanted is not None:
        store = request.app[dashboard.STORE]
        found = await asyncio.to_thread(
            lambda: store.triage(wanted, read=change.get("read"), starred=change.get("starred"))
        )
    if found is None:
        return dashboard.error(404, "no such alert")
    return web.json_response(stored_item(found))


async def export_alerts(request: web.Request) -> web.StreamResponse:
    form = request.query.get("format", "csv")
    if form not in export.MEDIA_TYPES:
        raise dashboard.BadQuery("format", "must be csv or jsonl")
    chosen: export.Format = "csv" if form == "csv" else "jsonl"
    wanted = alert_filter(request)
    store = request.app[dashboard.STORE]
    first = await asyncio.to_thread(store.find, wanted, limit=EXPORT_PAGE)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    response = web.StreamResponse(
        headers={
            "Content-Type": f"{export.MEDIA_TYPES[chosen]}; charset=utf-8",
            "Content-Disposition": f'attachment; filename="newsradar-alerts-{stamp}.{chosen}"',
        }
    )
    await response.prepare(request)
    await response.write(export.header(chosen).encode())
    page, sent = first, 0
    try:
        while page and sent < MAX_EXPORT:
            page = page[: MAX_EXPORT - sent]
            await response.write("".join(export.row(s, chosen) for s in page).encode())
            sent += len(page)
            before = page[-1].cursor
            page = await asyncio.to_thread(store.find, wanted, before=before, limit=EXPORT_PAGE)
    except sqlite3.Error as exc:  # the headers are sent: the file ends short, the log says why
        log.warning("Export ended early: the alert store cannot be read. error=%s", exc)
        return response
    except ConnectionResetError:  # the browser went away (a cancelled download)
        log.info("Export ended early: the client closed the connection. sent=%d", sent)
        return response
    await response.write_eof()
    return response


async def openapi(_request: web.Request) -> web.FileResponse:
    return web.FileResponse(OPENAPI, headers={"Content-Type": "application/json"})


def add_routes(app: web.Application) -> None:
    """The versioned API and its description, on the dashboard ``app``."""
    app.router.add_get("/api/openapi.json", openapi)
    app.router.add_get(f"{PREFIX}/alerts", list_alerts)
    app.router.add_get(f"{PREFIX}/alerts/{{alert_id}}", get_alert)
    app.router.add_patch(f"{PREFIX}/alerts/{{alert_id}}", change_alert)
    app.router.add_get(f"{PREFIX}/export", export_alerts)
    app.router.add_get(f"{PREFIX}/facets", dashboard.facets)
    app.router.add_get(f"{PREFIX}/pairs", dashboard.pairs)
    app.router.add_get(f"{PREFIX}/feeds", dashboard.feeds)
    app.router.add_get(f"{PREFIX}/stream", dashboard.stream)
