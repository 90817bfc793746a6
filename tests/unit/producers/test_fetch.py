"""Fetching against a real local HTTP server: every bad-input case ends as a FeedError."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import httpx
import pytest

from producers.errors import FeedError, FeedGoneError, PermanentFeedError, TransientFeedError
from producers.fetch import FetchResult, Validators, fetch_feed, http_client, retry_after_seconds
from tests.feedserver import FeedServer, Reply, feed_server, gzip_bomb, rss

FEED = rss([{"title": "a", "link": "https://example.org/a", "guid": "a"}])


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with feed_server() as s:
        yield s


def get(
    url: str,
    validators: Validators | None = None,
    *,
    max_bytes: int = 1_000_000,
    timeout: float = 5.0,
) -> FetchResult:
    async def go() -> FetchResult:
        async with httpx.AsyncClient(timeout=timeout) as client:
            return await fetch_feed(
                client,
                url,
                validators=validators,
                max_bytes=max_bytes,
                max_redirects=3,
                deadline_seconds=30,
            )

    return asyncio.run(go())


def error_of(url: str, **kw: object) -> FeedError:
    with pytest.raises(FeedError) as info:
        get(url, **kw)  # type: ignore[arg-type]
    return info.value


def test_conditional_get_sends_validators_and_reads_304(server: FeedServer) -> None:
    def route(headers: dict[str, str]) -> Reply:
        if headers.get("if-none-match") == '"v1"':
            return Reply(304)
        return Reply(
            200,
            FEED,
            {
                "ETag": '"v1"',
                "Last-Modified": "Sat, 28 Nov 2026 10:00:00 GMT",
                "Cache-Control": "max-age=600",
            },
        )

    server.routes["/f"] = route
    first = get(server.url("/f"))
    assert (first.status, first.body, first.validators.etag) == (200, FEED, '"v1"')
    assert first.max_age_seconds == 600
    second = get(server.url("/f"), first.validators)
    assert second.not_modified
    assert server.hits("/f")[1]["if-modified-since"] == "Sat, 28 Nov 2026 10:00:00 GMT"


def test_permanent_redirect_is_followed_and_reported(server: FeedServer) -> None:
    server.routes["/old"] = Reply(301, headers={"Location": "/new"})
    server.routes["/new"] = Reply(200, FEED)
    result = get(server.url("/old"))
    assert (result.body, result.moved_to) == (FEED, server.url("/new"))
    server.routes["/tmp"] = Reply(302, headers={"Location": "/new"})
    assert get(server.url("/tmp")).moved_to == ""


@pytest.mark.parametrize(
    ("routes", "path", "kind", "error_class"),
    [
        (
            {
                "/a": Reply(302, headers={"Location": "/b"}),
                "/b": Reply(302, headers={"Location": "/a"}),
            },
            "/a",
            PermanentFeedError,
            "redirect_loop",
        ),
        (
            {f"/r{i}": Reply(302, headers={"Location": f"/r{i + 1}"}) for i in range(6)},
            "/r0",
            PermanentFeedError,
            "too_many_redirects",
        ),
        (
            {"/f": Reply(302, headers={"Location": "file:///etc/passwd"})},
            "/f",
            PermanentFeedError,
            "bad_scheme",
        ),
        ({"/g": Reply(410)}, "/g", FeedGoneError, "gone"),
        ({"/n": Reply(404)}, "/n", PermanentFeedError, "http_4xx"),
        ({"/e": Reply(503, headers={"Retry-After": "120"})}, "/e", TransientFeedError, "http_5xx"),
        ({"/t": Reply(429)}, "/t", TransientFeedError, "rate_limited"),
        ({"/big": Reply(200, b"x" * 2_000_000)}, "/big", PermanentFeedError, "too_large"),
        (
            {"/bomb": Reply(200, gzip_bomb(20_000_000), {"Content-Encoding": "gzip"})},
            "/bomb",
            PermanentFeedError,
            "too_large",
        ),
    ],
)
def test_bad_responses(
    server: FeedServer, routes: dict[str, Reply], path: str, kind: type[FeedError], error_class: str
) -> None:
    server.routes.update(routes)
    error = error_of(server.url(path))
    assert isinstance(error, kind)
    assert error.error_class == error_class


def test_retry_after_is_kept(server: FeedServer) -> None:
    server.routes["/e"] = Reply(503, headers={"Retry-After": "120"})
    assert error_of(server.url("/e")).retry_after == 120
    assert retry_after_seconds("Sat, 28 Nov 2026 10:02:00 GMT", now=1795860000.0) == 120.0
    assert retry_after_seconds("soon") is None


def test_timeout(server: FeedServer) -> None:
    server.routes["/slow"] = Reply(200, FEED, delay_seconds=2)
    assert error_of(server.url("/slow"), timeout=0.3).error_class == "timeout"


def test_connection_refused_and_dns_failure() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: refused
        assert error_of(f"http://127.0.0.1:{port}/").error_class == "connection_refused"
    assert error_of("http://does-not-exist.invalid/feed").error_class == "dns"


@pytest.mark.parametrize(
    ("location", "error_class"),
    [
        ("javascript:alert(1)", "bad_scheme"),
        ("data:text/xml,<rss/>", "bad_scheme"),
        ("mailto:a@e.org", "bad_scheme"),
        ("about:blank", "bad_scheme"),
        ("http://127.0.0.1:99999/f", "bad_url"),
        ("http://127.0.0.1:0/f", "bad_url"),
    ],
)
def test_the_feed_client_refuses_redirects_to_non_web_addresses(
    server: FeedServer, location: str, error_class: str
) -> None:
    server.routes["/r"] = Reply(302, headers={"Location": location})

    async def go() -> FetchResult:
        async with http_client(timeout_seconds=5, user_agent="t") as client:
            return await fetch_feed(
                client, server.url("/r"), max_bytes=1000, max_redirects=3, deadline_seconds=10
            )

    with pytest.raises(PermanentFeedError) as info:
        asyncio.run(go())
    assert info.value.error_class == error_class
    assert str(info.value).startswith(f"{server.url('/r')} redirects to {location!r}, ")


def test_a_plain_client_meeting_an_address_httpx_cannot_parse_gets_a_feed_error(
    server: FeedServer,
) -> None:
    server.routes["/r"] = Reply(302, headers={"Location": "javascript:alert(1)"})
    error = error_of(server.url("/r"))
    assert isinstance(error, PermanentFeedError)
    assert error.error_class == "bad_url"


def test_the_deadline_covers_the_whole_fetch(server: FeedServer) -> None:
    # Each read is quick (well within the 5 s timeout); the redirects together are not.
    for i in range(3):
        server.routes[f"/s{i}"] = Reply(302, headers={"Location": f"/s{i + 1}"}, delay_seconds=0.6)
    server.routes["/s3"] = Reply(200, FEED)

    async def go() -> FetchResult:
        async with httpx.AsyncClient(timeout=5) as client:
            return await fetch_feed(
                client, server.url("/s0"), max_bytes=100_000, max_redirects=5, deadline_seconds=1
            )

    with pytest.raises(TransientFeedError) as info:
        asyncio.run(go())
    assert info.value.error_class == "deadline"
