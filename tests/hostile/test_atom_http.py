"""The Atom feeds' HTTP server against hostile requests: odd paths and methods, malformed
HTTP, foreign Host names, missing or wrong credentials, silent clients; and the security
headers on every response. A real server on a free port, read by httpx, raw sockets and
feedparser (a real feed reader's parser and fetcher)."""

from __future__ import annotations

import base64
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
import httpx
import pytest

from newsradar.errors import ConfigError
from newsradar.schemas import Alert, alert_id
from newsradar.settings import AtomSinkSettings
from sinks import atom
from sinks.atom import AtomSink
from tests.conftest import clean_env, run_cli

TOKEN = "feed-token-0123456789abcdef"
SECRET_TITLE = "Moscow and Baghdad sign a confidential accord"
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'; sandbox"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "cache-control": "no-store",
}


def alert(n: int) -> Alert:
    return Alert(
        id=alert_id("iraq-russia", f"a{n}"),
        rule_id="iraq-russia",
        article_id=f"a{n}",
        article_title=SECRET_TITLE,
        article_url=f"https://news.example/{n}",
        article_published=datetime(2026, 11, 29, tzinfo=UTC),
        pairs=("IQ-RU",),
    )


@contextmanager
def serving(tmp_path: Path, **config: Any) -> Iterator[AtomSink]:
    sink = AtomSink(AtomSinkSettings(port=0, **config), tmp_path)
    sink.setup()
    sink.write([alert(1)])
    try:
        yield sink
    finally:
        sink.close()


def port(sink: AtomSink) -> int:
    return int(sink.base_url.rsplit(":", 1)[1])


def raw(sink: AtomSink, request: bytes) -> tuple[str, dict[str, str], bytes]:
    """``request`` sent as is; the status line, headers (lower-case names) and body."""
    with socket.create_connection(("127.0.0.1", port(sink)), timeout=10) as conn:
        conn.sendall(request)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return status, headers, body


def assert_secure(headers: Any, what: str) -> None:
    got = {name: headers.get(name) for name in SECURITY_HEADERS}
    assert got == SECURITY_HEADERS, what


def assert_one_line_error(status: int, headers: Any, body: bytes, want: int, what: str) -> None:
    assert status == want, (what, body[:300])
    assert_secure(headers, what)
    assert headers["content-type"].startswith("text/plain"), what
    text = body.decode()
    assert text.endswith("\n"), what
    assert text.count("\n") == 1, (what, text)
    assert "Traceback" not in text, what
    assert SECRET_TITLE not in text, what


def get(sink: AtomSink, target: str, **headers: str) -> httpx.Response:
    return httpx.get(f"{sink.base_url}{target}", headers=headers)


