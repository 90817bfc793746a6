"""Fetch one feed over HTTP: conditional GET, redirects followed by hand, size-capped bodies.

Every failure becomes a :class:`~producers.errors.FeedError` with an ``error_class`` that feed
health and metrics show: ``timeout`` (one read), ``deadline`` (the whole fetch), ``dns``,
``connection_refused``, ``network``, ``http_4xx``, ``http_5xx``, ``rate_limited``, ``gone``,
``redirect_loop``, ``too_many_redirects``, ``bad_scheme`` and ``bad_url`` (a URL, or a redirect
to one, that is not http(s) or has no valid host and port), ``too_large``.

Each read waits at most the client's timeout; the whole fetch, redirects included, at most
``deadline_seconds``, so that a server dripping one byte at a time cannot hold a fetch open.
"""

from __future__ import annotations

import asyncio
import email.utils
import re
import socket
import time
from dataclasses import dataclass
from datetime import UTC
from urllib.parse import urljoin

import httpx

from producers.errors import FeedGoneError, PermanentFeedError, TransientFeedError
from producers.feeds import url_problem

ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5"
)
_MAX_AGE = re.compile(r"max-age=(\d+)")


@dataclass(frozen=True)
class Validators:
    etag: str = ""
    last_modified: str = ""


@dataclass(frozen=True)
class FetchResult:
    url: str
    """The URL finally read (after redirects)."""
    status: int
    body: bytes
    headers: dict[str, str]
    seconds: float
    moved_to: str = ""
    """New address when every redirect on the way was permanent (301/308)."""

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def validators(self) -> Validators:
        return Validators(self.headers.get("etag", ""), self.headers.get("last-modified", ""))

    @property
    def max_age_seconds(self) -> float | None:
        match = _MAX_AGE.search(self.headers.get("cache-control", ""))
        return float(match.group(1)) if match else None


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


def http_client(
    *,
    timeout_seconds: float,
    user_agent: str,
    max_connections: int = 100,
    max_keepalive_connections: int = 100,
) -> httpx.AsyncClient:
    """The client feeds are fetched with: per-read timeout, no automatic redirects
    (:func:`fetch_feed` follows them itself), and redirects to non-web addresses refused
    before httpx tries to parse them (it raises on ``javascript:`` and the like)."""
    return httpx.AsyncClient(
        timeout=timeout_seconds,
        limits=httpx.Limits(
            max_connections=max_connections,
            max_keepalive_connections=min(max_connections, max_keepalive_connections),
        ),
        follow_redirects=False,
        headers={"User-Agent": user_agent},
        event_hooks={"response": [_refuse_unusable_redirect]},
    )


async def _refuse_unusable_redirect(response: httpx.Response) -> None:
    if response.has_redirect_location:
        redirect_target(str(response.request.url), response.headers.get("location", ""))


def redirect_target(current: str, location: str) -> str:
    """The absolute address ``current`` redirects to; PermanentFeedError when newsradar will
    not follow it (not http(s), no host, a bad port)."""
    try:
        target = urljoin(current, location.strip())
        problem = url_problem(target)
    except ValueError as exc:
        target, problem = location, ("bad_url", str(exc))
    if problem is not None:
        error_class, reason = problem
        raise PermanentFeedError(
            f"{current} redirects to {_shorten(target)!r}, which newsradar does not follow "
            f"({reason.partition(';')[0]}); find the feed's current address and fix it in "
            "the feed list",
            error_class=error_class,
        )
    return target


def _shorten(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _network_error(exc: httpx.TransportError) -> TransientFeedError:
    if isinstance(exc, httpx.TimeoutException):
        return TransientFeedError(f"timed out ({type(exc).__name__})", error_class="timeout")
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, socket.gaierror):
            return TransientFeedError(f"DNS lookup failed: {cause}", error_class="dns")
        if isinstance(cause, ConnectionRefusedError):
            return TransientFeedError("connection refused", error_class="connection_refused")
        cause = cause.__cause__ or cause.__context__
    text = str(exc) or type(exc).__name__
    if "Name or service not known" in text or "nodename nor servname" in text:
        return TransientFeedError(f"DNS lookup failed: {text}", error_class="dns")
    if "Connection refused" in text or "Errno 111" in text:
        return TransientFeedError("connection refused", error_class="connection_refused")
    return TransientFeedError(f"network error: {text}", error_class="network")


