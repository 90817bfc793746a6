"""deploy/prometheus and deploy/grafana against the real Prometheus (Debian's package) scraping
the running services (producers, processors, sinks and the dashboard): the config and rules
pass promtool, the alert rules pass their unit tests, and every dashboard query (with its
Grafana variables filled in) and alert expression evaluates and returns series."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from kafka import KafkaProducer

from newsradar.schemas import Alert
from tests.conftest import REPO, free_ports
from tests.feedserver import Reply, feed_server, rss
from tests.integration.conftest import KafkaEnv, Worker, decoded, reference_feed_items, service

PROMETHEUS = REPO / "deploy" / "prometheus"
DASHBOARD = REPO / "deploy" / "grafana" / "dashboards" / "newsradar.json"


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} not found: install Debian's prometheus (scripts/test.sh does)")
    return path


def promtool(*args: str) -> str:
    proc = subprocess.run(
        [tool("promtool"), *args], cwd=PROMETHEUS, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_config_and_rules_pass_promtool_and_the_rule_unit_tests() -> None:
    assert "SUCCESS" in promtool("check", "config", "prometheus.yml")
    assert "SUCCESS: 14 rules found" in promtool("check", "rules", "alerts.yml")
    assert "SUCCESS" in promtool("test", "rules", "alerts.test.yml")


GRAFANA_VARIABLES = {"$__rate_interval": "10s", "$instance": ".*"}
"""What Grafana puts in for its variables: every instance; a rate interval of a few of this
test's 1 s scrapes."""


def dashboard_queries() -> list[tuple[str, str]]:
    board = json.loads(DASHBOARD.read_text())
    found = []
    for panel in board["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"]
            for name, value in GRAFANA_VARIABLES.items():
                expr = expr.replace(name, value)
            assert "$" not in expr, (panel["title"], expr)
            found.append((panel["title"], expr))
    return found


def alert_expressions() -> list[tuple[str, str]]:
    groups = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]
    return [(rule["alert"], rule["expr"]) for group in groups for rule in group["rules"]]


class Prometheus:
    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=10)

    def get(self, path: str, **params: str) -> Any:
        response = self.http.get(path, params=params)
        body = response.json()
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> list[Any]:
        data = self.get("/api/v1/query", query=expr)
        result: list[Any] = data["result"]
        return result


