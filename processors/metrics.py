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
PAIR_HOURLY = Gauge(
    "newsradar_pair_articles_hour",
    "Articles mentioning a country pair in the current hour (pairs seen by this worker).",
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
