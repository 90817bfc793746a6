"""The dashboard's web server (aiohttp): static page, JSON API, and live alerts over SSE.

- ``GET /``: the page (``static/``: plain HTML, CSS and JS served from here, no CDN), carrying
  the configured ``dashboard.timezone`` in a ``<meta>``; ``GET /static/i18n/{en,ar}.json``: its
  message catalogues (every interface string, per language; the page picks one per browser).
- ``GET /api/alerts?rule=&country=&language=&limit=``: newest alerts, each with its cursor.
- ``GET /api/alerts/{id}``: one alert. ``GET /api/facets``: values for the filters.
- ``GET /api/pairs?hours=24``: articles per country pair per hour. ``GET /api/feeds``: feed health
  (from Kafka).
- ``GET /api/stream``: server-sent events, one ``alert`` event per new alert, its ``id`` the
  cursor; a reconnecting browser sends ``Last-Event-ID`` and misses nothing.
- ``/api/v1/...``: the versioned API (search, triage, pages, export) and
  ``GET /api/openapi.json``, its description: :mod:`sinks.dashboard.api`. The paths above are
  its unversioned forerunners, kept as they were.
- ``GET /feeds/<rule>.atom``, ``/feeds/all.atom``: Atom feeds of the same alerts, with
  conditional GET (:mod:`sinks.dashboard.feeds`).
- ``GET /metrics``: the dashboard's Prometheus metrics (:mod:`sinks.dashboard.metrics`).

One poller reads the store every ``dashboard.poll_seconds`` and fans new alerts out to the open
streams. Pages render every piece of feed text with ``textContent``, never as HTML, and the
Content-Security-Policy allows no inline script, so a ``<script>`` in a title stays text.

Every request first passes the gate (:mod:`sinks.access`): a Host this server answers to (else
421), and the token, its cookie or the trusted proxy header when one is configured (else 401;
``/healthz`` stays open and says only ``{"ok": true}``). Every response, errors and the event
stream included, carries the security headers; every error is one line of JSON,
``{"error": "..."}``: 400 for a query value out of range (a ``Last-Event-ID`` that is not a
cursor is ignored, as a reconnecting browser may send anything), 404, 405, 503 when the alert
store cannot be read (or, for ``/api/feeds``, Kafka: feed health is read from the feeds and
feed-state topics, kept a few seconds by :class:`FeedHealthCache`), 500 for a bug (its
traceback goes to the log, not to the page).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import math
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from html import escape
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp_sse import EventSourceResponse, sse_response

from newsradar.errors import KafkaUnavailableError, NewsradarError
from newsradar.schemas import Alert
from newsradar.settings import Settings
from producers.health import FeedHealth, read_feed_health
from sinks.access import SECURITY_HEADERS, Asked, Gate
from sinks.dashboard import feeds as atom_feeds
from sinks.dashboard import metrics
from sinks.dashboard.store import AlertStore, Row

log = logging.getLogger("newsradar.dashboard")
STATIC = Path(__file__).parent / "static"
STATIC_FILES = frozenset(p.name for p in STATIC.iterdir() if p.suffix in {".js", ".css"})
CATALOGUES = frozenset(p.name for p in (STATIC / "i18n").glob("*.json"))
"""The interface's message catalogues, one per language (``en.json``, ``ar.json``)."""
ZONE_MARK = "UTC"
"""index.html's ``<meta name="newsradar-timezone">`` holds this; the server puts the zone in."""
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
COOKIE = "newsradar_dashboard"
OPEN_PATHS = frozenset({"/healthz"})
"""Paths served without credentials (still only to the allowed Host names)."""
IDLE_TIMEOUT_SECONDS = 20.0
"""A connection that sends nothing for this long between or within requests (a feed reader
that stops mid-request) is dropped; an open event stream is a response, and stays."""
MAX_CURSOR = 2**63 - 1
"""The largest SQLite rowid."""
_WHOLE = re.compile(r"[0-9]{1,19}")  # ASCII digits: "²".isdigit() holds, but int("²") fails
_FILTERS: Mapping[str, tuple[re.Pattern[str], str]] = {
    "rule": (
        re.compile(r"[a-z0-9][a-z0-9._-]{0,63}"),
        "not a rule id (up to 64 lower-case letters, digits, '.', '_', '-')",
    ),
    "country": (re.compile(r"[A-Za-z]{2}"), "not a two-letter country code, e.g. IQ"),
    "language": (
        re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,3}"),
        "not a language code, e.g. en or ar",
    ),
}
STORE: web.AppKey[AlertStore] = web.AppKey("store", AlertStore)
HUB: web.AppKey[Hub] = web.AppKey("hub")
SETTINGS: web.AppKey[Settings] = web.AppKey("settings", Settings)
GATE: web.AppKey[Gate] = web.AppKey("gate", Gate)
FEED_HEALTH: web.AppKey[FeedHealthCache] = web.AppKey("feed_health")
FEED_HEALTH_TTL_SECONDS = 5.0
"""How long a feed-health read from Kafka is served before the next request reads again."""
FEED_HEALTH_TIMEOUT_SECONDS = 10.0
"""How long one read of the feed topics may take before /api/feeds answers 503."""


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
        while True:
            try:
                self.cursor = await asyncio.to_thread(self.store.cursor)
                break
            except sqlite3.Error as exc:  # not there yet, or locked: try again
                log.warning("Alert store not readable: %s", exc)
                await asyncio.sleep(self.poll_seconds)
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


