"""A real local HTTP server for feed tests: routes map a path to a scripted response.

Runs in a thread on 127.0.0.1 with a free port; counts requests and remembers the headers of
each, so tests can check conditional GETs and politeness.
"""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay_seconds: float = 0.0


Route = Reply | Callable[[dict[str, str]], Reply]


@dataclass
class FeedServer:
    host: str
    port: int
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str], float]] = field(default_factory=list)
    posts: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    """Requests that carried a body (POST), with it."""
    accepted: list[tuple[str, bytes]] = field(default_factory=list)
    """The POSTs answered 2xx: (path, body)."""

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def hits(self, path: str) -> list[dict[str, str]]:
        return [h for p, h, _ in self.requests if p == path]


@contextmanager
def feed_server() -> Iterator[FeedServer]:
    state = FeedServer("127.0.0.1", 0)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            state.requests.append((self.path, headers, time.monotonic()))
            body = b""
            if self.command == "POST":
                body = self.rfile.read(int(headers.get("content-length", "0")))
                state.posts.append((self.path, headers, body))
            route = state.routes.get(self.path)
            reply = (route(headers) if callable(route) else route) or Reply(404, b"not found")
            if self.command == "POST" and 200 <= reply.status < 300:
                state.accepted.append((self.path, body))
            if reply.delay_seconds:
                time.sleep(reply.delay_seconds)
            try:
                self.send_response(reply.status)
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                if "Content-Length" not in reply.headers:
                    self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)
            except (BrokenPipeError, ConnectionResetError):
                pass

        do_POST = do_GET
        do_OPTIONS = do_GET

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def rss(items: list[dict[str, str]], *, title: str = "Test feed", extra: str = "") -> bytes:
    """A small RSS 2.0 document; each item dict may hold title, link, guid, description,
    pubDate."""
    parts = []
    for item in items:
        fields = "".join(f"<{k}>{v}</{k}>" for k, v in item.items())
        parts.append(f"<item>{fields}</item>")
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}'
        f"</title>{extra}{''.join(parts)}</channel></rss>"
    ).encode()


def gzip_bomb(size: int) -> bytes:
    return gzip.compress(b"\0" * size, compresslevel=9)
