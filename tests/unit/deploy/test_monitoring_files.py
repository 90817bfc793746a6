"""deploy/grafana and deploy/prometheus against the metrics the code registers: a lint of the
Grafana dashboard (thresholds on every stat panel, a sink that is down shows red, no fixed
`[5m]` range, every query filtered by the `instance` variable and reading a metric that
exists), a panel for every exported metric, a runbook section for every alert rule, and the
Alertmanager example checked and routed by the real `amtool`."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from types import ModuleType
from typing import Any

import pytest
import yaml
from prometheus_client import Counter, Gauge, Histogram, Info
from prometheus_client.metrics import MetricWrapperBase

import processors.metrics
import producers.metrics
import sinks.dashboard.metrics
import sinks.metrics
from tests.conftest import REPO

DASHBOARD = REPO / "deploy" / "grafana" / "dashboards" / "newsradar.json"
PROMETHEUS = REPO / "deploy" / "prometheus"
OPERATIONS = REPO / "docs" / "operations.md"
SERVICES: dict[str, ModuleType] = {
    "producers": producers.metrics,
    "processors": processors.metrics,
    "sinks": sinks.metrics,
    "dashboard": sinks.dashboard.metrics,
}
_METRIC = re.compile(r"\b(newsradar_[a-z0-9_]+)\b")


def samples(metric: MetricWrapperBase) -> set[str]:
    """The names of the series ``metric`` exports."""
    name = metric._name
    if isinstance(metric, Counter):
        return {f"{name}_total"}
    if isinstance(metric, Histogram):
        return {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
    if isinstance(metric, Info):
        return {f"{name}_info"}
    assert isinstance(metric, Gauge), name
    return {name}


def registered() -> dict[str, set[str]]:
    """Every metric the services register, by family name: the series names it exports."""
    found: dict[str, set[str]] = {}
    for module in SERVICES.values():
        for value in vars(module).values():
            if isinstance(value, MetricWrapperBase):
                found[value._name] = samples(value)
    return found


def board() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def queries() -> list[tuple[str, str]]:
    return [
        (panel["title"], target["expr"])
        for panel in board()["panels"]
        for target in panel.get("targets", [])
    ]


def rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def test_the_code_registers_the_metrics_this_test_reads() -> None:
    names = registered()
    assert len(names) >= 30
    assert "newsradar_processor_lag_records" in names
    assert names["newsradar_pair_articles"] == {"newsradar_pair_articles_total"}
    assert "newsradar_pair_articles_hour" not in names  # a per-worker gauge no more


def test_every_exported_metric_has_a_dashboard_panel() -> None:
    shown = {m for _, expr in queries() for m in _METRIC.findall(expr)}
    unused = sorted(family for family, series in registered().items() if not series & shown)
    assert unused == []


def test_every_query_and_rule_reads_a_metric_that_exists() -> None:
    exported = set().union(*registered().values())
    expressions = queries() + [(rule["alert"], rule["expr"]) for rule in rules()]
    unknown = [
        (where, metric)
        for where, expr in expressions
        for metric in _METRIC.findall(expr)
        if metric not in exported
    ]
    assert unknown == []


def test_grafana_queries_use_the_rate_interval_and_the_instance_variable() -> None:
    templating = {v["name"]: v for v in board()["templating"]["list"]}
    instance = templating["instance"]
    assert instance["type"] == "query"
    assert "label_values(up" in instance["query"]["query"]
    assert (instance["multi"], instance["includeAll"], instance["allValue"]) == (True, True, ".*")
    for title, expr in queries():
        assert "[5m]" not in expr, title
        # rate(), irate() and deriv() over Grafana's own interval; increase() only per hour.
        for function, window in re.findall(
            r"\b(rate|irate|deriv|increase)\([^\[]*\[([^\]]+)\]", expr
        ):
            allowed = {"$__rate_interval"} if function != "increase" else {"1h"}
            assert window in allowed, (title, function, window)
        # Every metric selector filters by the instance variable.
        for selector in re.findall(r"\b(?:newsradar_[a-z0-9_]+|up)(\{[^}]*\})?", expr):
            assert 'instance=~"$instance"' in selector, (title, expr)


def test_every_stat_panel_has_thresholds_and_a_sink_that_is_down_is_red() -> None:
    stats = {p["title"]: p for p in board()["panels"] if p["type"] == "stat"}
    assert len(stats) >= 5
    for title, panel in stats.items():
        defaults = panel["fieldConfig"]["defaults"]
        steps = defaults["thresholds"]["steps"]
        assert steps, title
        assert steps[0]["value"] is None, title  # a base colour for every value
        assert defaults["color"]["mode"] == "thresholds", title

    def colour(panel: dict[str, Any], value: float) -> str:
        steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
        return str([s["color"] for s in steps if s["value"] is None or value >= s["value"]][-1])

    for title in ("Sink up", "Services up"):
        assert "up" in stats[title]["targets"][0]["expr"]
        assert (colour(stats[title], 0), colour(stats[title], 1)) == ("red", "green"), title
    assert colour(stats["Lag measured, seconds ago"], 600) == "red"


def slugs(markdown: str) -> set[str]:
    """GitHub's anchors for the headings of ``markdown``."""
    found = set()
    for heading in re.findall(r"^#{1,6} (.+)$", markdown, flags=re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        found.add(slug)
    return found


def test_every_rule_has_a_runbook_url_naming_a_section_of_the_operations_guide() -> None:
    sections = slugs(OPERATIONS.read_text())
    names = set()
    for rule in rules():
        url = rule["annotations"]["runbook_url"]
        path, _, anchor = url.partition("#")
        assert path == "docs/operations.md", rule["alert"]
        assert anchor in sections, (rule["alert"], anchor)
        assert anchor == rule["alert"].lower()  # the section is named after the alert
        names.add(rule["alert"])
    assert {"NewsradarProcessorStuck", "NewsradarMetricsAbsent"} <= names


def amtool(*args: str) -> str:
    path = shutil.which("amtool")
    if path is None:
        pytest.fail(
            "amtool not found: install Debian's prometheus-alertmanager (scripts/test.sh does)"
        )
    proc = subprocess.run(
        [path, *args], cwd=PROMETHEUS, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_the_alertmanager_example_passes_amtool_and_routes_to_email_and_webhook() -> None:
    assert "SUCCESS" in amtool("check-config", "alertmanager.yml")
    config = yaml.safe_load((PROMETHEUS / "alertmanager.yml").read_text())
    kinds = {r["name"]: set(r) - {"name"} for r in config["receivers"]}
    assert kinds == {"oncall-email": {"email_configs"}, "ops-webhook": {"webhook_configs"}}

    def route(**labels: str) -> str:
        pairs = [f"{k}={v}" for k, v in labels.items()]
        out = amtool("config", "routes", "test", "--config.file=alertmanager.yml", *pairs)
        return out.strip()

    assert route(alertname="NewsradarProcessorStuck", severity="critical") == (
        "oncall-email,ops-webhook"
    )
    assert route(alertname="NewsradarFeedsStale", severity="warning") == "ops-webhook"
    # Every severity the rules use reaches someone.
    for severity in {rule["labels"]["severity"] for rule in rules()}:
        assert route(severity=severity), severity