def error(status: int, message: str, headers: Mapping[str, str] | None = None) -> web.Response:
    """The one-line JSON every error is."""
    return web.json_response({"error": message}, status=status, headers=headers)


class BadQuery(web.HTTPBadRequest):
    def __init__(self, name: str, problem: str) -> None:
        super().__init__(
            text=json.dumps({"error": f"{name}: {problem}"}), content_type="application/json"
        )


_ROUTER_ERRORS = {
    404: "not found: the dashboard serves /, its API under /api/v1 (described at "
    "/api/openapi.json) and the older /api/alerts, /api/alerts/<id>, /api/facets, /api/pairs, "
    "/api/feeds and /api/stream, the Atom feeds /feeds/<rule>.atom and /feeds/all.atom, and "
    "/metrics",
    405: "method not allowed: the dashboard answers GET (and HEAD), and PATCH on "
    "/api/v1/alerts/<id>",
}


@web.middleware
async def one_line_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Every error as one line of JSON; a bug's traceback goes to the log only."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type == "application/json":
            raise
        allow = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        return error(exc.status, _ROUTER_ERRORS.get(exc.status, exc.reason.lower()), allow)
    except sqlite3.Error as exc:
        log.warning("Alert store not readable. path=%s error=%s", request.path, exc)
        return error(503, f"the alert store cannot be read ({exc}); try again shortly")
    except NewsradarError as exc:
        return error(503, str(exc))
    except Exception:
        log.exception("Dashboard request failed. path=%s", request.path)
        return error(500, "internal error; the dashboard's log has the details")