async def fetch_feed(
    client: httpx.AsyncClient,
    url: str,
    *,
    validators: Validators | None = None,
    max_bytes: int,
    max_redirects: int,
    deadline_seconds: float,
) -> FetchResult:
    """GET ``url`` conditionally within ``deadline_seconds``; raise a FeedError subclass on any
    failure."""
    problem = url_problem(url)
    if problem is not None:
        raise PermanentFeedError(problem[1], error_class=problem[0])
    try:
        async with asyncio.timeout(deadline_seconds):
            return await _fetch(
                client, url, validators=validators, max_bytes=max_bytes, max_redirects=max_redirects
            )
    except TimeoutError:
        raise TransientFeedError(
            f"no complete answer within {deadline_seconds:g} s "
            "(producers.fetch_deadline_seconds): the server sends too slowly; raise the "
            "deadline if this feed is just slow",
            error_class="deadline",
        ) from None


async def _fetch(
    client: httpx.AsyncClient,
    url: str,
    *,
    validators: Validators | None,
    max_bytes: int,
    max_redirects: int,
) -> FetchResult:
    headers = {"Accept": ACCEPT}
    if validators and validators.etag:
        headers["If-None-Match"] = validators.etag
    if validators and validators.last_modified:
        headers["If-Modified-Since"] = validators.last_modified
    started = time.perf_counter()
    current = url
    seen = {url}
    permanent = True
    for _ in range(max_redirects + 1):
        try:
            async with client.stream("GET", current, headers=headers) as response:
                if response.has_redirect_location:
                    target = redirect_target(current, response.headers.get("location", ""))
                    if target in seen:
                        raise PermanentFeedError(
                            f"redirect loop at {target}", error_class="redirect_loop"
                        )
                    seen.add(target)
                    permanent = permanent and response.status_code in (301, 308)
                    current = target
                    continue
                status = response.status_code
                response_headers = {k.lower(): v for k, v in response.headers.items()}
                if status == 304:
                    # A 304 has no body, but until the stream is read to its end httpcore
                    # does not know the answer is complete and closes the connection instead
                    # of keeping it for the next feed on this host (measured: a connect and a
                    # server thread per poll). Reading the empty body keeps it alive.
                    await response.aread()
                    body = b""
                elif status == 410:
                    raise FeedGoneError("410 Gone: the publisher retired this feed")
                elif status == 429 or status >= 500:
                    raise TransientFeedError(
                        f"HTTP {status}",
                        error_class="rate_limited" if status == 429 else "http_5xx",
                        retry_after=retry_after_seconds(response.headers.get("retry-after")),
                    )
                elif 300 <= status < 400:
                    raise PermanentFeedError(
                        f"HTTP {status} without a usable Location", error_class="http_3xx"
                    )
                elif status >= 400:
                    raise PermanentFeedError(f"HTTP {status}", error_class="http_4xx")
                else:
                    body = await _read_capped(response, max_bytes)
                return FetchResult(
                    url=current,
                    status=status,
                    body=body,
                    headers=response_headers,
                    seconds=time.perf_counter() - started,
                    moved_to=current if permanent and current != url else "",
                )
        except httpx.InvalidURL as exc:
            # A client without http_client's redirect check: httpx parses the Location itself.
            raise PermanentFeedError(
                f"{current} answered with an address httpx cannot use ({exc}); find the "
                "feed's current address and fix it in the feed list",
                error_class="bad_url",
            ) from None
        except httpx.TransportError as exc:
            raise _network_error(exc) from None
        except httpx.DecodingError as exc:
            raise PermanentFeedError(
                f"body could not be decoded: {exc}", error_class="decoding"
            ) from None
    raise PermanentFeedError(
        f"more than {max_redirects} redirects", error_class="too_many_redirects"
    )


async def _read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise PermanentFeedError(
            f"body of {int(declared)} bytes exceeds the cap of {max_bytes}", error_class="too_large"
        )
    chunks: list[bytes] = []
    size = 0
    # aiter_bytes yields decompressed bytes: the cap holds for gzip bombs too.
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise PermanentFeedError(
                f"body exceeds the cap of {max_bytes} bytes (after decompression)",
                error_class="too_large",
            )
        chunks.append(chunk)
    return b"".join(chunks)
