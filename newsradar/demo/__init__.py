"""``newsradar up --demo``: the pipeline fed by bundled articles served as local RSS feeds.

The articles (``articles.jsonl`` beside this file: the reference article and articles written
for the project; ``surge.jsonl``: a burst of Iraq–Russia stories) are served by a small HTTP
server on 127.0.0.1, one feed per language. They are replayed: ``timeline.json`` says when each
appears in its feed (dated that moment), over three minutes at the default pace, so a new user
without internet sees the dashboard fill live, the reference article's alert within a minute
and a surge of one pair near the end. ``minutes`` scales the timeline (0: all at once).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any

DATA = resources.files("newsradar.demo")
ARTICLES = DATA / "articles.jsonl"
SURGE = DATA / "surge.jsonl"
TIMELINE = DATA / "timeline.json"
DEFAULT_MINUTES = 3.0
"""The default pace: the timeline's last article appears three minutes after start."""


def demo_articles() -> list[dict[str, Any]]:
    """Every demo article: the samples, then the surge."""
    return [
        json.loads(line)
        for source in (ARTICLES, SURGE)
        for line in source.read_text(encoding="utf-8").splitlines()
        if line
    ]


def timeline() -> dict[str, float]:
    """Article id -> seconds after start at which it appears, at the default pace."""
    at: dict[str, float] = json.loads(TIMELINE.read_text(encoding="utf-8"))["at_seconds"]
    return at


def rss(articles: list[tuple[dict[str, Any], datetime]], language: str, base: str) -> bytes:
    """An RSS feed of ``articles`` (each with its publication time) in ``language``."""
    items = "".join(
        f"<item><title>{escape(a['title'])}</title><link>{base}/articles/{a['id']}</link>"
        f'<guid isPermaLink="false">{a["id"]}</guid>'
        f"<pubDate>{format_datetime(published, usegmt=True)}</pubDate>"
        f"<description>{escape(a['content'])}</description></item>"
        for a, published in articles
        if a["language"] == language
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>newsradar demo ({language})</title><link>{base}/</link>"
        f"<language>{language}</language>{items}</channel></rss>"
    ).encode()


class DemoFeeds:
    """Serves the demo feeds until :meth:`stop`; :attr:`feeds` lists their URLs.

    An article is in its feed from its time on the timeline, scaled so the whole timeline
    lasts ``minutes``; ``clock`` (monotonic seconds) is for tests."""

    def __init__(
        self, minutes: float = DEFAULT_MINUTES, clock: Callable[[], float] = time.monotonic
    ) -> None:
        at = timeline()
        articles = demo_articles()
        missing = [a["id"] for a in articles if a["id"] not in at]
        if missing:
            raise ValueError(f"{TIMELINE}: no time for demo articles {missing}")
        scale = minutes * 60 / max(at.values()) if max(at.values()) > 0 else 0.0
        self.clock = clock
        self.started = clock()
        wall = datetime.now(UTC).replace(microsecond=0)
        self.schedule = sorted(
            ((at[a["id"]] * scale, a) for a in articles), key=lambda pair: pair[0]
        )
        """(seconds after start, article), earliest first."""
        self.published = {a["id"]: wall + timedelta(seconds=round(t)) for t, a in self.schedule}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.feeds = [
            {"url": f"{self.base}/{lang}.xml", "name": f"newsradar demo ({lang})", "language": lang}
            for lang in ("ar", "en")
        ]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def begin(self) -> None:
        """Start the replay now (``up`` calls it when the stages start, so a slow broker start
        does not eat into it)."""
        self.started = self.clock()

    @property
    def seconds(self) -> float:
        """How long the replay lasts."""
        return self.schedule[-1][0] if self.schedule else 0.0

    def released(self) -> list[dict[str, Any]]:
        """The articles whose time has come, newest first."""
        elapsed = self.clock() - self.started
        return [a for t, a in reversed(self.schedule) if t <= elapsed]

    def body(self, path: str) -> bytes | None:
        for lang in ("ar", "en"):
            if path == f"/{lang}.xml":
                shown = [(a, self.published[a["id"]]) for a in self.released()]
                return rss(shown, lang, self.base)
        return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        demo = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                body = demo.body(self.path)
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
