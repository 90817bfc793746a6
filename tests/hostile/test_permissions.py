"""What newsradar keeps on disk is private: directories 0700, files 0600, whatever the process
umask (the sinks' stores and state, the producers' pending articles and feed health, the local
broker's data); and the systemd units run every service with ``UMask=0077``."""

from __future__ import annotations

import configparser
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsradar.schemas import Alert, alert_id
from newsradar.settings import load_settings
from sinks.service import configured_sinks
from tests.conftest import REPO, clean_env, free_ports
from tests.feedserver import FeedServer, Reply, feed_server


def modes(root: Path) -> dict[str, int]:
    """Permission bits of ``root`` and of everything under it, by relative path."""
    found = {".": stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        found[str(path.relative_to(root))] = stat.S_IMODE(path.stat().st_mode)
    return found


@pytest.mark.parametrize("umask", [0o022, 0o000])
def test_the_producers_state_is_private_whatever_the_umask(tmp_path: Path, umask: int) -> None:
    from producers.state import ProducerState

    old = os.umask(umask)
    try:
        state = ProducerState(tmp_path / "data" / "producers" / "state.sqlite")
        state.close()
    finally:
        os.umask(old)
    found = modes(tmp_path / "data")
    assert found == {
        ".": 0o700,
        "producers": 0o700,
        **{name: 0o600 for name in found if name.startswith("producers/")},
    }
    assert "producers/state.sqlite" in found


@pytest.fixture
def receiver() -> Iterator[FeedServer]:
    with feed_server() as server:
        server.routes["/hook"] = Reply(204)
        yield server


@pytest.mark.parametrize("umask", [0o022, 0o000])
def test_every_sink_keeps_private_files_whatever_the_umask(
    umask: int, receiver: FeedServer, tmp_path: Path
) -> None:
    data = tmp_path / "var"
    (smtp_port,) = free_ports(1)  # nothing listens: the email sink only opens its state
    settings = load_settings(
        None,
        env={
            "NEWSRADAR_DATA_DIR": str(data),
            "NEWSRADAR_SINKS__JSONL__ENABLED": "true",
            "NEWSRADAR_SINKS__WEBHOOKS__0__NAME": "ops",
            "NEWSRADAR_SINKS__WEBHOOKS__0__URL": receiver.url("/hook"),
            "NEWSRADAR_SINKS__WEBHOOKS__0__NOISE__QUIET_HOURS": "00:00-23:59",
            "NEWSRADAR_SINKS__EMAILS__0__NAME": "desk",
            "NEWSRADAR_SINKS__EMAILS__0__HOST": "127.0.0.1",
            "NEWSRADAR_SINKS__EMAILS__0__PORT": str(smtp_port),
            "NEWSRADAR_SINKS__EMAILS__0__SENDER": "newsradar@example.org",
            "NEWSRADAR_SINKS__EMAILS__0__RECIPIENTS": '["desk@example.org"]',
            "NEWSRADAR_SINKS__EMAILS__0__CADENCE": "daily",
        },
    )
    alert = Alert(
        id=alert_id("r", "a"),
        rule_id="r",
        article_id="a",
        article_published=datetime(2026, 11, 29, tzinfo=UTC),
    )
    old = os.umask(umask)
    try:
        sinks = configured_sinks(settings)
        try:
            for sink in sinks:
                sink.setup()
                sink.write([alert])  # push sinks hold it (quiet hours, daily digest)
        finally:
            for sink in sinks:
                sink.close()
    finally:
        os.umask(old)
    found = modes(data)
    assert {"alerts.sqlite", "alerts.jsonl"} <= set(found)
    assert {"sinks/webhook-ops.held.sqlite", "sinks/email-desk.held.sqlite"} <= set(found)
    wrong = {
        path: oct(mode)
        for path, mode in found.items()
        if mode != (0o700 if (data / path).is_dir() else 0o600)
    }
    assert wrong == {}


def test_the_sinks_command_under_umask_022_leaves_nothing_world_readable(tmp_path: Path) -> None:
    data = tmp_path / "var"
    env = clean_env(NEWSRADAR_DATA_DIR=str(data))
    proc = subprocess.run(
        [sys.executable, "-m", "newsradar", "sinks", "check"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=False,
        timeout=120,
        preexec_fn=lambda: os.umask(0o022),  # the child alone
    )
    assert proc.returncode == 0, proc.stderr
    found = modes(data)
    assert "alerts.sqlite" in found
    assert {p: oct(m) for p, m in found.items() if m & 0o077} == {}


def test_systemd_units_run_every_service_with_umask_0077() -> None:
    services = sorted((REPO / "deploy" / "systemd").glob("newsradar-*.service"))
    assert len(services) == 5
    for unit in services:
        parsed = configparser.ConfigParser(strict=False, interpolation=None)
        parsed.read(unit)
        assert parsed["Service"].get("UMask") == "0077", unit.name
