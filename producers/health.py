"""Feed health as people read it: one row per configured or known feed.

``newsradar feeds status`` prints these rows and the web dashboard shows them; both read the
producers' state (SQLite in the data directory), so they work while the service runs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from newsradar.settings import Settings
from producers.feeds import load_feeds
from producers.state import FeedState, ProducerState


def state_path(settings: Settings) -> Path:
    return settings.data_dir / "producers" / "state.sqlite"


def _iso(ts: float | None) -> str | None:
    return datetime.fromtimestamp(ts, UTC).isoformat() if ts else None


def feed_health(settings: Settings) -> list[tuple[dict[str, Any], FeedState | None]]:
    """Each feed's health row (JSON-ready) and its stored state, if any, sorted by url."""
    configured = {f.url: f for f in load_feeds(settings.producers.feeds_file)}
    path = state_path(settings)
    known: dict[str, FeedState] = {}
    if path.is_file():
        store = ProducerState(path)
        try:
            known = {f.url: f for f in store.feeds()}
        finally:
            store.close()
    rows = []
    for url in sorted(set(configured) | set(known)):
        seen = known.get(url)
        feed = seen or FeedState(url, name=configured[url].label)
        row = {
            "url": url,
            "name": feed.name or (configured[url].label if url in configured else ""),
            "health": feed.health if url in configured or feed.gone else "not_configured",
            "last_success": _iso(feed.last_success),
            "consecutive_failures": feed.consecutive_failures,
            "last_error_class": feed.last_error_class,
            "last_error": feed.last_error,
            "items_last_poll": feed.items_last_poll,
            "new_last_poll": feed.new_last_poll,
            "interval_seconds": round(feed.interval_seconds, 1),
            "next_poll": _iso(feed.next_poll or None),
            "moved_to": feed.moved_to,
            "problem": feed.problem,
        }
        rows.append((row, seen))
    return rows