def test_odd_paths_methods_and_malformed_requests_get_one_line_errors(tmp_path: Path) -> None:
    with serving(tmp_path) as sink:
        for target in ("/feeds/all.atom?x=%C2%B2", "/feeds/all.atom?token=anything"):
            response = get(sink, target)
            assert response.status_code == 200, target
            assert feedparser.parse(response.content).entries[0].title == SECRET_TITLE
        for target in (
            "/feeds/ALL.atom",
            "/feeds/%2e%2e%2fsecret.atom",
            "/feeds/all.atom%0A",
            "/feeds/%C2%B2.atom",
            "/feeds/" + "a" * 65 + ".atom",
            "/feeds/all.atom/",
            "/nothing",
        ):
            response = get(sink, target)
            assert_one_line_error(
                response.status_code, response.headers, response.content, 404, target
            )
        head = httpx.head(f"{sink.base_url}/feeds/all.atom")
        assert (head.status_code, head.content) == (200, b"")
        assert head.headers["content-type"].startswith("application/atom+xml")
        assert_secure(head.headers, "HEAD")
        for method in ("POST", "PUT", "DELETE", "OPTIONS"):
            response = httpx.request(method, f"{sink.base_url}/feeds/all.atom")
            assert_one_line_error(
                response.status_code, response.headers, response.content, 501, method
            )
        for request, want in (
            (b"\x16\x03\x01 not http\r\n\r\n", 400),
            (b"GET /feeds/all.atom HTTP/9.9\r\nHost: localhost\r\n\r\n", 505),
            (b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\nHost: localhost\r\n\r\n", 414),
            (b"GET / HTTP/1.1\r\nHost: localhost\r\n" + b"X: y\r\n" * 101 + b"\r\n", 431),
            (b"G<script>T / HTTP/1.1\r\nHost: localhost\r\n\r\n", 501),
            (b"GET http://[::1/feeds/all.atom HTTP/1.1\r\nHost: localhost\r\n\r\n", 400),
        ):
            status, headers, body = raw(sink, request)
            assert_one_line_error(int(status.split()[1]), headers, body, want, repr(request[:30]))


def test_foreign_host_names_get_421(tmp_path: Path) -> None:
    with serving(tmp_path, allowed_hosts=("feeds.example.org",)) as sink:
        for host in ("evil.test", f"evil.test:{port(sink)}", "127.0.0.1.evil.test"):
            response = get(sink, "/feeds/all.atom", Host=host)
            assert_one_line_error(
                response.status_code, response.headers, response.content, 421, host
            )
        for request in (
            b"GET /feeds/all.atom HTTP/1.0\r\n\r\n",
            b"GET /feeds/all.atom HTTP/1.1\r\nHost: localhost\r\nHost: evil.test\r\n\r\n",
            b"GET /feeds/all.atom HTTP/1.1\r\nHost: localhost@evil.test\r\n\r\n",
        ):
            status, headers, body = raw(sink, request)
            assert_one_line_error(int(status.split()[1]), headers, body, 400, repr(request))
        for host in ("localhost", f"127.0.0.1:{port(sink)}", "feeds.example.org:443"):
            assert get(sink, "/feeds/all.atom", Host=host).status_code == 200, host


def test_a_token_protects_the_feeds_the_way_feed_readers_send_it(tmp_path: Path) -> None:
    with serving(tmp_path, token=TOKEN) as sink:
        for target, headers in (
            ("/feeds/all.atom", {}),
            ("/feeds/all.atom?token=wrong-token-0123456789", {}),
            ("/feeds/all.atom?token=%C2%B2", {}),
            ("/feeds/all.atom?token=%ED%A0%80", {}),
            ("/feeds/all.atom", {"Authorization": "Basic !!!"}),
            ("/feeds/all.atom", {"Authorization": "Basic " + base64.b64encode(b"u:x").decode()}),
            ("/feeds/all.atom", {"Authorization": f"Bearer {TOKEN}x"}),
            ("/nothing", {}),
        ):
            response = get(sink, target, **headers)
            assert_one_line_error(
                response.status_code, response.headers, response.content, 401, target
            )
            assert TOKEN not in response.text
            assert response.headers["www-authenticate"].startswith("Basic ")
        # In the URL, as most readers allow; the feed's own link leaves it out.
        in_url = get(sink, f"/feeds/iraq-russia.atom?token={TOKEN}")
        assert in_url.status_code == 200
        assert TOKEN not in in_url.text
        assert feedparser.parse(in_url.content).entries[0].title == SECRET_TITLE
        # Basic auth with the token as password, as readers send user:password@ URLs:
        # feedparser's own fetcher does.
        reader = feedparser.parse(f"http://reader:{TOKEN}@127.0.0.1:{port(sink)}/feeds/all.atom")
        assert reader.status == 200
        assert [e.title for e in reader.entries] == [SECRET_TITLE]
        assert get(sink, "/feeds/all.atom", Authorization=f"Bearer {TOKEN}").status_code == 200
        assert sink.healthcheck().ok


def test_a_trusted_proxy_header_counts_only_from_a_trusted_proxy(tmp_path: Path) -> None:
    with serving(tmp_path / "a", trusted_proxy_header="X-Forwarded-User") as sink:
        assert get(sink, "/feeds/all.atom", **{"X-Forwarded-User": "alice"}).status_code == 200
        assert get(sink, "/feeds/all.atom").status_code == 401
        assert sink.healthcheck().ok
    with serving(
        tmp_path / "b", trusted_proxy_header="X-Forwarded-User", trusted_proxies=("10.0.0.0/8",)
    ) as sink:
        assert get(sink, "/feeds/all.atom", **{"X-Forwarded-User": "alice"}).status_code == 401


def test_a_silent_client_is_dropped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(atom, "READ_TIMEOUT_SECONDS", 0.5, raising=False)
    with (
        serving(tmp_path) as sink,
        socket.create_connection(("127.0.0.1", port(sink)), timeout=10) as silent,
    ):
        silent.sendall(b"GET /feeds/all.atom HTTP/1.1\r\n")  # and never the rest
        started = time.monotonic()
        assert silent.recv(1024) == b""  # the server hung up
        assert time.monotonic() - started < 5


def test_the_sink_will_not_serve_beyond_loopback_unprotected(tmp_path: Path) -> None:
    exposed = AtomSink(AtomSinkSettings(host="0.0.0.0", port=0), tmp_path / "a")
    with pytest.raises(ConfigError, match=r"sinks\.atom\.host = '0\.0\.0\.0' .*sinks\.atom\.token"):
        exposed.setup()
    exposed.close()
    protected = AtomSink(AtomSinkSettings(host="0.0.0.0", port=0, token=TOKEN), tmp_path / "b")
    try:
        assert protected.healthcheck().ok
    finally:
        protected.close()


def test_config_and_sinks_check_fail_when_the_feeds_listen_beyond_loopback_unprotected(
    tmp_path: Path,
) -> None:
    config = tmp_path / "newsradar.toml"
    config.write_text(f'data_dir = "{tmp_path}"\n[sinks.atom]\nhost = "0.0.0.0"\nport = 0\n')
    for args in (("config", "check", str(config)), ("--config", str(config), "sinks", "check")):
        proc = run_cli(*args, env=clean_env())
        assert proc.returncode == 3, (args, proc.stdout)
        assert "Traceback" not in proc.stderr
        (line,) = proc.stderr.strip().splitlines()
        assert line.startswith("newsradar: error: sinks.atom.host = '0.0.0.0' "), line
        assert "sinks.atom.token" in line
    config.write_text(
        f'data_dir = "{tmp_path}"\n[sinks.atom]\nhost = "0.0.0.0"\nport = 0\ntoken = "{TOKEN}"\n'
    )
    proc = run_cli("config", "check", str(config), env=clean_env())
    assert proc.returncode == 0, proc.stderr
