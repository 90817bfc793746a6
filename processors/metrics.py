"""Prometheus metrics of the processors stage (names ``newsradar_*``, base units)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, Info

ARTICLES = Counter(
    "newsradar_processor_articles_total",
    "Articles the processors read, by outcome (alerted, no_alert, deadlettered).",
    ["outcome"],
)
ALERTS = Counter("newsradar_alerts_total", "Alerts raised, by rule.", ["rule"])
DEADLETTERS = Counter(
    "newsradar_deadletter_total",
    "Records sent to the dead-letter topic, by stage and error type.",
    ["stage", "error_type"],
)
PROCESSING = Histogram(
    "newsradar_processing_seconds",
    "Time to classify one article and emit its alerts.",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)
LAG = Histogram(
    "newsradar_alert_lag_seconds",
    "End-to-end lag from the article's publish to Kafka to its alert being emitted.",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
PAIR_ARTICLES = Counter(
    "newsradar_pair_articles_total",
    "Articles mentioning a country pair; read with increase() (exact across workers and restarts).",
    ["pair"],
)
PAIR_SURGE = Gauge(
    "newsradar_pair_surge",
    "1 while a country pair's hourly count surges above its rolling 24-hour baseline.",
    ["pair"],
)
ENGINE = Info(
    "newsradar_detection_engine",
    "Which detection engine this worker runs: native (its Rust core) or python.",
)
CONSUMER_LAG = Gauge(
    "newsradar_processor_lag_records",
    "Articles in Kafka not yet committed by this worker, per partition it holds "
    "(high-water offset minus committed offset).",
    ["topic", "partition"],
)
COMMITTED = Gauge(
    "newsradar_processor_committed_offset",
    "This worker's committed offset per partition it holds; a stuck worker's stops moving.",
    ["topic", "partition"],
)
LAG_MEASURED = Gauge(
    "newsradar_processor_lag_measured_timestamp_seconds",
    "When this worker last measured its lag (Unix time); stale when its event loop is stuck.",
)
