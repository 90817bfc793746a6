"""Prometheus metrics of the producers stage (names ``newsradar_*``, base units)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

FETCHES = Counter(
    "newsradar_feed_fetches_total",
    "Feed fetches by outcome: ok, not_modified, unchanged, or the error class.",
    ["outcome"],
)
FETCH_SECONDS = Histogram(
    "newsradar_feed_fetch_seconds",
    "Time to fetch one feed.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 60),
)
FETCH_BYTES = Counter("newsradar_feed_bytes_total", "Feed bytes read (after decompression).")
PUBLISHED = Counter("newsradar_articles_published_total", "Articles Kafka acknowledged.")
DUPLICATES = Counter(
    "newsradar_articles_duplicates_total", "Articles skipped as already published."
)
PUBLISH_ERRORS = Counter(
    "newsradar_publish_errors_total", "Publish attempts that left articles pending."
)
PENDING = Gauge("newsradar_articles_pending", "Articles parsed but not yet acknowledged by Kafka.")
FEEDS = Gauge("newsradar_feeds", "Feeds by health state.", ["state"])
STALE = Gauge(
    "newsradar_feeds_stale",
    "Feeds (not gone) without a successful fetch for producers.stale_after_seconds.",
)
