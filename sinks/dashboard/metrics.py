"""Prometheus metrics of the dashboard service, served by its own app at ``GET /metrics``
(behind the same gate as everything else it serves: Host names, and the token when one is set).

- ``newsradar_dashboard_requests_total{route,code}``: requests answered, by route (the route's
  pattern, e.g. ``/feeds/{name}``, or ``other``: bounded) and status code, so feed polls
  answered ``304`` show beside those answered in full.
- ``newsradar_dashboard_streams``: live event streams open now.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, generate_latest

REQUESTS = Counter(
    "newsradar_dashboard_requests_total",
    "Requests the dashboard answered, by route pattern and status code.",
    ["route", "code"],
)
STREAMS = Gauge("newsradar_dashboard_streams", "Live event streams (pages) open now.")


def route_of(request: web.Request) -> str:
    """The matched route's pattern, or ``other`` (unknown paths stay out of the labels)."""
    resource = request.match_info.route.resource
    # Unmatched requests (404, 405) have a system route without a resource.
    return "other" if resource is None else resource.canonical


@web.middleware
async def count_requests(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Counts every answer; outermost, so refusals of the gate and errors count too."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        REQUESTS.labels(route_of(request), str(exc.status)).inc()
        raise
    REQUESTS.labels(route_of(request), str(response.status)).inc()
    return response


async def serve_metrics(_request: web.Request) -> web.Response:
    return web.Response(
        body=generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST}
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/metrics", serve_metrics)
