"""deploy/: the systemd units pass ``systemd-analyze verify`` and run real commands; the
docker-compose file runs real commands, mounts files that exist, and agrees with the config
and the Prometheus setup it ships beside."""

from __future__ import annotations

import configparser
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from newsradar.settings import load_settings
from tests.conftest import REPO, run_cli

DEPLOY = REPO / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("newsradar*.*"))
NEWSRADAR = "/opt/newsradar/.venv/bin/newsradar"


def unit_commands(path: Path) -> list[list[str]]:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read(path)
    if not unit.has_section("Service"):
        return []
    return [
        shlex.split(unit["Service"][key])[1:]
        for key in ("ExecStartPre", "ExecStart", "ExecStop")
        if key in unit["Service"]
    ]


def test_systemd_units_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.fail("systemd-analyze not found: install Debian's systemd (scripts/test.sh does)")
    venv_cli = shutil.which("newsradar", path=str(REPO / ".venv" / "bin"))
    assert venv_cli is not None
    for unit in UNITS:  # the installed path swapped for this checkout's
        (tmp_path / unit.name).write_text(unit.read_text().replace(NEWSRADAR, venv_cli))
    names = [str(tmp_path / u.name) for u in UNITS]
    proc = subprocess.run(
        [analyze, "verify", *names], capture_output=True, text=True, check=False, cwd=tmp_path
    )
    assert (proc.returncode, proc.stderr) == (0, "")


def test_every_unit_checks_the_config_first_and_runs_a_real_command() -> None:
    services = [u for u in UNITS if u.suffix == ".service"]
    assert {u.stem for u in services} == {
        "newsradar-broker",
        "newsradar-producers",
        "newsradar-processors",
        "newsradar-sinks",
        "newsradar-dashboard",
    }
    for unit in services:
        commands = unit_commands(unit)
        assert commands[0] == ["config", "check"], unit.name
        for args in commands:
            assert run_cli(*args, "--help").returncode == 0, (unit.name, args)


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
