"""The Atom feeds, served by the dashboard's app, against hostile requests: odd paths and
methods, malformed HTTP, foreign Host names, missing or wrong credentials, the ways feed
readers send a token; and the security headers on every response. The real dashboard process
(`newsradar dashboard run`) on a free port, read by httpx, raw sockets and feedparser (a real
feed reader's parser and fetcher)."""

from __future__ import annotations

import base64
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
import httpx
from selenium.webdriver.common.by import By

from newsradar.schemas import Alert, alert_id
from newsradar.settings import load_settings
from sinks.dashboard.app import IDLE_TIMEOUT_SECONDS
from sinks.sqlite import SqliteSink
from tests.browser import chromium, responses
from tests.conftest import REPO, clean_env, free_ports, run_cli

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
}
COMMON_HEADERS = {k: v for k, v in SECURITY_HEADERS.items() if k != "content-security-policy"}


def alert(n: int) -> Alert:
    return Alert(
        id=alert_id("iraq-russia", f"a{n}"),
        rule_id="iraq-russia",
        article_id=f"a{n}",
        article_title=SECRET_TITLE,
        article_url=f"https://news.example/{n}",
        article_published=datetime(2026, 11, 29, tzinfo=UTC),
        language="en",
        pairs=("IQ-RU",),
    )


