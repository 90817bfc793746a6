from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from newsradar import broker
from newsradar.errors import BrokerError, KafkaUnavailableError, PortInUseError, ToolMissingError
from newsradar.settings import load_settings


def settings_for(tmp_path: Path, **env: str) -> broker.Settings:
    return load_settings(None, env={"NEWSRADAR_DATA_DIR": str(tmp_path), **env})


def test_java_missing_is_named_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ToolMissingError, match=r"java not found .* install Java 17\+"):
        broker.find_java({"PATH": str(tmp_path)})


def test_old_java_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "java"
    fake.write_text("#!/bin/sh\necho 'openjdk version \"11.0.2\" 2019' >&2\n")
    fake.chmod(0o755)
    with pytest.raises(ToolMissingError, match="is Java 11; Kafka 4 needs Java 17"):
        broker.find_java({"PATH": str(tmp_path)})


def test_maven_missing_is_named_when_jars_are_not_cached(tmp_path: Path) -> None:
    env = {"PATH": str(tmp_path), "NEWSRADAR_CACHE_DIR": str(tmp_path / "cache")}
    with pytest.raises(ToolMissingError, match=r"mvn not found .* install it \(apt-get install"):
        broker.ensure_jars(env=env)


def test_cached_jars_are_used_without_maven(tmp_path: Path) -> None:
    env = {"PATH": str(tmp_path), "NEWSRADAR_CACHE_DIR": str(tmp_path / "cache")}
    libs = broker.jars_dir(env=env)
    libs.mkdir(parents=True)
    (libs / ".complete").write_text("x")
    assert broker.ensure_jars(env=env) == libs


def test_maven_error_lines_are_condensed() -> None:
    out = (
        "[INFO] Scanning\n[ERROR] Failed to execute goal on project x: Could not resolve "
        "dependencies: org.apache.kafka:kafka_2.13:jar:4.99.0 was not found\n"
        "[ERROR] -> [Help 1]\n[ERROR] Re-run Maven using the -X switch\n"
    )
    assert broker._maven_error(out).endswith("kafka_2.13:jar:4.99.0 was not found")


def test_port_in_use_is_reported_with_the_setting_to_change(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        s = settings_for(tmp_path, NEWSRADAR_BROKER__PORT=str(port))
        with pytest.raises(PortInUseError, match=f"broker.port {port} on 127.0.0.1 is not free"):
            broker.check_ports_free(s)


def test_properties_are_rendered_completely(tmp_path: Path) -> None:
    s = settings_for(
        tmp_path, NEWSRADAR_BROKER__PORT="19092", NEWSRADAR_BROKER__CONTROLLER_PORT="19093"
    )
    text = broker.render_properties(s, broker.BrokerPaths.for_settings(s))
    assert "listeners=PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093" in text
    assert f"log.dirs={tmp_path.resolve()}/kafka/data" in text
    settings_lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    assert not [ln for ln in settings_lines if "$" in ln]


def test_cluster_id_is_22_url_safe_characters() -> None:
    cid = broker.new_cluster_id()
    assert len(cid) == 22
    assert set(cid) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_stale_pid_file_is_not_a_running_broker(tmp_path: Path) -> None:
    s = settings_for(tmp_path)
    paths = broker.BrokerPaths.for_settings(s)
    paths.root.mkdir(parents=True)
    # A pid that is alive but is not a Kafka broker (this test process) counts as stale too.
    for pid in (_dead_pid(), os.getpid()):
        paths.pid_file.write_text(str(pid))
        status = broker.status(s)
        assert not status.running
        assert status.detail == f"not running (stale pid file {pid})"
        with pytest.raises(KafkaUnavailableError, match="is not running; start it with"):
            broker.require_running(s)


def test_stop_without_a_broker_is_a_no_op(tmp_path: Path) -> None:
    result = broker.stop(settings_for(tmp_path))
    assert (result.running, result.pid) == (False, None)


def test_missing_deploy_files_are_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(broker, "_PACKAGE_DEPLOY", tmp_path / "a")
    monkeypatch.setattr(broker, "_REPO_DEPLOY", tmp_path / "b")
    with pytest.raises(BrokerError, match="deploy/kafka/pom.xml not found"):
        broker.deploy_dir()


def _dead_pid() -> int:
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(proc.stdout)


def test_cluster_id_never_starts_with_a_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    # 0xf8 encodes to "-" first: the storage tool would take such an id for an option.
    draws = iter([b"\xf8" + bytes(15), b"\x00" + bytes(15)])
    monkeypatch.setattr(broker.os, "urandom", lambda _n: next(draws))
    assert broker.new_cluster_id() == "A" * 22