@pytest.fixture
def prometheus(tmp_path: Path, targets: dict[str, str]) -> Iterator[Prometheus]:
    """The real Prometheus with the shipped config: its targets pointed at this test's
    services, 1 s scrape and evaluation so the test need not wait minutes."""
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    config["rule_files"] = [str(PROMETHEUS / f) for f in config["rule_files"]]
    for job in config["scrape_configs"]:
        job["static_configs"] = [{"targets": [targets[job["job_name"]]]}]
    assert set(targets) == {job["job_name"] for job in config["scrape_configs"]}
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    (port,) = free_ports(1)
    log = (tmp_path / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        [
            tool("prometheus"),
            f"--config.file={path}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = Prometheus(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if server.http.get("/-/ready").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        yield server
    finally:
        server.http.close()
        proc.terminate()
        proc.wait(30)
        log.close()


@pytest.fixture
def targets(kafka: KafkaEnv, processors_worker: Worker, tmp_path: Path) -> Iterator[dict[str, str]]:
    """Producers (a feed with the reference article, and a feed that fails), the session's
    processors worker, sinks (SQLite, and a webhook whose endpoint is down) and the dashboard
    over the sinks' store."""
    run = time.time_ns()
    _, items = reference_feed_items(run)
    producers_port, sinks_port, dead_port, dashboard_port = free_ports(4)
    with feed_server() as server:
        server.routes["/elaph.xml"] = Reply(200, rss(items, title="Elaph"))
        server.routes["/broken.xml"] = Reply(500)
        feeds = tmp_path / "feeds.yaml"
        feeds.write_text(
            json.dumps(
                {"feeds": [{"url": server.url("/elaph.xml")}, {"url": server.url("/broken.xml")}]}
            )
        )
        config = tmp_path / "newsradar.toml"
        config.write_text(
            f'[[sinks.webhooks]]\nname = "ops"\nurl = "http://127.0.0.1:{dead_port}/hook"\n'
        )
        env = {
            "NEWSRADAR_CONFIG": str(config),
            "NEWSRADAR_DATA_DIR": str(tmp_path / "data"),
            "NEWSRADAR_KAFKA_BOOTSTRAP": kafka.bootstrap,
            "NEWSRADAR_PRODUCERS__FEEDS_FILE": str(feeds),
            "NEWSRADAR_PRODUCERS__METRICS_PORT": str(producers_port),
            "NEWSRADAR_PRODUCERS__DEFAULT_INTERVAL_SECONDS": "60",
            "NEWSRADAR_PRODUCERS__PER_HOST_DELAY_SECONDS": "0",
            "NEWSRADAR_SINKS__METRICS_PORT": str(sinks_port),
            "NEWSRADAR_SINKS__GROUP_PREFIX": f"monitoring-{run}",
            "NEWSRADAR_DASHBOARD__PORT": str(dashboard_port),
        }
        with (
            service(kafka, ["producers", "run"], tmp_path / "producers.log", **env) as producers,
            service(kafka, ["sinks", "run"], tmp_path / "sinks.log", **env),
            service(kafka, ["dashboard", "run"], tmp_path / "dashboard.log", **env),
        ):
            # The pipeline has run once end to end before Prometheus looks at it.
            alerts = kafka.consume(
                kafka.settings.topics.alerts.name,
                lambda m: a if (a := decoded(Alert, m)) and str(run) in a.article_url else None,
                worker=producers,
            )
            assert [a.rule_id for a in alerts] == ["iraq-russia"]
            # Malformed records for both consuming stages, so the dead-letter series exist.
            producer = KafkaProducer(bootstrap_servers=kafka.bootstrap)
            for topic in (kafka.settings.topics.articles.name, kafka.settings.topics.alerts.name):
                producer.send(topic, key=f"bad-{run}".encode(), value=b"{not json").get(30)
            producer.close()
            yield {
                "newsradar-producers": f"127.0.0.1:{producers_port}",
                "newsradar-processors": processors_worker.metrics_url.split("/")[2],
                "newsradar-sinks": f"127.0.0.1:{sinks_port}",
                "newsradar-dashboard": f"127.0.0.1:{dashboard_port}",
            }


def test_every_dashboard_query_and_alert_expression_returns_series(
    prometheus: Prometheus,
) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        active = prometheus.get("/api/v1/targets")["activeTargets"]
        if len(active) == 4 and all(t["health"] == "up" for t in active):
            break
        time.sleep(1)
    assert sorted((t["labels"]["job"], t["health"]) for t in active) == [
        ("newsradar-dashboard", "up"),
        ("newsradar-processors", "up"),
        ("newsradar-producers", "up"),
        ("newsradar-sinks", "up"),
    ]

    queries = dashboard_queries()
    assert len(queries) >= 30
    empty: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # rate() needs two scrapes of each series
        empty = [f"{title}: {expr}" for title, expr in queries if not prometheus.query(expr)]
        if not empty:
            break
        time.sleep(2)
    assert empty == []

    # Alert expressions: each evaluates, every metric it reads has series here, and the dead
    # webhook and the malformed records raise their alerts.
    for name, expr in alert_expressions():
        prometheus.query(expr)
        for metric in set(re.findall(r"\b(newsradar_[a-z_]+|up)\b", expr)):
            assert prometheus.query(f"count({metric})"), f"{name}: no series for {metric}"
    expected = {
        ("NewsradarSinkFailing", "webhook-ops"),  # pending: `for: 5m` has not passed yet
        ("NewsradarDeadLetters", "processors"),
        ("NewsradarDeadLetters", "sinks"),
    }
    deadline = time.monotonic() + 30
    seen: set[tuple[str, str]] = set()
    while time.monotonic() < deadline and not expected <= seen:
        seen = {
            (a["labels"]["alertname"], a["labels"].get("stage") or a["labels"].get("sink", ""))
            for a in prometheus.get("/api/v1/alerts")["alerts"]
        }
        time.sleep(1)
    assert expected <= seen
    rules = [r for g in prometheus.get("/api/v1/rules")["groups"] for r in g["rules"]]
    assert len(rules) == 14
    assert {r["health"] for r in rules} == {"ok"}
