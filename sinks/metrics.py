"""Prometheus metrics of the sinks stage (names ``newsradar_*``, base units)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

DELIVERED = Counter(
    "newsradar_alerts_delivered_total",
    "Alerts a sink accepted, by sink and rule.",
    ["sink", "rule"],
)
FAILURES = Counter(
    "newsradar_sink_failures_total", "Batches a sink failed to accept (then retried).", ["sink"]
)
DEADLETTERS = Counter(
    "newsradar_sink_deadletter_total",
    "Alert records sent to the dead-letter topic by the sinks, by error type.",
    ["sink", "error_type"],
)
LATENCY = Histogram(
    "newsradar_delivery_latency_seconds",
    "From the article's publish to Kafka to its alert's delivery by a sink.",
    ["sink"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
LAG = Gauge("newsradar_consumer_lag_records", "Alerts not yet read by a sink.", ["sink"])
HEALTHY = Gauge(
    "newsradar_sink_up", "1 when the sink's last healthcheck or write succeeded.", ["sink"]
)
HELD = Gauge(
    "newsradar_alerts_held",
    "Alerts a push sink holds for a digest (throttle, quiet hours, hourly/daily cadence).",
    ["sink"],
)
DIGESTS = Counter(
    "newsradar_digests_sent_total", "Digests a push sink sent, by sink and rule.", ["sink", "rule"]
)
