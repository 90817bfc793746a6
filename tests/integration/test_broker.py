"""The local broker's lifecycle against a real Kafka 4 process."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from kafka.admin import ConfigResource, ConfigResourceType

from newsradar import broker
from newsradar.errors import BrokerAlreadyRunning, BrokerError, BrokerStartTimeout
from newsradar.kafka_admin import admin_client, ensure_topics
from newsradar.settings import load_settings
from tests.conftest import run_cli
from tests.integration.conftest import KafkaEnv, broker_env


def test_running_broker_answers_and_topics_are_idempotent(kafka: KafkaEnv) -> None:
    status = broker.status(kafka.settings)
    assert status.running
    assert "1 broker(s)" in status.detail
    again = ensure_topics(kafka.settings)
    assert [(t.name, t.created) for t in again] == [
        ("newsradar.articles", False),
        ("newsradar.alerts", False),
        ("newsradar.deadletter", False),
        ("newsradar.rules", False),
        ("newsradar.feeds", False),
        ("newsradar.feed-state", False),
    ]
    assert [t.partitions for t in again] == [4, 4, 1, 1, 8, 8]
    compacted = ["newsradar.rules", "newsradar.feeds", "newsradar.feed-state"]
    with admin_client(kafka.settings) as admin:
        described = admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, name) for name in compacted]
        )
    # Rules, feeds and feed state keep the latest record of each key for good: compacted.
    assert {
        n: described["topic"][n]["cleanup.policy"]["value"] for n in compacted
    } == dict.fromkeys(compacted, "compact")


def test_cli_status_and_second_start(kafka: KafkaEnv) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return run_cli(*args, env=kafka.process_env())

    status = cli("broker", "status")
    assert status.returncode == 0
    assert status.stdout.startswith(f"{kafka.bootstrap} (pid ")
    second = cli("broker", "start")
    assert second.returncode == 1
    assert "a broker is already running from" in second.stderr
    assert "Traceback" not in second.stderr
    with pytest.raises(BrokerAlreadyRunning):
        broker.start(kafka.settings)


def _kafka_pids_for(data_dir: Path) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes()
            except OSError:
                continue
            if b"kafka.Kafka" in cmdline and str(data_dir).encode() in cmdline:
                pids.append(int(proc.name))
    return pids


def test_timeout_leaves_nothing_behind_then_stale_pid_start_and_stop(tmp_path: Path) -> None:
    env = broker_env(tmp_path, NEWSRADAR_BROKER__START_TIMEOUT_SECONDS="0.5")
    with pytest.raises(BrokerStartTimeout, match="did not answer at .* within 0.5s; see"):
        broker.start(load_settings(None, env=env))
    assert _kafka_pids_for(tmp_path) == []
    assert not (tmp_path / "kafka" / "broker.pid").exists()

    # A pid file left by a crash must not block the next start.
    settings = load_settings(None, env={**env, "NEWSRADAR_BROKER__START_TIMEOUT_SECONDS": "120"})
    (tmp_path / "kafka" / "broker.pid").write_text("999999")
    started = broker.start(settings)
    assert started.running
    assert _kafka_pids_for(tmp_path) == [started.pid]
    stopped = broker.stop(settings)
    assert stopped.detail == "stopped"
    assert _kafka_pids_for(tmp_path) == []
    assert not broker.status(settings).running


def test_unresolvable_kafka_version_is_a_clear_maven_error(tmp_path: Path) -> None:
    env = {"NEWSRADAR_CACHE_DIR": str(tmp_path / "cache")}
    with pytest.raises(BrokerError, match=r"Maven could not resolve Kafka 4.99.0: .*4\.99\.0"):
        broker.ensure_jars("4.99.0", env={**__import__("os").environ, **env})
    assert not broker.jars_dir("4.99.0", env=env).exists()


def test_broker_run_stays_in_the_foreground_logs_to_stderr_and_stops_on_sigterm(
    tmp_path: Path,
) -> None:
    """What systemd's newsradar-broker.service (Type=exec) relies on: the process it started
    is Kafka itself (same pid), its log reaches stderr (journald), SIGTERM stops it cleanly."""
    import signal
    import sys
    import time

    from tests.conftest import REPO, clean_env

    env = broker_env(tmp_path)
    settings = load_settings(None, env=env)
    err = tmp_path / "stderr.log"
    with err.open("wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "newsradar", "broker", "run"],
            cwd=REPO,
            env=clean_env(**env),
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        deadline = time.monotonic() + 180
        while not broker.status(settings, timeout_seconds=2).running:
            assert proc.poll() is None, err.read_text()[-3000:]
            assert time.monotonic() < deadline, err.read_text()[-3000:]
            time.sleep(1)
        assert _kafka_pids_for(tmp_path) == [proc.pid]
        assert broker.status(settings).pid == proc.pid
        assert "Kafka Server started" in err.read_text()
        assert "Kafka Server started" in (tmp_path / "kafka" / "logs" / "server.log").read_text()
        second = run_cli("broker", "run", env=clean_env(**env))
        assert second.returncode == 1
        assert "a broker is already running from" in second.stderr
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(120) in (0, 143)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert _kafka_pids_for(tmp_path) == []
    assert "shut down completely" in err.read_text()
