"""deploy/docker: the docker-compose file runs real commands, mounts files that exist, and
agrees with the config and the Prometheus setup it ships beside (the systemd units:
test_systemd.py)."""

from __future__ import annotations

import yaml

from newsradar.settings import load_settings
from tests.conftest import REPO, run_cli

DEPLOY = REPO / "deploy"


def compose() -> dict[str, object]:
    loaded: dict[str, object] = yaml.safe_load(
        (DEPLOY / "docker" / "docker-compose.yml").read_text()
    )
    return loaded


def test_compose_services_run_real_commands_on_mounted_files_that_exist() -> None:
    services: dict[str, dict[str, object]] = compose()["services"]  # type: ignore[assignment]
    ours = {name: s for name, s in services.items() if s.get("image") == "newsradar:latest"}
    assert sorted(ours) == ["dashboard", "processors", "producers", "sinks"]
    for name, service in ours.items():
        command = service["command"]
        assert isinstance(command, list)
        assert run_cli(*command, "--help").returncode == 0, name
    for service in services.values():
        for volume in service.get("volumes", []):  # type: ignore[attr-defined]
            source = str(volume).split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / "docker" / source).exists(), source
    config = load_settings(DEPLOY / "docker" / "newsradar.toml", env={})
    published = services["dashboard"]["ports"]
    assert published == [f"127.0.0.1:{config.dashboard.port}:{config.dashboard.port}"]
    assert config.dashboard.host == "0.0.0.0"


def test_compose_prometheus_scrapes_what_the_shipped_config_scrapes() -> None:
    shipped = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    composed = yaml.safe_load((DEPLOY / "docker" / "prometheus.yml").read_text())
    settings = load_settings(DEPLOY / "docker" / "newsradar.toml", env={})
    ports = {
        "newsradar-producers": settings.producers.metrics_port,
        "newsradar-processors": settings.processors.metrics_port,
        "newsradar-sinks": settings.sinks.metrics_port,
    }
    assert [j["job_name"] for j in composed["scrape_configs"]] == [
        j["job_name"] for j in shipped["scrape_configs"]
    ]
    for job in composed["scrape_configs"]:
        (target,) = job["static_configs"][0]["targets"]
        assert target.endswith(f":{ports[job['job_name']]}")
    assert composed["rule_files"] == shipped["rule_files"]
