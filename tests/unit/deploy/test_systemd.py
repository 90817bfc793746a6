"""deploy/systemd: the units as systemd itself reads them (``systemd-analyze verify`` and
``security``, ``systemctl --root`` enabling them into a scratch root), and what they promise
checked against what newsradar does (exit codes, state directory, credentials)."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from newsradar.errors import EXIT_CONFIG
from newsradar.settings import load_settings
from tests.conftest import REPO, clean_env, run_cli

SYSTEMD = REPO / "deploy" / "systemd"
UNITS = sorted(SYSTEMD.glob("newsradar*.*"))
SERVICES = [u for u in UNITS if u.suffix == ".service"]
NEWSRADAR = "/opt/newsradar/.venv/bin/newsradar"
MAX_EXPOSURE = 4.0


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} not found: install Debian's systemd (scripts/test.sh does)")
    return found


def parse(path: Path) -> dict[str, dict[str, list[str]]]:
    """A unit file as systemd reads it: sections of keys, each key's assignments in order."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key, []).append(value)
    return sections


def words(unit: dict[str, dict[str, list[str]]], section: str, key: str) -> list[str]:
    return [w for value in unit.get(section, {}).get(key, []) for w in value.split()]


def here(tmp_path: Path) -> list[str]:
    """The units with this checkout's venv in place of /opt/newsradar's, in ``tmp_path``."""
    venv_cli = shutil.which("newsradar", path=str(REPO / ".venv" / "bin"))
    assert venv_cli is not None
    for unit in UNITS:
        (tmp_path / unit.name).write_text(unit.read_text().replace(NEWSRADAR, venv_cli))
    return [str(tmp_path / u.name) for u in UNITS]