class Served:
    def __init__(self, port: int) -> None:
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"

    def get(self, target: str, **headers: str) -> httpx.Response:
        return httpx.get(f"{self.base_url}{target}", headers=headers)

    def raw(self, request: bytes) -> tuple[str, dict[str, str], bytes]:
        """``request`` sent as is; the status line, headers (lower-case names) and body."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as conn:
            conn.sendall(request)
            answer = b""
            while chunk := conn.recv(65536):
                answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        status, *lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
        return status, headers, body


@contextmanager
def serving(tmp_path: Path, **env: str) -> Iterator[Served]:
    """``newsradar dashboard run`` over a store holding one alert."""
    (port,) = free_ports(1)
    env = {
        "NEWSRADAR_DATA_DIR": str(tmp_path / "data"),
        "NEWSRADAR_DASHBOARD__PORT": str(port),
        **env,
    }
    sink = SqliteSink(load_settings(None, env=env).alerts_db)
    sink.write([alert(1)])
    sink.close()
    log_path = tmp_path / "dashboard.log"
    headers = (
        {"Authorization": f"Bearer {env['NEWSRADAR_DASHBOARD__TOKEN']}"}
        if ("NEWSRADAR_DASHBOARD__TOKEN" in env)
        else {}
    )
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "newsradar", "dashboard", "run"],
            cwd=REPO,
            env=clean_env(**env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                assert proc.poll() is None, log_path.read_text()
                try:
                    url = f"http://127.0.0.1:{port}/healthz"
                    if httpx.get(url, headers=headers).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "the dashboard did not answer"
                time.sleep(0.2)
            yield Served(port)
        finally:
            proc.terminate()
            proc.wait(30)


def assert_secure(headers: Any, what: str, expected: dict[str, str] = SECURITY_HEADERS) -> None:
    got = {name: headers.get(name) for name in expected}
    assert got == expected, what


def assert_one_line_error(status: int, headers: Any, body: bytes, want: int, what: str) -> None:
    assert status == want, (what, body[:300])
    assert_secure(headers, what)
    assert headers["cache-control"] == "no-store", what
    assert headers["content-type"].startswith("application/json"), what
    text = body.decode()
    assert "\n" not in text.strip(), (what, text)
    assert "Traceback" not in text, what
    assert SECRET_TITLE not in text, what


def test_odd_paths_methods_and_malformed_requests_get_one_line_errors(tmp_path: Path) -> None:
    with serving(tmp_path) as feeds:
        for target in ("/feeds/all.atom?x=%C2%B2", "/feeds/all.atom?token=anything"):
            response = feeds.get(target)
            assert response.status_code == 200, target
            assert_secure(response.headers, target)
            assert feedparser.parse(response.content).entries[0].title == SECRET_TITLE
        for target in (
            "/feeds/ALL.atom",
            "/feeds/%2e%2e%2fsecret.atom",
            "/feeds/..%2f..%2fetc%2fpasswd",
            "/feeds/all.atom%0A",
            "/feeds/%C2%B2.atom",
            "/feeds/" + "a" * 65 + ".atom",
            "/feeds/all.atom/",
            "/feeds/",
        ):
            response = feeds.get(target)
            assert_one_line_error(
                response.status_code, response.headers, response.content, 404, target
            )
            assert "/feeds/<rule>.atom" in response.json()["error"], target
        head = httpx.head(f"{feeds.base_url}/feeds/all.atom")
        assert (head.status_code, head.content) == (200, b"")
        assert head.headers["content-type"].startswith("application/atom+xml")
        assert_secure(head.headers, "HEAD")
        for method in ("POST", "PUT", "DELETE", "PATCH"):
            response = httpx.request(method, f"{feeds.base_url}/feeds/all.atom")
            assert_one_line_error(
                response.status_code, response.headers, response.content, 405, method
            )
        # Refused by aiohttp's parser before any route: a 4xx, the headers, no traceback.
        for request in (
            b"\x16\x03\x01 not http\r\n\r\n",
            b"GET /feeds/all.atom HTTP/9.9\r\nHost: localhost\r\n\r\n",
            b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\nHost: localhost\r\n\r\n",
            b"GET /feeds/all.atom HTTP/1.1\r\nHost: localhost\r\nX: " + b"y" * 10000 + b"\r\n\r\n",
            b"G<script>T / HTTP/1.1\r\nHost: localhost\r\n\r\n",
            b"GET http://[::1/feeds/all.atom HTTP/1.1\r\nHost: localhost\r\n\r\n",
        ):
            status, headers, body = feeds.raw(request)
            code = int(status.split()[1])
            assert 400 <= code < 500 or code == 505, (request[:40], status)
            assert_secure(headers, repr(request[:30]), COMMON_HEADERS)
            assert b"Traceback" not in body
            assert SECRET_TITLE.encode() not in body


def test_foreign_host_names_get_421(tmp_path: Path) -> None:
    with serving(tmp_path, NEWSRADAR_DASHBOARD__ALLOWED_HOSTS="feeds.example.org") as feeds:
        for host in ("evil.test", f"evil.test:{feeds.port}", "127.0.0.1.evil.test"):
            response = feeds.get("/feeds/all.atom", Host=host)
            assert_one_line_error(
                response.status_code, response.headers, response.content, 421, host
            )
        for request in (
            b"GET /feeds/all.atom HTTP/1.0\r\nConnection: close\r\n\r\n",
            b"GET /feeds/all.atom HTTP/1.1\r\nHost: localhost@evil.test\r\nConnection: close\r\n\r\n",
        ):
            status, headers, body = feeds.raw(request)
            assert_one_line_error(int(status.split()[1]), headers, body, 400, repr(request))
        for host in ("localhost", f"127.0.0.1:{feeds.port}", "feeds.example.org:443"):
            response = feeds.get("/feeds/all.atom", Host=host)
            assert response.status_code == 200, host
            # The feed's own link names the server as it was asked for.
            assert feedparser.parse(response.content).feed.links[0].href == (
                f"http://{host}/feeds/all.atom"
            )


def test_a_token_protects_the_feeds_the_way_feed_readers_send_it(tmp_path: Path) -> None:
    with serving(tmp_path, NEWSRADAR_DASHBOARD__TOKEN=TOKEN) as feeds:
        for target, headers in (
            ("/feeds/all.atom", {}),
            ("/feeds/all.atom?token=wrong-token-0123456789", {}),
            ("/feeds/all.atom?token=%C2%B2", {}),
            ("/feeds/all.atom?token=%ED%A0%80", {}),
            ("/feeds/all.atom", {"Authorization": "Basic !!!"}),
            ("/feeds/all.atom", {"Authorization": "Basic " + base64.b64encode(b"u:x").decode()}),
            ("/feeds/all.atom", {"Authorization": f"Bearer {TOKEN}x"}),
            ("/feeds/nothing", {}),
        ):
            response = feeds.get(target, **headers)
            assert_one_line_error(
                response.status_code, response.headers, response.content, 401, target
            )
            assert TOKEN not in response.text
            # Feed readers are asked for a password, and told how to put the token in the URL.
            assert response.headers["www-authenticate"].startswith("Basic "), target
            assert "?token=" in response.json()["error"]
        # In the URL, as most readers allow: served as is (no redirect, no cookie), and the
        # feed's own link leaves the token out.
        in_url = feeds.get(f"/feeds/iraq-russia.atom?token={TOKEN}")
        assert in_url.status_code == 200
        assert "set-cookie" not in in_url.headers
        assert TOKEN not in in_url.text
        assert feedparser.parse(in_url.content).entries[0].title == SECRET_TITLE
        # Basic auth with the token as password, as readers send user:password@ URLs:
        # feedparser's own fetcher does.
        url = f"http://reader:{TOKEN}@127.0.0.1:{feeds.port}/feeds/all.atom"
        reader = feedparser.parse(url)
        assert reader.status == 200
        assert [e.title for e in reader.entries] == [SECRET_TITLE]
        # ... and polls again with the ETag it was given: 304, nothing to parse.
        again = feedparser.parse(url, etag=reader.etag)
        assert (again.status, again.entries) == (304, [])
        bearer = feeds.get("/feeds/all.atom", Authorization=f"Bearer {TOKEN}")
        assert bearer.status_code == 200
        # The page itself still asks for the bearer token and answers ?token= with a cookie.
        assert feeds.get("/").headers["www-authenticate"].startswith("Bearer ")
        page = feeds.get(f"/?token={TOKEN}")
        assert page.status_code == 303
        assert "set-cookie" in page.headers


def test_a_trusted_proxy_header_counts_only_from_a_trusted_proxy(tmp_path: Path) -> None:
    proxy = {"NEWSRADAR_DASHBOARD__TRUSTED_PROXY_HEADER": "X-Forwarded-User"}
    with serving(tmp_path / "a", **proxy) as feeds:
        assert feeds.get("/feeds/all.atom", **{"X-Forwarded-User": "alice"}).status_code == 200
        assert feeds.get("/feeds/all.atom").status_code == 401
    with serving(
        tmp_path / "b", **proxy, NEWSRADAR_DASHBOARD__TRUSTED_PROXIES="10.0.0.0/8"
    ) as feeds:
        assert feeds.get("/feeds/all.atom", **{"X-Forwarded-User": "alice"}).status_code == 401


def test_a_hostile_title_is_text_in_chromium(tmp_path: Path) -> None:
    """Opened in a real browser, a feed whose title carries markup runs nothing: the XML escapes
    it, and the feeds' CSP sandboxes the document and allows no script."""
    hostile = "<script>window.pwned=1</script><img src=x onerror='window.pwned=2'>"
    with serving(tmp_path) as feeds, chromium(network_log=True) as browser:
        sink = SqliteSink(
            load_settings(None, env={"NEWSRADAR_DATA_DIR": str(tmp_path / "data")}).alerts_db
        )
        sink.write([alert(2).model_copy(update={"article_title": hostile})])
        sink.close()
        browser.get(f"{feeds.base_url}/feeds/all.atom")
        assert browser.execute_script("return window.pwned") is None
        assert browser.find_elements(By.TAG_NAME, "img") == []
        assert browser.find_elements(By.TAG_NAME, "script") == []
        assert (
            "&lt;script&gt;window.pwned=1&lt;/script&gt;"
            in browser.find_element(By.TAG_NAME, "body").text
        )
        (seen,) = [r for r in responses(browser) if r["url"].endswith("/feeds/all.atom")]
        assert seen["status"] == 200
        assert_secure(seen["headers"], "in Chromium")
        assert seen["headers"]["etag"]