@web.middleware
async def gate(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """The Host allow-list and the credentials, before anything is read."""
    hosts = request.headers.getall("Host", [])
    verdict = request.app[GATE].check(
        Asked(
            target=request.raw_path,
            host=hosts[0] if len(hosts) == 1 else None,
            header=request.headers.get,
            peer=request.remote,
            tls=request.secure,
        )
    )
    if verdict.status == 303:
        raise web.HTTPSeeOther(verdict.location, headers={"Set-Cookie": verdict.cookie})
    if verdict.status != 200:
        challenge = {"WWW-Authenticate": verdict.challenge} if verdict.challenge else None
        return error(verdict.status, verdict.reason, challenge)
    return await handler(request)


async def security_headers(request: web.BaseRequest, response: web.StreamResponse) -> None:
    """On every response the app prepares (on_response_prepare): errors, files, streams."""
    response.headers.update(SECURITY_HEADERS)
    if request.path.startswith(atom_feeds.PREFIX):
        response.headers["Content-Security-Policy"] = atom_feeds.CONTENT_SECURITY_POLICY
        # A feed is revalidated by its ETag; errors are never kept.
        kept = response.status in (200, 304)
        response.headers["Cache-Control"] = atom_feeds.CACHE_CONTROL if kept else "no-store"
        return
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    page = request.path == "/" or request.path.startswith("/static/")
    # The page and its files may be kept but must be revalidated; data never.
    response.headers["Cache-Control"] = (
        "no-cache" if page and response.status == 200 else "no-store"
    )


class _Request(web.Request):
    """aiohttp answers a request its parser refuses (not HTTP, a line over 8 KB, a second Host
    header) before routing, so no app signal sees that response: this request puts the
    security headers on it too."""

    async def _prepare_hook(self, response: web.StreamResponse) -> None:
        if self._match_info is None:
            await security_headers(self, response)
        await super()._prepare_hook(response)


def whole(request: web.Request, name: str, default: int, least: int, most: int) -> int:
    raw = request.query.get(name, "")
    if not raw:
        return default
    if not _WHOLE.fullmatch(raw) or not least <= int(raw) <= most:
        raise BadQuery(name, f"must be a whole number from {least} to {most}")
    return int(raw)


def text_filter(request: web.Request, name: str) -> str | None:
    raw = request.query.get(name, "")
    if not raw:
        return None
    pattern, problem = _FILTERS[name]
    if not pattern.fullmatch(raw):
        raise BadQuery(name, problem)
    return raw


@functools.cache
def page(zone: str) -> str:
    """index.html with the configured time zone in its ``newsradar-timezone`` meta."""
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    mark = f'<meta name="newsradar-timezone" content="{ZONE_MARK}">'
    if mark not in html:
        raise NewsradarError(f"{STATIC / 'index.html'}: the line {mark} is missing")
    return html.replace(mark, f'<meta name="newsradar-timezone" content="{escape(zone)}">')


async def index(request: web.Request) -> web.Response:
    return web.Response(
        text=page(request.app[SETTINGS].dashboard.timezone), content_type="text/html"
    )


async def catalogue(request: web.Request) -> web.StreamResponse:
    """A message catalogue, by name: only the files of static/i18n/ are served."""
    name = request.match_info["name"]
    if name not in CATALOGUES:
        return error(404, _ROUTER_ERRORS[404])
    return web.FileResponse(STATIC / "i18n" / name)


async def static(request: web.Request) -> web.StreamResponse:
    """The page's own files, by name: nothing else under static/ (or beyond it) is served."""
    name = request.match_info["name"]
    if name not in STATIC_FILES:
        return error(404, _ROUTER_ERRORS[404])
    return web.FileResponse(STATIC / name)


async def alerts(request: web.Request) -> web.Response:
    store = request.app[STORE]
    rule, country, language = (text_filter(request, n) for n in ("rule", "country", "language"))
    limit = whole(request, "limit", 200, 1, 1000)
    rows = await asyncio.to_thread(
        lambda: store.recent(rule=rule, country=country, language=language, limit=limit)
    )
    cursor = max([r[0] for r in rows], default=0)
    return web.json_response({"alerts": [item(r) for r in rows], "cursor": cursor})


async def alert(request: web.Request) -> web.Response:
    wanted = request.match_info["alert_id"]
    found: Alert | None = None
    if len(wanted) <= 256 and wanted.isprintable() and wanted.isascii():  # what ids are
        found = await asyncio.to_thread(request.app[STORE].get, wanted)
    if found is None:
        return error(404, "no such alert")
    return web.json_response(found.model_dump(mode="json"))


async def facets(request: web.Request) -> web.Response:
    return web.json_response(await asyncio.to_thread(request.app[STORE].facets))


async def pairs(request: web.Request) -> web.Response:
    hours = whole(request, "hours", 24, 1, 24 * 14)
    store = request.app[STORE]
    return web.json_response(await asyncio.to_thread(lambda: store.pair_series(hours)))


class FeedHealthCache:
    """Feed health read from Kafka (:func:`producers.health.read_feed_health`), off the event
    loop, and kept for ``ttl_seconds``: a storm of page refreshes shares one read (two short-
    lived consumers) instead of opening consumers per request. A failed read is kept as long,
    so an unreachable cluster is not asked again by every request either."""

    def __init__(self, settings: Settings, ttl_seconds: float = FEED_HEALTH_TTL_SECONDS) -> None:
        self.settings = settings
        self.ttl_seconds = ttl_seconds
        self._lock = asyncio.Lock()
        self._read_at = -math.inf
        self._value: FeedHealth | str = "not read yet"

    async def get(self) -> FeedHealth:
        async with self._lock:  # requests arriving during a read wait for it, then share it
            if time.monotonic() - self._read_at >= self.ttl_seconds:
                try:
                    self._value = await asyncio.to_thread(
                        read_feed_health,
                        self.settings,
                        timeout_seconds=FEED_HEALTH_TIMEOUT_SECONDS,
                    )
                except NewsradarError as exc:
                    log.warning("Feed health not read. error=%s", exc)
                    self._value = str(exc)
                self._read_at = time.monotonic()
            if isinstance(self._value, str):
                raise KafkaUnavailableError(self._value)
            return self._value


async def feeds(request: web.Request) -> web.Response:
    """Feed health, from newsradar.feeds and newsradar.feed-state; 503 (one line of JSON
    naming the servers) while Kafka cannot be read."""
    health = await request.app[FEED_HEALTH].get()
    return web.json_response({"feeds": health.rows})


async def stream(request: web.Request) -> web.StreamResponse:
    hub = request.app[HUB]
    # A reconnecting browser sends the id of the last event it saw; anything else in that
    # header is ignored (the stream then starts from ``after``, or from now).
    resumed = request.headers.get("Last-Event-ID", "")
    if _WHOLE.fullmatch(resumed) and int(resumed) <= MAX_CURSOR:
        last = int(resumed)
    else:
        last = whole(request, "after", -1, 0, MAX_CURSOR)
    if last < 0:
        last = await asyncio.to_thread(hub.store.cursor)
    queue = hub.subscribe()
    metrics.STREAMS.inc()
    try:
        async with sse_response(request) as response:
            try:
                await _send_alerts(response, queue, hub.store, last)
            except sqlite3.Error as exc:  # the page reconnects and resumes from its last event
                log.warning("Alert store not readable; stream ended. error=%s", exc)
            return response
    finally:
        metrics.STREAMS.dec()
        hub.queues.discard(queue)


async def _send_alerts(
    response: EventSourceResponse, queue: asyncio.Queue[Row | None], store: AlertStore, last: int
) -> None:
    """What was stored since the page's cursor ``last``, then the live alerts; the cursor keeps
    an alert from going out twice where the two overlap."""
    while backlog := await asyncio.to_thread(store.after, last):
        for old in backlog:
            await response.send(json.dumps(item(old)), event="alert", id=str(old[0]))
            last = old[0]
    while response.is_connected():
        row = await queue.get()
        if row is None:
            break
        if row[0] > last:
            await response.send(json.dumps(item(row)), event="alert", id=str(row[0]))
            last = row[0]


async def healthz(request: web.Request) -> web.Response:
    """Open without credentials (for load balancers), so it tells nothing but that the store
    can be read."""
    await asyncio.to_thread(request.app[STORE].cursor)
    return web.json_response({"ok": True})


def create_app(settings: Settings) -> web.Application:
    app = web.Application(middlewares=[metrics.count_requests, one_line_errors, gate])
    app.on_response_prepare.append(security_headers)
    # aiohttp has no public hook for the responses of its parser: its request factory takes
    # the request class (a private parameter; aiohttp is pinned in requirements.lock, and
    # tests/hostile/test_dashboard.py checks those responses).
    app._make_request = functools.partial(app._make_request, _cls=_Request)  # type: ignore[method-assign]
    app[GATE] = Gate(
        settings.dashboard,
        "dashboard",
        cookie_name=COOKIE,
        open_paths=OPEN_PATHS,
        challenge='Bearer realm="newsradar dashboard"',
        reader_prefix=atom_feeds.PREFIX,
        reader_challenge='Basic realm="newsradar feeds"',
    )
    store = AlertStore(settings.alerts_db)
    hub = Hub(store, settings.dashboard.poll_seconds)
    app[STORE] = store
    app[HUB] = hub
    app[SETTINGS] = settings
    app[FEED_HEALTH] = FeedHealthCache(settings)

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
    app.router.add_get("/static/{name}", static)
    app.router.add_get("/static/i18n/{name}", catalogue)
    # The versioned API builds on this module's helpers, so it is imported once they exist.
    from sinks.dashboard.api import add_routes as add_api_routes

    add_api_routes(app)
    atom_feeds.add_routes(app, store, settings.dashboard.feed_entries)
    metrics.add_routes(app)
    return app
