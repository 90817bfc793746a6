"""The dashboard's web server (aiohttp): static page, JSON API, and live alerts over SSE.

- ``GET /``: the page (``static/``: plain HTML, CSS and JS served from here, no CDN).
- ``GET /api/alerts?rule=&country=&language=&limit=``: newest alerts, each with its cursor.
- ``GET /api/alerts/{id}``: one alert. ``GET /api/facets``: values for the filters.
- ``GET /api/pairs?hours=24``: articles per country pair per hour. ``GET /api/feeds``: health.
- ``GET /api/stream``: server-sent events, one ``alert`` event per new alert, its ``id`` the
  cursor; a reconnecting browser sends ``Last-Event-ID`` and misses nothing.

One poller reads the store every ``dashboard.poll_seconds`` and fans new alerts out to the open
streams. Pages render every piece of feed text with ``textContent``, never as HTML, and the
Content-Security-Policy allows no inline script, so a ``<script>`` in a title stays text.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp_sse import sse_response

from newsradar.schemas import Alert
from newsradar.settings import Settings
from producers.health import feed_health
from sinks.dashboard.store import AlertStore, Row

log = logging.getLogger("newsradar.dashboard")
STATIC = Path(__file__).parent / "static"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
STORE: web.AppKey[AlertStore] = web.AppKey("store", AlertStore)
HUB: web.AppKey[Hub] = web.AppKey("hub")
SETTINGS: web.AppKey[Settings] = web.AppKey("settings", Settings)


def item(row: Row) -> dict[str, Any]:
    cursor, alert = row
    return {"cursor": cursor, "alert": alert.model_dump(mode="json")}


class Hub:
    """Polls the store and hands new alerts to every open stream."""

    def __init__(self, store: AlertStore, poll_seconds: float) -> None:
        self.store = store
        self.poll_seconds = poll_seconds
        self.cursor = 0
        self.queues: set[asyncio.Queue[Row | None]] = set()

    async def run(self) -> None:
        self.cursor = await asyncio.to_thread(self.store.cursor)
        while True:
            await asyncio.sleep(self.poll_seconds)
            try:
                rows = await asyncio.to_thread(self.store.after, self.cursor)
            except Exception as exc:  # the store is busy or gone for a moment: try again
                log.warning("Alert store not readable: %s", exc)
                continue
            for row in rows:
                self.cursor = max(self.cursor, row[0])
                for queue in list(self.queues):
                    if queue.qsize() >= queue.maxsize - 1:
                        # A stalled page: end its stream; it reconnects and catches up.
                        self.queues.discard(queue)
                        queue.put_nowait(None)
                    else:
                        queue.put_nowait(row)

    def subscribe(self) -> asyncio.Queue[Row | None]:
        queue: asyncio.Queue[Row | None] = asyncio.Queue(maxsize=1000)
        self.queues.add(queue)
        return queue

    def close(self) -> None:
        """End every open stream (None tells it to), so shutdown does not wait for them."""
        for queue in self.queues:
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(None)
        self.queues.clear()


@web.middleware
async def security_headers(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    response = await handler(request)
    response.headers.update(SECURITY_HEADERS)
    return response


def _int(request: web.Request, name: str, default: int, most: int) -> int:
    raw = request.query.get(name, "")
    if not raw:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= most:
        raise web.HTTPBadRequest(text=f"{name} must be a whole number from 1 to {most}")
    return int(raw)


async def index(_request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html")


async def alerts(request: web.Request) -> web.Response:
    store = request.app[STORE]
    rows = await asyncio.to_thread(
        lambda: store.recent(
            rule=request.query.get("rule") or None,
            country=request.query.get("country") or None,
            language=request.query.get("language") or None,
            limit=_int(request, "limit", 200, 1000),
        )
    )
    cursor = max([r[0] for r in rows], default=0)
    return web.json_response({"alerts": [item(r) for r in rows], "cursor": cursor})


async def alert(request: web.Request) -> web.Response:
    found: Alert | None = await asyncio.to_thread(
        request.app[STORE].get, request.match_info["alert_id"]
    )
    if found is None:
        raise web.HTTPNotFound(text="no such alert")
    return web.json_response(found.model_dump(mode="json"))


async def facets(request: web.Request) -> web.Response:
    return web.json_response(await asyncio.to_thread(request.app[STORE].facets))


async def pairs(request: web.Request) -> web.Response:
    hours = _int(request, "hours", 24, 24 * 14)
    store = request.app[STORE]
    return web.json_response(await asyncio.to_thread(lambda: store.pair_series(hours)))


async def feeds(request: web.Request) -> web.Response:
    rows = await asyncio.to_thread(feed_health, request.app[SETTINGS])
    return web.json_response({"feeds": [row for row, _ in rows]})


async def stream(request: web.Request) -> web.StreamResponse:
    hub = request.app[HUB]
    raw = request.headers.get("Last-Event-ID") or request.query.get("after") or ""
    queue = hub.subscribe()
    try:
        async with sse_response(request) as response:
            # Without a cursor the stream starts from now.
            last = int(raw) if raw.isdigit() else await asyncio.to_thread(hub.store.cursor)
            # What was stored since the page's cursor, then the live ones; the cursor keeps
            # an alert from going out twice where the two overlap.
            for old in await asyncio.to_thread(hub.store.after, last):
                await response.send(json.dumps(item(old)), event="alert", id=str(old[0]))
                last = old[0]
            while response.is_connected():
                row = await queue.get()
                if row is None:
                    break
                if row[0] > last:
                    await response.send(json.dumps(item(row)), event="alert", id=str(row[0]))
                    last = row[0]
            return response
    finally:
        hub.queues.discard(queue)


async def healthz(request: web.Request) -> web.Response:
    cursor = await asyncio.to_thread(request.app[STORE].cursor)
    return web.json_response({"ok": True, "cursor": cursor})


def create_app(settings: Settings) -> web.Application:
    app = web.Application(middlewares=[security_headers])
    store = AlertStore(settings.alerts_db)
    hub = Hub(store, settings.dashboard.poll_seconds)
    app[STORE] = store
    app[HUB] = hub
    app[SETTINGS] = settings

    async def poller(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(hub.run())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        store.close()

    async def end_streams(_app: web.Application) -> None:
        hub.close()

    app.cleanup_ctx.append(poller)
    app.on_shutdown.append(end_streams)
    app.router.add_get("/", index)
    app.router.add_get("/api/alerts", alerts)
    app.router.add_get("/api/alerts/{alert_id}", alert)
    app.router.add_get("/api/facets", facets)
    app.router.add_get("/api/pairs", pairs)
    app.router.add_get("/api/feeds", feeds)
    app.router.add_get("/api/stream", stream)
    app.router.add_get("/healthz", healthz)
    app.router.add_static("/static/", STATIC)
    return app
