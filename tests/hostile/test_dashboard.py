"""The dashboard against hostile requests: odd query values, foreign Host names (DNS
rebinding), missing or wrong credentials, and the security headers on every response. In
process with aiohttp's test server, then in a real headless Chromium."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread
from typing import Any

import httpx
import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from newsradar.errors import ConfigError
from newsradar.schemas import Alert, alert_id
from newsradar.settings import Settings, load_settings
from sinks.dashboard.app import create_app
from sinks.sqlite import SqliteSink
from tests.browser import chromium, responses
from tests.conftest import REPO, clean_env, free_ports, run_cli

TOKEN = "s3cret-token-0123456789abcdef"
SECRET_TITLE = "Moscow and Baghdad sign a confidential accord"
NOW = datetime.now(UTC)
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
}


def alert(n: int, title: str = SECRET_TITLE) -> Alert:
    return Alert(
        id=alert_id("iraq-russia", f"a{n}"),
        rule_id="iraq-russia",
        article_id=f"a{n}",
        article_title=title,
        article_url=f"https://news.example/{n}",
        article_published=NOW,
        language="en",
        countries=("IQ", "RU"),
        pairs=("IQ-RU",),
    )


def settings(tmp_path: Path, **env: str) -> Settings:
    return load_settings(
        None,
        env={
            "NEWSRADAR_DATA_DIR": str(tmp_path),
            "NEWSRADAR_DASHBOARD__POLL_SECONDS": "0.05",
            **env,
        },
    )


def store(s: Settings, *alerts: Alert) -> None:
    sink = SqliteSink(s.alerts_db)
    sink.write(alerts)
    sink.close()


Client = TestClient[Any, Any]


def serve(s: Settings, test: Callable[[Client], Awaitable[None]]) -> None:
    async def go() -> None:
        async with TestClient(TestServer(create_app(s))) as client:
            await test(client)

    asyncio.run(go())


def assert_secure(headers: Any, what: str) -> None:
    got = {name: headers.get(name) for name in SECURITY_HEADERS}
    assert got == SECURITY_HEADERS, what
    assert headers.get("Cache-Control"), what


async def assert_json_error(response: Any, status: int, what: str) -> str:
    """The response is ``status`` with a one-line JSON error, and the security headers."""
    body = await response.text()
    assert response.status == status, (what, body)
    assert response.headers["Content-Type"].startswith("application/json"), what
    assert "\n" not in body.strip(), what
    assert "Traceback" not in body, what
    assert_secure(response.headers, what)
    message = json.loads(body)["error"]
    assert isinstance(message, str)
    assert message, what
    return message


async def raw(client: Client, request: bytes) -> bytes:
    """``request`` sent as is over a socket; what came back."""
    reader, writer = await asyncio.open_connection("127.0.0.1", client.port)
    writer.write(request)
    await writer.drain()
    async with asyncio.timeout(10):
        answer = await reader.read()
    writer.close()
    return answer


# Query values and path segments --------------------------------------------------------------

BAD_QUERIES = [
    "/api/alerts?limit=²",  # a digit to str.isdigit(), not to int()
    "/api/alerts?limit=١٢",  # Arabic-Indic digits
    "/api/alerts?limit=" + "9" * 5000,  # beyond int()'s digit limit
    "/api/alerts?limit=99999999999999999999",
    "/api/alerts?limit=-1",
    "/api/alerts?limit=0",
    "/api/alerts?limit=1.5",
    "/api/alerts?limit=%00",
    "/api/alerts?rule=%ED%A0%80",  # a lone surrogate, UTF-8 encoded
    "/api/alerts?rule=" + "r" * 300,
    "/api/alerts?rule=%3Cscript%3E",
    "/api/alerts?country=%25",  # a LIKE wildcard
    "/api/alerts?country=%22",
    "/api/alerts?country=IRQQ",
    "/api/alerts?language=%0Aen",
    "/api/pairs?hours=²",
    "/api/pairs?hours=" + "9" * 5000,
    "/api/pairs?hours=-24",
    "/api/pairs?hours=100000",
    "/api/stream?after=²",
    "/api/stream?after=-1",
    "/api/stream?after=99999999999999999999999",  # beyond SQLite's integers
    "/api/stream?after=" + "9" * 5000,
]


def test_bad_query_values_get_400_with_one_line_json(tmp_path: Path) -> None:
    s = settings(tmp_path)
    store(s, alert(1))

    async def check(client: Client) -> None:
        for url in BAD_QUERIES:
            message = await assert_json_error(await client.get(url), 400, url)
            name = url.split("?")[1].split("=")[0]
            assert message.startswith(f"{name}: "), (url, message)
        good = await client.get("/api/alerts?limit=1&rule=iraq-russia&country=iq&language=en")
        assert [i["alert"]["article_id"] for i in (await good.json())["alerts"]] == ["a1"]

    serve(s, check)


def test_odd_path_segments_get_one_line_json_errors(tmp_path: Path) -> None:
    s = settings(tmp_path)
    store(s, alert(1))

    async def check(client: Client) -> None:
        for url in (
            "/api/alerts/%ED%A0%80",
            "/api/alerts/%00",
            "/api/alerts/" + "x" * 3000,
            "/api/alerts/..%2F..%2Fetc%2Fpasswd",
            "/static/..%2F..%2Fapp.py",
            "/static/%ED%A0%80",
            "/nothing-here",
        ):
            await assert_json_error(await client.get(url), 404, url)
        await assert_json_error(await client.post("/api/alerts"), 405, "POST /api/alerts")
        await assert_json_error(await client.delete("/"), 405, "DELETE /")

    serve(s, check)


def test_a_garbage_last_event_id_is_ignored_and_the_stream_starts_from_after(
    tmp_path: Path,
) -> None:
    s = settings(tmp_path)
    store(s, alert(1, "one"), alert(2, "two"))

    async def first_event(client: Client, headers: dict[str, str]) -> str:
        response = await client.get("/api/stream?after=1", headers=headers)
        assert response.status == 200, (headers, await response.text())
        assert_secure(response.headers, f"stream with {headers}")
        async with asyncio.timeout(10):
            async for line in response.content:
                if line.startswith(b"data: "):
                    response.close()
                    return str(json.loads(line[6:])["alert"]["article_id"])
        raise AssertionError("no event")

    async def check(client: Client) -> None:
        for value in ("²", "-5", "99999999999999999999999", "9" * 5000, "1.5", "x"):
            assert await first_event(client, {"Last-Event-ID": value}) == "a2", value
        assert await first_event(client, {"Last-Event-ID": "0"}) == "a1"

    serve(s, check)


def test_an_unreadable_store_is_a_one_line_503(tmp_path: Path) -> None:
    # The store path is a directory: SQLite cannot open it.
    s = settings(tmp_path, NEWSRADAR_SINKS__SQLITE__PATH=str(tmp_path))

    async def check(client: Client) -> None:
        message = await assert_json_error(await client.get("/api/alerts"), 503, "store")
        assert "alert store" in message

    serve(s, check)


# Host allow-list -------------------------------------------------------------------------------


def test_foreign_host_names_get_421_everywhere(tmp_path: Path) -> None:
    s = settings(tmp_path, NEWSRADAR_DASHBOARD__ALLOWED_HOSTS="dash.example.org,192.0.2.7")
    store(s, alert(1))

    async def check(client: Client) -> None:
        paths = ("/", "/static/app.js", "/api/alerts", "/api/facets", "/api/stream", "/healthz")
        for host in ("evil.test", f"evil.test:{client.port}", "127.0.0.1.evil.test", "localhost@x"):
            for path in paths:
                response = await client.get(path, headers={"Host": host})
                status = 400 if "@" in host else 421
                message = await assert_json_error(response, status, f"{host} {path}")
                assert SECRET_TITLE not in message
        for host in (
            "localhost",
            f"localhost:{client.port}",
            f"127.0.0.1:{client.port}",
            f"[::1]:{client.port}",
            "LOCALHOST.",
            "dash.example.org",
            "192.0.2.7:443",
        ):
            response = await client.get("/api/alerts", headers={"Host": host})
            assert response.status == 200, host
        no_host = await raw(client, b"GET /api/alerts HTTP/1.0\r\n\r\n")
        assert no_host.startswith((b"HTTP/1.0 400", b"HTTP/1.1 400")), no_host[:100]
        assert SECRET_TITLE.encode() not in no_host
        assert b"\r\nX-Content-Type-Options: nosniff\r\n" in no_host

    serve(s, check)


# Access token and trusted proxy ----------------------------------------------------------------


def test_a_token_protects_page_api_stream_and_static_files(tmp_path: Path) -> None:
    s = settings(tmp_path, NEWSRADAR_DASHBOARD__TOKEN=TOKEN)
    store(s, alert(1))
    bearer = {"Authorization": f"Bearer {TOKEN}"}

    async def check(client: Client) -> None:
        for path in ("/", "/static/app.js", "/api/alerts", "/api/feeds", "/api/stream"):
            response = await client.get(path)
            message = await assert_json_error(response, 401, path)
            assert "token" in message
            assert TOKEN not in message
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
        for header in (
            "Bearer wrong-token-0123456789",
            "Bearer ²",
            f"Bearer {TOKEN}x",
            f"Bearer {TOKEN[:-1]}",
            "Basic !!!",
            "Basic " + base64.b64encode(b"\xff\xfe:x").decode(),
            "Basic " + base64.b64encode(b"user:nope").decode(),
            f"Token {TOKEN}",
        ):
            response = await client.get("/api/alerts", headers={"Authorization": header})
            await assert_json_error(response, 401, header)
        for cookie in ("newsradar_dashboard=forged", "newsradar_dashboard=²", "x=" + TOKEN):
            response = await client.get("/api/alerts", headers={"Cookie": cookie})
            await assert_json_error(response, 401, cookie)
        listed = await client.get("/api/alerts", headers=bearer)
        assert listed.status == 200
        assert (await listed.json())["alerts"][0]["alert"]["article_title"] == SECRET_TITLE
        basic = base64.b64encode(f"anyone:{TOKEN}".encode()).decode()
        assert (await client.get("/", headers={"Authorization": f"Basic {basic}"})).status == 200
        health = await client.get("/healthz")  # for load balancers: says nothing else
        assert (health.status, await health.json()) == (200, {"ok": True})

    serve(s, check)


def test_token_in_the_url_sets_a_strict_cookie_and_redirects_to_the_clean_url(
    tmp_path: Path,
) -> None:
    s = settings(tmp_path, NEWSRADAR_DASHBOARD__TOKEN=TOKEN)
    store(s, alert(1))

    async def check(client: Client) -> None:
        wrong = await client.get("/?token=wrong-token-0123456789", allow_redirects=False)
        await assert_json_error(wrong, 401, "wrong token in the URL")
        assert "Set-Cookie" not in wrong.headers
        await assert_json_error(await client.get("/?token=%ED%A0%80"), 401, "surrogate token")
        for target, clean in (
            (f"/?token={TOKEN}", "/"),
            (
                f"/api/alerts?rule=iraq-russia&token={TOKEN}&limit=5",
                "/api/alerts?rule=iraq-russia&limit=5",
            ),
        ):
            response = await client.get(target, allow_redirects=False)
            assert response.status == 303, target
            assert response.headers["Location"] == clean, target
            assert_secure(response.headers, target)
            cookie = response.headers["Set-Cookie"]
            assert TOKEN not in cookie
            flags = [flag.strip() for flag in cookie.split(";")]
            assert {"HttpOnly", "SameSite=Strict", "Path=/"} <= set(flags), cookie
            name, value = flags[0].split("=")
        # Not an open redirect: the clean URL stays on this server.
        for target in ("//evil.example/", "/\\evil.example/", "///evil.example/"):
            answer = await raw(
                client,
                f"GET {target}?token={TOKEN} HTTP/1.1\r\nHost: localhost\r\n"
                "Connection: close\r\n\r\n".encode(),
            )
            head = answer.split(b"\r\n\r\n")[0].decode()
            assert head.startswith("HTTP/1.1 303"), head
            (location,) = [h[10:] for h in head.split("\r\n") if h.startswith("Location: ")]
            assert location.startswith("/"), head
            assert not location.startswith(("//", "/\\")), head
            assert TOKEN not in location
        client.session.cookie_jar.clear()
        again = await client.get("/api/alerts", headers={"Cookie": f"{name}={value}"})
        assert again.status == 200
        assert (await again.json())["alerts"][0]["alert"]["article_title"] == SECRET_TITLE

    serve(s, check)


def test_a_trusted_proxy_header_counts_only_from_a_trusted_proxy(tmp_path: Path) -> None:
    proxied = {"X-Forwarded-User": "alice"}
    s = settings(tmp_path, NEWSRADAR_DASHBOARD__TRUSTED_PROXY_HEADER="X-Forwarded-User")
    far = settings(
        tmp_path,
        NEWSRADAR_DASHBOARD__TRUSTED_PROXY_HEADER="X-Forwarded-User",
        NEWSRADAR_DASHBOARD__TRUSTED_PROXIES="10.0.0.0/8",
    )

    async def through_proxy(client: Client) -> None:
        assert (await client.get("/api/alerts", headers=proxied)).status == 200
        await assert_json_error(await client.get("/api/alerts"), 401, "no proxy header")
        empty = await client.get("/api/alerts", headers={"X-Forwarded-User": ""})
        await assert_json_error(empty, 401, "empty proxy header")

    async def not_from_proxy(client: Client) -> None:
        await assert_json_error(await client.get("/api/alerts", headers=proxied), 401, "far")

    serve(s, through_proxy)
    serve(far, not_from_proxy)


# Security headers --------------------------------------------------------------------------------


def test_every_response_carries_the_security_headers(tmp_path: Path) -> None:
    s = settings(tmp_path)
    store(s, alert(1))

    async def check(client: Client) -> None:
        for path in ("/", "/static/app.js", "/static/style.css", "/api/alerts", "/api/facets",
                     "/api/pairs", "/api/feeds", "/healthz", "/nope", "/api/alerts/nope",
                     "/api/alerts?limit=²"):  # fmt: skip
            response = await client.get(path)
            assert_secure(response.headers, path)
            assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
            if path.startswith("/api/") or response.status >= 400:
                assert response.headers["Cache-Control"] == "no-store", path
        stream = await client.get("/api/stream")
        assert_secure(stream.headers, "/api/stream")
        assert stream.headers["Cache-Control"] == "no-store"
        stream.close()
        # Requests aiohttp refuses before any route: still no traceback, still the headers.
        for request in (
            b"GET /" + b"a" * 10000 + b" HTTP/1.1\r\nHost: localhost\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: localhost\r\nX: " + b"b" * 10000 + b"\r\n\r\n",
            b"\x16\x03\x01 not http\r\n\r\n",
        ):
            answer = await raw(client, request)
            head = answer.split(b"\r\n\r\n")[0].decode("latin-1")
            assert head.startswith(("HTTP/1.0 4", "HTTP/1.1 4")), head
            assert "Traceback" not in answer.decode("latin-1")
            for name, value in SECURITY_HEADERS.items():
                assert f"\r\n{name}: {value}".lower() in head.lower(), (name, head)

    serve(s, check)


# Listening beyond loopback ---------------------------------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.7", "dash.example.org"])
def test_config_check_fails_when_the_dashboard_listens_beyond_loopback_unprotected(
    tmp_path: Path, host: str
) -> None:
    config = tmp_path / "newsradar.toml"
    config.write_text(f'[dashboard]\nhost = "{host}"\n')
    proc = run_cli("config", "check", str(config), env=clean_env())
    assert proc.returncode == 3, proc.stdout
    assert "Traceback" not in proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"newsradar: error: dashboard.host = '{host}' ")
    assert "dashboard.token" in line
    assert "dashboard.trusted_proxy_header" in line
    # Protected, or off, it passes.
    for extra in (
        f'token = "{TOKEN}"',
        'trusted_proxy_header = "X-Forwarded-User"',
        "enabled = false",
    ):
        config.write_text(f'[dashboard]\nhost = "{host}"\n{extra}\n')
        proc = run_cli("config", "check", str(config), env=clean_env())
        assert proc.returncode == 0, (extra, proc.stderr)
        assert TOKEN not in proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("key", "value", "expect"),
    [
        ("allowed_hosts", "http://dash.example.org/", "not host names or addresses"),
        ("allowed_hosts", "dash.example.org:8180", "without scheme or port"),
        ("trusted_proxies", "the-proxy", "'the-proxy' is not an address or network"),
        ("trusted_proxy_header", "X-User: admin", "should match pattern"),
    ],
)
def test_bad_access_settings_are_one_line_config_errors(key: str, value: str, expect: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(None, env={f"NEWSRADAR_DASHBOARD__{key.upper()}": value})
    (line,) = str(caught.value).splitlines()
    assert line.startswith(f"dashboard.{key}"), line
    assert expect in line


def test_config_check_never_prints_a_weak_token(tmp_path: Path) -> None:
    config = tmp_path / "newsradar.toml"
    config.write_text('[dashboard]\ntoken = "hunter2"\n')
    proc = run_cli("config", "check", str(config), env=clean_env())
    assert proc.returncode == 3
    assert "hunter2" not in proc.stdout + proc.stderr
    assert "token must be at least 16" in proc.stderr


def test_dashboard_run_refuses_to_listen_beyond_loopback_unprotected(tmp_path: Path) -> None:
    (port,) = free_ports(1)
    env = clean_env(
        NEWSRADAR_DATA_DIR=str(tmp_path),
        NEWSRADAR_DASHBOARD__HOST="0.0.0.0",
        NEWSRADAR_DASHBOARD__PORT=str(port),
    )
    proc = run_cli("dashboard", "run", env=env, timeout=60)
    assert proc.returncode == 3
    (line,) = proc.stderr.strip().splitlines()
    assert "dashboard.host = '0.0.0.0'" in line
    assert "dashboard.token" in line


def test_up_refuses_to_start_a_dashboard_beyond_loopback_unprotected(tmp_path: Path) -> None:
    """`newsradar up` says so at once, before starting anything, rather than restarting a
    dashboard stage that can only exit."""
    env = clean_env(NEWSRADAR_DATA_DIR=str(tmp_path), NEWSRADAR_DASHBOARD__HOST="0.0.0.0")
    proc = run_cli("up", env=env, timeout=60)
    assert proc.returncode == 3
    (line,) = proc.stderr.strip().splitlines()
    assert "dashboard.host = '0.0.0.0'" in line
    assert not (tmp_path / "kafka").exists()  # no broker was started


def test_the_docker_deployment_gives_what_it_exposes_a_token() -> None:
    """deploy/docker binds the dashboard (page, API and Atom feeds: its one web port) to every
    interface of its container: compose must hand it a token, and with it the config passes."""
    compose = yaml.safe_load((REPO / "deploy" / "docker" / "docker-compose.yml").read_text())
    config = "deploy/docker/newsradar.toml"
    environment = compose["services"]["dashboard"]["environment"]
    required = re.compile(r"\$\{NEWSRADAR_TOKEN:\?[^}]+\}")  # compose stops without it
    tokens = {k: v for k, v in environment.items() if k.endswith("__TOKEN")}
    assert sorted(tokens) == ["NEWSRADAR_DASHBOARD__TOKEN"]
    assert all(required.fullmatch(v) for v in tokens.values())
    for name, service in compose["services"].items():
        if name != "dashboard":
            assert not [k for k in service.get("environment", {}) if k.endswith("__TOKEN")]
    without = run_cli("config", "check", config, env=clean_env())
    assert without.returncode == 3
    assert "dashboard.host = '0.0.0.0'" in without.stderr
    given = run_cli("config", "check", config, env=clean_env(**dict.fromkeys(tokens, TOKEN)))
    assert given.returncode == 0, given.stderr


# In a real browser -------------------------------------------------------------------------------


@contextmanager
def dashboard_process(tmp_path: Path, **env: str) -> Iterator[tuple[int, Settings]]:
    """``newsradar dashboard run`` with one stored alert; yields its port."""
    (port,) = free_ports(1)
    env = {
        "NEWSRADAR_DATA_DIR": str(tmp_path / "data"),
        "NEWSRADAR_DASHBOARD__PORT": str(port),
        "NEWSRADAR_DASHBOARD__POLL_SECONDS": "0.2",
        **env,
    }
    s = load_settings(None, env=env)
    store(s, alert(1))
    log_path = tmp_path / "dashboard.log"
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
                    if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "the dashboard did not answer"
                time.sleep(0.2)
            yield port, s
        finally:
            proc.terminate()
            proc.wait(30)


class _EvilPage(BaseHTTPRequestHandler):
    """Another site: a blank page whose scripts (run by the test) try to read the dashboard."""

    def do_GET(self) -> None:
        body = b"<!doctype html><title>evil</title><p>nothing to see</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def evil_site() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EvilPage)
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


FETCH = """
const done = arguments[arguments.length - 1];
fetch(arguments[0], arguments[1] || {})
  .then(async (r) => done({status: r.status, type: r.type, text: await r.text()}))
  .catch((e) => done({error: String(e)}));