def test_systemd_units_verify(tmp_path: Path) -> None:
    proc = subprocess.run(
        [tool("systemd-analyze"), "verify", *here(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert (proc.returncode, proc.stderr) == (0, "")


def test_systemd_analyze_security_rates_every_unit_at_most_4(tmp_path: Path) -> None:
    here(tmp_path)
    scores = {}
    for unit in SERVICES:
        proc = subprocess.run(
            [tool("systemd-analyze"), "security", "--offline=yes", f"./{unit.name}"],
            capture_output=True,
            text=True,
            check=False,
            cwd=tmp_path,
        )
        match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", proc.stdout)
        assert match, proc.stdout + proc.stderr
        scores[unit.stem] = float(match.group(1))
    assert len(scores) == 5
    assert all(score <= MAX_EXPOSURE for score in scores.values()), scores


def test_the_target_starts_the_services_and_leaves_the_broker_to_its_own_enablement(
    tmp_path: Path,
) -> None:
    """``systemctl enable newsradar.target`` does not enable the broker; enabling the broker
    makes the target want it, disabling it takes it out, and no unit requires it."""
    root = tmp_path / "root"
    units = root / "etc" / "systemd" / "system"
    units.mkdir(parents=True)
    for unit in UNITS:
        shutil.copy(unit, units / unit.name)
    systemctl = tool("systemctl")

    def ctl(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [systemctl, f"--root={root}", *args], capture_output=True, text=True, check=False
        )

    def wanted_by_target() -> set[str]:
        wants = units / "newsradar.target.wants"
        return {p.name for p in wants.iterdir()} if wants.is_dir() else set()

    assert ctl("enable", "newsradar.target").returncode == 0
    assert (units / "multi-user.target.wants" / "newsradar.target").is_symlink()
    assert ctl("is-enabled", "newsradar-broker.service").stdout.strip() == "disabled"
    assert wanted_by_target() == set()
    assert ctl("enable", "newsradar-broker.service").returncode == 0
    assert wanted_by_target() == {"newsradar-broker.service"}
    assert ctl("disable", "newsradar-broker.service").returncode == 0
    assert wanted_by_target() == set()

    target = parse(SYSTEMD / "newsradar.target")
    assert sorted(words(target, "Unit", "Wants")) == sorted(
        u.name for u in SERVICES if u.stem != "newsradar-broker"
    )
    pulling = ("Wants", "Requires", "Requisite", "BindsTo", "Upholds")
    for unit in UNITS:
        parsed = parse(unit)
        for key in pulling:
            if unit.name != "newsradar.target":
                assert not [w for w in words(parsed, "Unit", key) if "newsradar-" in w], unit
        assert "newsradar-broker.service" not in words(parsed, "Unit", "Requires")


def test_a_config_error_stops_a_unit_instead_of_restarting_it(tmp_path: Path) -> None:
    """Each unit's own command exits EXIT_CONFIG on a bad config (no ExecStartPre, whose
    status RestartPreventExitStatus= would not see), and the unit does not restart on it;
    other failures restart a bounded number of times."""
    bad = tmp_path / "newsradar.toml"
    bad.write_text("[broker]\nport = 0\n")
    for unit in SERVICES:
        parsed = parse(unit)
        service = parsed["Service"]
        assert "ExecStartPre" not in service, unit.name
        assert str(EXIT_CONFIG) in words(parsed, "Service", "RestartPreventExitStatus"), unit
        assert service["Restart"] == ["on-failure"], unit.name
        assert int(parsed["Unit"]["StartLimitBurst"][0]) <= 10, unit.name
        assert int(parsed["Unit"]["StartLimitIntervalSec"][0]) >= 60, unit.name
        (command,) = service["ExecStart"]
        args = shlex.split(command)
        assert args[0] == NEWSRADAR
        proc = run_cli(*args[1:], env=clean_env(NEWSRADAR_CONFIG=str(bad)), timeout=60)
        assert proc.returncode == EXIT_CONFIG, (unit.name, proc.stderr)
        assert proc.stderr.strip().splitlines() == [
            f"newsradar: error: broker.port = 0 ({bad}): Input should be greater than or equal to 1"
        ]


def test_the_broker_runs_in_the_foreground() -> None:
    broker = parse(SYSTEMD / "newsradar-broker.service")["Service"]
    assert broker["Type"][0] in ("simple", "exec")
    assert broker["ExecStart"] == [f"{NEWSRADAR} broker run"]
    assert "PIDFile" not in broker
    assert "ExecStop" not in broker  # systemd's SIGTERM reaches Kafka itself
    assert run_cli("broker", "run", "--help").returncode == 0


def test_state_lives_in_the_state_directory_and_stays_private() -> None:
    for unit in SERVICES:
        service = parse(unit)["Service"]
        (state,) = service["StateDirectory"]
        env = dict(v.split("=", 1) for v in service["Environment"])
        assert Path(env["NEWSRADAR_DATA_DIR"]) == Path("/var/lib") / state, unit.name
        assert service["WorkingDirectory"] == [env["NEWSRADAR_DATA_DIR"]], unit.name
        assert service["UMask"] == ["0077"], unit.name
        assert service["StateDirectoryMode"] == ["0700"], unit.name
        assert "ReadWritePaths" not in service, unit.name  # the state directory is enough


def test_each_service_reads_its_secrets_from_its_own_credentials(tmp_path: Path) -> None:
    """``LoadCredential=ID:DIR`` names each file's credential ``ID_FILENAME`` (systemd.exec);
    newsradar's settings read a credential named like the variable, so a file
    ``SINKS__POSTGRES__DSN`` in the sinks' directory sets sinks.postgres.dsn."""
    for unit in SERVICES:
        if unit.stem == "newsradar-broker":
            continue
        service = parse(unit)["Service"]
        (credential,) = service["LoadCredential"]
        ident, _, directory = credential.partition(":")
        assert directory == f"/etc/newsradar/credentials/{unit.stem.removeprefix('newsradar-')}"
        credentials = tmp_path / unit.stem  # as systemd lays them out for the unit
        credentials.mkdir()
        dsn = "postgresql://newsradar:s3cret@db.example/newsradar"
        (credentials / f"{ident}_SINKS__POSTGRES__DSN").write_text(dsn + "\n")
        settings = load_settings(None, env={"CREDENTIALS_DIRECTORY": str(credentials)})
        assert settings.sinks.postgres.dsn is not None
        assert settings.sinks.postgres.dsn.get_secret_value() == dsn


def test_a_broken_rule_file_or_feed_list_is_a_config_error_before_kafka_is_asked(
    tmp_path: Path,
) -> None:
    """The data files a service reads are config too: exit EXIT_CONFIG, not 1 (which systemd
    would restart), even with no broker running (here, none is)."""
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - id: x\n    countries: {all: [XX]}\n")
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("feeds:\n  - url: ftp://e.org/f\n")
    for command, key, path in (
        ("processors", "NEWSRADAR_PROCESSORS__RULES_FILE", rules),
        ("producers", "NEWSRADAR_PRODUCERS__FEEDS_FILE", feeds),
    ):
        env = clean_env(NEWSRADAR_DATA_DIR=str(tmp_path), **{key: str(path)})
        proc = run_cli(command, "run", env=env, timeout=120)
        assert proc.returncode == EXIT_CONFIG, (command, proc.stderr)
        assert str(path) in proc.stderr
        assert "Traceback" not in proc.stderr
