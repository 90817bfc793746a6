"""The CI step for packaging: a wheel built from this checkout, installed with the runtime lock
into a clean virtualenv away from the checkout, runs as a user would run it: `--version`,
the smoke path (`config check`, `rules check`, `feeds check`, `classify` on a demo article),
`broker start` / `stop` (which need the Kafka deploy files the wheel must carry) and
`up --demo` until an alert is stored, then Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO, clean_env, free_ports
from tests.integration.test_broker import _kafka_pids_for

UV = REPO / ".venv" / "bin" / "uv"


@dataclass(frozen=True)
class Installed:
    wheel: Path
    venv: Path
    home: Path  # a directory away from the checkout, the commands' working directory

    def run(
        self, *args: str, env: dict[str, str] | None = None, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.venv / "bin" / "newsradar"), *args],
            cwd=self.home,
            env=env or self.env(),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    def env(self, **extra: str) -> dict[str, str]:
        base = {k: v for k, v in clean_env().items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        return {**base, "NEWSRADAR_DATA_DIR": str(self.home / "var"), **extra}


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("wheel")
    dist, venv, home = root / "dist", root / "venv", root / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}

    def step(*args: str | Path) -> None:
        proc = subprocess.run(
            [str(a) for a in args], cwd=REPO, env=env, capture_output=True, text=True, check=False
        )
        assert proc.returncode == 0, (args, proc.stdout[-3000:], proc.stderr[-3000:])

    step(UV, "build", "--wheel", "--out-dir", dist, REPO)
    (wheel,) = dist.glob("newsradar-*.whl")
    step(UV, "venv", "--quiet", "--python", sys.executable, venv)
    python = venv / "bin" / "python"
    step(UV, "pip", "install", "--quiet", "--python", python, "-r", REPO / "requirements.lock")
    step(UV, "pip", "install", "--quiet", "--python", python, "--no-deps", wheel)
    return Installed(wheel, venv, home)


def test_the_wheel_carries_the_data_and_deploy_files(installed: Installed) -> None:
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    for name in (
        "newsradar/_deploy/kafka/pom.xml",
        "newsradar/_deploy/kafka/server.properties.template",
        "newsradar/_deploy/kafka/log4j2.xml",
        "newsradar/demo/articles.jsonl",
        "processors/data/rules.yaml",
        "processors/data/gazetteer.yaml",
        "producers/data/feeds.yaml",
        "sinks/dashboard/static/index.html",
    ):
        assert name in names, name
    assert not [n for n in names if n.startswith(("tests/", "processors/native/"))]


def test_the_installed_program_runs_from_the_wheel_not_the_checkout(installed: Installed) -> None:
    where = subprocess.run(
        [
            str(installed.venv / "bin" / "python"),
            "-c",
            "import newsradar; print(newsradar.__file__)",
        ],
        cwd=installed.home,
        env=installed.env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert where.startswith(str(installed.venv)), where
    version = installed.run("--version")
    assert version.returncode == 0
    assert version.stdout.startswith("newsradar ")
    pip_list = subprocess.run(
        [str(UV), "pip", "list", "--python", str(installed.venv / "bin" / "python")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "pytest" not in pip_list  # the runtime lock alone


def test_the_smoke_path(installed: Installed) -> None:
    assert installed.run("config", "check").returncode == 0
    rules = next((installed.venv / "lib").glob("python3*/site-packages/processors/data/rules.yaml"))
    checked = installed.run("rules", "check", str(rules))
    assert checked.returncode == 0, checked.stderr
    assert installed.run("feeds", "check").returncode == 0
    demo = (REPO / "newsradar" / "demo" / "articles.jsonl").read_text(encoding="utf-8")
    first = demo.splitlines()[0]
    classified = installed.run("classify", stdin=first + "\n")
    assert classified.returncode == 0, classified.stderr
    (line,) = classified.stdout.splitlines()
    assert "iraq-russia" in json.loads(line)["rules"]


def test_broker_start_and_stop_from_the_wheel(installed: Installed) -> None:
    port, controller = free_ports(2)
    data = installed.home / "broker"
    env = installed.env(
        NEWSRADAR_DATA_DIR=str(data),
        NEWSRADAR_BROKER__PORT=str(port),
        NEWSRADAR_BROKER__CONTROLLER_PORT=str(controller),
    )
    started = installed.run("broker", "start", env=env)
    try:
        assert started.returncode == 0, started.stderr
        assert f"Kafka is ready at 127.0.0.1:{port}" in started.stdout
        assert installed.run("broker", "status", env=env).returncode == 0
    finally:
        stopped = installed.run("broker", "stop", env=env)
    assert stopped.returncode == 0, stopped.stderr
    assert _kafka_pids_for(data) == []


def test_up_demo_from_the_wheel_stores_an_alert_and_stops_on_ctrl_c(installed: Installed) -> None:
    broker_port, controller, m1, m2, m3, dashboard = free_ports(6)
    data = installed.home / "up"
    env = installed.env(
        NEWSRADAR_DATA_DIR=str(data),
        NEWSRADAR_BROKER__PORT=str(broker_port),
        NEWSRADAR_BROKER__CONTROLLER_PORT=str(controller),
        NEWSRADAR_PRODUCERS__METRICS_PORT=str(m1),
        NEWSRADAR_PROCESSORS__METRICS_PORT=str(m2),
        NEWSRADAR_SINKS__METRICS_PORT=str(m3),
        NEWSRADAR_DASHBOARD__PORT=str(dashboard),
        NEWSRADAR_TOPICS__ARTICLES__PARTITIONS="2",
        NEWSRADAR_TOPICS__ALERTS__PARTITIONS="2",
    )
    log_path = installed.home / "up.log"
    with log_path.open("wb") as log:
        up = subprocess.Popen(
            [str(installed.venv / "bin" / "newsradar"), "up", "--demo"],
            cwd=installed.home,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        stored: list[dict[str, object]] = []
        deadline = time.monotonic() + 240
        while not stored and time.monotonic() < deadline and up.poll() is None:
            time.sleep(2)
            listed = installed.run("alerts", "list", "--json", env=env)
            stored = [json.loads(line) for line in listed.stdout.splitlines()]
        assert stored, log_path.read_text(errors="replace")[-4000:]
    finally:
        up.send_signal(signal.SIGINT)
        try:
            code = up.wait(90)
        except subprocess.TimeoutExpired:
            up.kill()
            code = up.wait()
    output = log_path.read_text(errors="replace")
    assert code == 0, output[-3000:]
    assert output.rstrip().endswith("Stopped.")
    assert _kafka_pids_for(data) == []
