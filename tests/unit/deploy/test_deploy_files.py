"""deploy/docker: the compose Prometheus agrees with the shipped one and the config (the compose
file itself: test_compose.py; the systemd units: test_systemd.py)."""

from __future__ import annotations

import yaml

from newsradar.settings import load_settings
from tests.conftest import REPO

DEPLOY = REPO / "deploy"


def compose() -> dict[str, object]:
    loaded: dict[str, object] = yaml.safe_load(
        (DEPLOY / "docker" / "docker-compose.yml").read_text()
    )
    return loaded


def test_compose_prometheus_scrapes_what_the_shipped_config_scrapes() -> None:
    shipped = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    composed = yaml.safe_load((DEPLOY / "docker" / "prometheus.yml").read_text())
    settings = load_settings(DEPLOY / "docker" / "newsradar.toml", env={})
    ports = {
        "newsradar-producers": settings.producers.metrics_port,
        "newsradar-processors": settings.processors.metrics_port,
        "newsradar-sinks": settings.sinks.metrics_port,
        "newsradar-dashboard": settings.dashboard.port,
    }
    assert [j["job_name"] for j in composed["scrape_configs"]] == [
        j["job_name"] for j in shipped["scrape_configs"]
    ]
    for job in composed["scrape_configs"]:
        (target,) = job["static_configs"][0]["targets"]
        assert target.endswith(f":{ports[job['job_name']]}")
    assert composed["rule_files"] == shipped["rule_files"]
    # The dashboard serves /metrics behind its token and its Host names: Prometheus sends
    # both, from the secret compose gives it.
    (dashboard,) = [j for j in composed["scrape_configs"] if j["job_name"] == "newsradar-dashboard"]
    secret = dashboard["authorization"]["credentials_file"]
    services = compose()["services"]
    assert secret == "/run/secrets/newsradar-token"
    assert "newsradar-token" in services["prometheus"]["secrets"]  # type: ignore[index]
    assert compose()["secrets"] == {"newsradar-token": {"environment": "NEWSRADAR_TOKEN"}}
    assert "dashboard" in settings.dashboard.allowed_hosts
