"""Atom feeds of alerts, served over HTTP: ``/feeds/<rule>.atom`` and ``/feeds/all.atom``.

The sink keeps the alerts it is given in its own SQLite store (same schema and idempotent upsert
as the embedded store) and renders the newest of them on request. XML is built with
ElementTree, so untrusted article text is always escaped; characters XML 1.0 cannot hold are
removed, so a feed stays well-formed whatever a title holds, and an entry links to its article
only when the URL is http(s) (see sinks.render).

The server answers only to the Host names it serves and, when ``sinks.atom.token`` (or
``trusted_proxy_header``) is set, only to readers that give it: ``?token=`` in the feed URL,
the password of basic auth (``https://reader:TOKEN@host/feeds/all.atom``), or
``Authorization: Bearer`` (:mod:`sinks.access`). Every response, errors included, carries the
security headers; errors are one line of plain text. A client that stops sending is dropped
after :data:`READ_TIMEOUT_SECONDS`.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from newsradar.errors import ConfigError
from newsradar.schemas import Alert
from newsradar.settings import AtomSinkSettings
from sinks.access import SECURITY_HEADERS, Asked, Gate
from sinks.base import Health, Sink
from sinks.errors import TransientSinkError
from sinks.render import safe_link, xml_text
from sinks.sqlite import SqliteSink, list_alerts

log = logging.getLogger("newsradar.sinks.atom")
ATOM = "http://www.w3.org/2005/Atom"
_FEED_PATH = re.compile(r"/feeds/([a-z0-9][a-z0-9._-]{0,63})\.atom")
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'; sandbox"
)
READ_TIMEOUT_SECONDS = 20.0
"""A client that sends nothing for this long is dropped (each one holds a thread)."""
NOT_FOUND = "not found: use /feeds/<rule>.atom or /feeds/all.atom"


def render(alerts: Sequence[Alert], *, rule: str, self_url: str) -> bytes:
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    title = "all rules" if rule == "all" else rule
    ET.SubElement(feed, f"{{{ATOM}}}title").text = f"newsradar alerts: {title}"
    ET.SubElement(feed, f"{{{ATOM}}}id").text = f"urn:newsradar:feed:{rule}"
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="self", href=self_url)
    updated = max((a.created_at for a in alerts), default=datetime.now(UTC))
    ET.SubElement(feed, f"{{{ATOM}}}updated").text = updated.isoformat()
    ET.SubElement(ET.SubElement(feed, f"{{{ATOM}}}author"), f"{{{ATOM}}}name").text = "newsradar"
    for alert in alerts:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        ET.SubElement(entry, f"{{{ATOM}}}id").text = f"urn:newsradar:alert:{alert.id}"
        title = alert.article_title or alert.article_id
        ET.SubElement(entry, f"{{{ATOM}}}title").text = xml_text(title)
        link = safe_link(alert.article_url)
        if link:
            ET.SubElement(entry, f"{{{ATOM}}}link", href=xml_text(link))
        ET.SubElement(entry, f"{{{ATOM}}}updated").text = alert.created_at.isoformat()
        ET.SubElement(entry, f"{{{ATOM}}}published").text = alert.article_published.isoformat()
        ET.SubElement(entry, f"{{{ATOM}}}category", term=alert.rule_id)
        terms = sorted({f"{m.term} ({m.denotes})" for m in alert.matches})[:20]
        why = alert.why()
        ET.SubElement(entry, f"{{{ATOM}}}summary", type="text").text = xml_text(
            (f"Why: {why}. " if why else "") + f"Rule {alert.rule_id} (score {alert.score:g}). "
            f"Pairs: {', '.join(alert.pairs) or '-'}. Topics: {', '.join(alert.topics) or '-'}. "
            f"Matched: {'; '.join(terms) or '-'}."
        )
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + bytes(ET.tostring(feed, encoding="utf-8"))


class AtomSink(Sink):
    name = "atom"

    def __init__(self, config: AtomSinkSettings, state_dir: Path) -> None:
        self.config = config
        self.store = SqliteSink(state_dir / "atom.sqlite")
        self.gate = Gate(config, "sinks.atom", challenge='Basic realm="newsradar feeds"')
        self._server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        port = self._server.server_address[1] if self._server else self.config.port
        return f"http://{self.config.host}:{port}"

    def setup(self) -> None:
        """Open the store and listen; a ConfigError if other machines could read the feeds
        without credentials."""
        unprotected = self.config.unprotected("sinks.atom")
        if unprotected is not None:
            raise ConfigError(unprotected)
        self.store.setup()
        if self._server is not None:
            return
        try:
            self._server = ThreadingHTTPServer(
                (self.config.host, self.config.port), self._handler()
            )
        except OSError as exc:
            raise TransientSinkError(
                f"atom: cannot listen on {self.config.host}:{self.config.port} ({exc.strerror}); "
                "set sinks.atom.port to a free port"
            ) from None
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "newsradar-atom"
            sys_version = ""
            timeout = READ_TIMEOUT_SECONDS
            # Answer even a request too broken to name its version with a status line and
            # headers (HTTP/0.9 replies have neither).
            default_request_version = "HTTP/1.0"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                self._serve()

            def do_HEAD(self) -> None:
                self._serve()

            def _serve(self) -> None:
                try:
                    self._feed()
                except OSError:  # the reader went away
                    self.close_connection = True
                except Exception:
                    log.exception("Atom request failed. target=%r", self.path[:200])
                    self._reply(500, "atom: internal error; the sinks log has the details")

            def _feed(self) -> None:
                hosts = self.headers.get_all("Host") or []
                verdict = sink.gate.check(
                    Asked(
                        target=self.path,
                        host=hosts[0] if len(hosts) == 1 else None,
                        header=self.headers.get,
                        peer=self.client_address[0],
                    )
                )
                if verdict.status != 200:
                    challenge = {"WWW-Authenticate": verdict.challenge} if verdict.challenge else {}
                    self._reply(verdict.status, verdict.reason, challenge)
                    return
                path = urlsplit(self.path).path
                match = _FEED_PATH.fullmatch(path)
                if not match:
                    self._reply(404, NOT_FOUND)
                    return
                rule = match.group(1)
                try:
                    alerts = list_alerts(
                        sink.store.path,
                        rule=None if rule == "all" else rule,
                        limit=sink.config.entries,
                    )
                except sqlite3.Error as exc:
                    self._reply(503, f"atom: the feed store cannot be read ({exc}); try again")
                    return
                # The feed's own link without the query: a token in the URL stays out of it.
                body = render(alerts, rule=rule, self_url=f"{sink.base_url}{path}")
                self._send(200, body, "application/atom+xml; charset=utf-8")

            def send_error(
                self, code: int, message: str | None = None, explain: str | None = None
            ) -> None:
                """The standard library's own refusals (malformed request, unknown method,
                over-long line) as one plain line, with the headers, like every other reply."""
                self.close_connection = True
                short = self.responses.get(code, ("error",))[0]
                self._reply(code, f"atom: {message or short}")

            def _reply(
                self, status: int, message: str, headers: dict[str, str] | None = None
            ) -> None:
                line = " ".join(message.split())  # one line, whatever the message held
                self._send(status, f"{line}\n".encode(), "text/plain; charset=utf-8", headers)

            def _send(
                self,
                status: int,
                body: bytes,
                content_type: str,
                headers: dict[str, str] | None = None,
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def end_headers(self) -> None:
                for name, value in SECURITY_HEADERS.items():
                    self.send_header(name, value)
                self.send_header("Content-Security-Policy", CONTENT_SECURITY_POLICY)
                self.send_header("Cache-Control", "no-store")
                super().end_headers()

        return Handler

    def write(self, batch: Sequence[Alert]) -> None:
        self.store.write(batch)

    def healthcheck(self) -> Health:
        """Fetch our own combined feed, as a reader would."""
        try:
            self.setup()
        except TransientSinkError as exc:
            # The port may be held by the running sinks service: then that one is checked.
            problem = str(exc)
        else:
            problem = ""
        try:
            response = httpx.get(
                f"{self.base_url}/feeds/all.atom", headers=self.gate.client_headers(), timeout=5
            )
        except httpx.HTTPError as exc:
            return Health(False, problem or f"atom: {self.base_url} unreachable: {exc}")
        if problem and "atom+xml" not in response.headers.get("content-type", ""):
            return Health(False, problem)
        if response.status_code != 200:
            return Health(
                False, f"atom: {self.base_url}/feeds/all.atom answers {response.status_code}"
            )
        return Health(True, f"atom: serving {self.base_url}/feeds/<rule>.atom")

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self.store.close()