"""
EVENTS = """
const done = arguments[arguments.length - 1];
const source = new EventSource(arguments[0]);
source.addEventListener("alert", (e) => { source.close(); done({data: e.data}); });
source.addEventListener("error", () => { source.close(); done({error: "stream refused"}); });
"""


@pytest.mark.integration
def test_dns_rebinding_page_cannot_read_the_dashboard_in_chromium(tmp_path: Path) -> None:
    """evil.test resolves to 127.0.0.1, as a rebinding attacker's name does once it has
    switched: its page then shares an origin with the dashboard's port, and its scripts may
    read whatever answers there. The dashboard must refuse that name."""
    with (
        dashboard_process(tmp_path) as (port, _),
        chromium("--host-resolver-rules=MAP evil.test 127.0.0.1") as browser,
    ):
        browser.set_script_timeout(20)
        # The dashboard's own name works: the same script can read it there.
        browser.get(f"http://127.0.0.1:{port}/")
        assert SECRET_TITLE in browser.execute_async_script(FETCH, "/api/alerts")["text"]
        # The attacker's page, same port, its own name.
        browser.get(f"http://evil.test:{port}/")
        assert SECRET_TITLE not in browser.page_source
        assert browser.execute_script("return location.origin") == f"http://evil.test:{port}"
        one = alert_id("iraq-russia", "a1")
        for path in (
            "/api/alerts",
            "/api/facets",
            "/api/alerts/" + one,
            "/api/v1/alerts?q=accord",
            "/api/v1/alerts/" + one,
            "/api/v1/export?format=csv",
            "/api/openapi.json",
        ):
            got = browser.execute_async_script(FETCH, path)
            assert got["status"] == 421, (path, got)
            assert SECRET_TITLE not in got["text"]
        starred = browser.execute_async_script(
            FETCH,
            "/api/v1/alerts/" + one,
            {
                "method": "PATCH",
                "headers": {"Content-Type": "application/json"},
                "body": '{"starred": true}',
            },
        )
        assert starred["status"] == 421, starred
        streamed = browser.execute_async_script(EVENTS, "/api/stream?after=0")
        assert streamed == {"error": "stream refused"}
        streamed = browser.execute_async_script(EVENTS, "/api/v1/stream?after=0")
        assert streamed == {"error": "stream refused"}


def assert_headers(seen: list[dict[str, Any]], want_urls: list[str]) -> None:
    by_url = {r["url"]: r for r in seen}
    for url in want_urls:
        assert url in by_url, (url, sorted(by_url))
        headers = by_url[url]["headers"]
        for name, value in SECURITY_HEADERS.items():
            assert headers.get(name) == value, (url, name, headers)
        assert headers.get("cache-control"), url


@pytest.mark.integration
def test_security_headers_and_their_effect_in_chromium(tmp_path: Path) -> None:
    with (
        dashboard_process(tmp_path) as (port, _),
        evil_site() as evil_port,
        chromium("--host-resolver-rules=MAP evil.test 127.0.0.1", network_log=True) as browser,
    ):
        browser.set_script_timeout(20)
        base = f"http://127.0.0.1:{port}"
        browser.get(base + "/")
        deadline = time.monotonic() + 15
        while browser.find_element(By.ID, "live").text != "live":
            assert time.monotonic() < deadline, "the live stream did not open"
            time.sleep(0.2)
        browser.get(base + "/no-such-page")
        browser.get(base + "/api/alerts?limit=²")
        browser.get(base + "/api/openapi.json")
        browser.get(f"http://evil.test:{port}/")
        seen = responses(browser)
        assert_headers(
            seen,
            [
                base + "/",
                base + "/static/app.js",
                base + "/static/i18n.js",
                base + "/static/i18n/en.json",
                base + "/static/style.css",
                base + "/api/v1/alerts?limit=500",  # what the page itself fetches
                base + "/api/v1/facets",
                base + "/no-such-page",
                base + "/api/alerts?limit=²".replace("²", "%C2%B2"),
                base + "/api/openapi.json",
                f"http://evil.test:{port}/",
            ],
        )
        (stream,) = [r for r in seen if r["type"] == "EventSource"]
        assert_headers(seen, [stream["url"]])
        statuses = {r["url"]: r["status"] for r in seen}
        assert statuses[base + "/no-such-page"] == 404
        assert statuses[f"http://evil.test:{port}/"] == 421

        # What the headers do: another site can neither embed the dashboard's responses
        # (Cross-Origin-Resource-Policy) nor frame its page (frame-ancestors, X-Frame-Options).
        browser.get(f"http://evil.test:{evil_port}/")
        embedded = browser.execute_async_script(FETCH, base + "/api/alerts", {"mode": "no-cors"})
        assert "error" in embedded, embedded
        # Nor change triage: PATCH needs a preflight the dashboard never grants, and a simple
        # request (a form's POST) is not a change it takes.
        one = alert_id("iraq-russia", "a1")
        for options in (
            {
                "method": "PATCH",
                "headers": {"Content-Type": "application/json"},
                "body": '{"starred": true}',
            },
            {"method": "PATCH", "mode": "no-cors", "body": '{"starred": true}'},
            {"method": "POST", "mode": "no-cors", "body": '{"starred": true}'},
        ):
            browser.execute_async_script(FETCH, f"{base}/api/v1/alerts/{one}", options)
        untouched = httpx.get(f"{base}/api/v1/alerts/{one}").json()
        assert (untouched["read"], untouched["starred"]) == (False, False)
        browser.execute_script(
            "const f = document.createElement('iframe'); f.src = arguments[0]; "
            "f.id = 'framed'; document.body.append(f);",
            base + "/",
        )
        time.sleep(2)
        browser.switch_to.frame(browser.find_element(By.ID, "framed"))
        assert SECRET_TITLE not in browser.page_source
        assert browser.find_elements(By.ID, "alerts") == []
        browser.switch_to.default_content()


@pytest.mark.integration
def test_token_flow_in_chromium(tmp_path: Path) -> None:
    with (
        dashboard_process(tmp_path, NEWSRADAR_DASHBOARD__TOKEN=TOKEN) as (port, s),
        chromium() as browser,
    ):
        base = f"http://127.0.0.1:{port}"
        browser.get(base + "/")
        assert "access token needed" in browser.page_source
        assert SECRET_TITLE not in browser.page_source
        browser.get(f"{base}/?token={TOKEN}")
        assert browser.current_url == base + "/"
        wait_for_rows(browser, 1)
        assert browser.find_element(By.CSS_SELECTOR, "#alerts td.title").text == SECRET_TITLE
        (cookie,) = browser.get_cookies()
        assert (cookie["httpOnly"], cookie["sameSite"]) == (True, "Strict")
        assert TOKEN not in cookie["value"]
        assert browser.execute_script("return document.cookie") == ""
        # Live alerts arrive over the cookie-authenticated stream.
        store(s, alert(2, "A second accord"))
        wait_for_rows(browser, 2)
        # A reload keeps the session.
        browser.get(base + "/")
        wait_for_rows(browser, 2)


def wait_for_rows(browser: WebDriver, count: int) -> None:
    deadline = time.monotonic() + 15
    while len(browser.find_elements(By.CSS_SELECTOR, "#alerts tbody tr")) != count:
        assert time.monotonic() < deadline, f"timed out waiting for {count} alert rows"
        time.sleep(0.2)
