"""``newsradar up --demo``: the pipeline fed by bundled articles served as local RSS feeds.

The articles (``articles.jsonl`` beside this file: the reference article and articles written
for the project) are served by a small HTTP server on 127.0.0.1, one feed per language, dated
at start-up, so a new user without internet sees alerts within a minute.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from email.utils import format_datetime
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any

ARTICLES = resources.files("newsradar.demo") / "articles.jsonl"


def demo_articles() -> list[dict[str, Any]]:
    return [json.loads(line) for line in ARTICLES.read_text(encoding="utf-8").splitlines() if line]


def rss(articles: list[dict[str, Any]], language: str, published: datetime, base: str) -> bytes:
    when = format_datetime(published, usegmt=True)
    items = "".join(
        f"<item><title>{escape(a['title'])}</title><link>{base}/articles/{a['id']}</link>"
        f'<guid isPermaLink="false">{a["id"]}</guid><pubDate>{when}</pubDate>'
        f"<description>{escape(a['content'])}</description></item>"
        for a in articles
        if a["language"] == language
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>newsradar demo ({language})</title><link>{base}/</link>"
        f"<language>{language}</language>{items}</channel></rss>"
    ).encode()


class DemoFeeds:
    """Serves the demo feeds until :meth:`stop`; :attr:`feeds` lists their URLs."""

    def __init__(self) -> None:
        articles = demo_articles()
        published = datetime.now(UTC).replace(microsecond=0)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        base = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.bodies = {
            f"/{lang}.xml": rss(articles, lang, published, base) for lang in ("ar", "en")
        }
        self.feeds = [
            {"url": f"{base}/{lang}.xml", "name": f"newsradar demo ({lang})", "language": lang}
            for lang in ("ar", "en")
        ]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        demo = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                body = demo.bodies.get(self.path)
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

        return Handler

    def write_feed_list(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"feeds": self.feeds}, indent=2), encoding="utf-8")
        return path

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
