"""Atom feeds of alerts, served over HTTP: ``/feeds/<rule>.atom`` and ``/feeds/all.atom``.

The sink keeps the alerts it is given in its own SQLite store (same schema and idempotent upsert
as the embedded store) and renders the newest of them on request. XML is built with
ElementTree, so untrusted article text is always escaped; characters XML 1.0 cannot hold are
removed, so a feed stays well-formed whatever a title holds, and an entry links to its article
only when the URL is http(s) (see sinks.render).
"""

from __future__ import annotations

import re
import threading
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from newsradar.schemas import Alert
from newsradar.settings import AtomSinkSettings
from sinks.base import Health, Sink
from sinks.errors import TransientSinkError
from sinks.render import safe_link, xml_text
from sinks.sqlite import SqliteSink, list_alerts

ATOM = "http://www.w3.org/2005/Atom"
_FEED_PATH = re.compile(r"^/feeds/([a-z0-9][a-z0-9._-]{0,63})\.atom$")


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
        self._server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        port = self._server.server_address[1] if self._server else self.config.port
        return f"http://{self.config.host}:{port}"

    def setup(self) -> None:
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
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                match = _FEED_PATH.match(self.path)
                if not match:
                    self._reply(
                        404,
                        b"not found: use /feeds/<rule>.atom or /feeds/all.atom\n",
                        "text/plain; charset=utf-8",
                    )
                    return
                rule = match.group(1)
                alerts = list_alerts(
                    sink.store.path, rule=None if rule == "all" else rule, limit=sink.config.entries
                )
                body = render(alerts, rule=rule, self_url=f"{sink.base_url}{self.path}")
                self._reply(200, body, "application/atom+xml; charset=utf-8")

            def _reply(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

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
            response = httpx.get(f"{self.base_url}/feeds/all.atom", timeout=5)
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