def test_a_silent_client_is_dropped(tmp_path: Path) -> None:
    with (
        serving(tmp_path) as feeds,
        socket.create_connection(("127.0.0.1", feeds.port), timeout=60) as silent,
    ):
        silent.sendall(b"GET /feeds/all.atom HTTP/1.1\r\n")  # and never the rest
        started = time.monotonic()
        assert silent.recv(1024) == b""  # the server hung up
        waited = time.monotonic() - started
        assert IDLE_TIMEOUT_SECONDS - 1 < waited < IDLE_TIMEOUT_SECONDS + 10, waited


def test_a_config_that_still_has_the_atom_server_is_one_line_naming_the_move(
    tmp_path: Path,
) -> None:
    config = tmp_path / "newsradar.toml"
    config.write_text(f'data_dir = "{tmp_path}"\n[sinks.atom]\nport = 8181\n')
    for args, env in (
        (("config", "check", str(config)), clean_env()),
        (("config", "check"), clean_env(NEWSRADAR_SINKS__ATOM__TOKEN=TOKEN)),
    ):
        proc = run_cli(*args, env=env)
        assert proc.returncode == 3, (args, proc.stdout)  # a config error
        assert "Traceback" not in proc.stderr
        (line,) = proc.stderr.strip().splitlines()
        assert "sinks.atom" in line, line
        assert "removed: the Atom feeds are served by the dashboard" in line, line
        assert "(defaults)" not in line, line  # it names where the key came from
        assert TOKEN not in line
