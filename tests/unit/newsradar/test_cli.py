"""The CLI as a user meets it: a real process, its exit code and what it prints."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.conftest import clean_env, run_cli


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, env=clean_env(**(env or {})))


def test_config_check_accepts_the_example() -> None:
    proc = run("config", "check", "deploy/newsradar.example.toml")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("deploy/newsradar.example.toml: OK")
    assert "local broker at 127.0.0.1:9092" in proc.stdout


def test_config_check_names_each_bad_key_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[broker]\nport = 0\n[topic]\nx = 1\n")
    proc = run("config", "check", str(bad))
    assert proc.returncode == 3
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"newsradar: error: broker.port = 0 ({bad}): Input should be greater than or equal to 1",
        f"newsradar: error: topic ({bad}): unknown key; "
        "see deploy/newsradar.example.toml for the keys allowed",
    ]


def test_missing_config_file_is_one_line(tmp_path: Path) -> None:
    proc = run("--config", str(tmp_path / "none.toml"), "broker", "status")
    assert proc.returncode == 3
    assert proc.stderr.count("\n") == 1
    assert "config file not found" in proc.stderr


def test_topics_create_fails_fast_without_a_broker(tmp_path: Path) -> None:
    proc = run("topics", "create", env={"NEWSRADAR_DATA_DIR": str(tmp_path)})
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        f"newsradar: error: the local broker of {tmp_path} is not running; start it with "
        "`newsradar broker start`, or set kafka.bootstrap to use an external cluster"
    )


def test_broker_commands_leave_an_external_cluster_alone(tmp_path: Path) -> None:
    env = {"NEWSRADAR_DATA_DIR": str(tmp_path), "NEWSRADAR_KAFKA_BOOTSTRAP": "kafka.example:9092"}
    proc = run("broker", "start", env=env)
    assert proc.returncode == 0
    assert "external Kafka cluster is configured (kafka.example:9092)" in proc.stdout
    assert not (tmp_path / "kafka").exists()


def test_broker_status_exits_non_zero_when_stopped(tmp_path: Path) -> None:
    proc = run("broker", "status", env={"NEWSRADAR_DATA_DIR": str(tmp_path)})
    assert proc.returncode == 1
    assert proc.stderr.strip() == "127.0.0.1:9092: not running"


def test_version_prints_the_installed_version() -> None:
    from importlib.metadata import version

    proc = run("--version")
    assert (proc.returncode, proc.stdout, proc.stderr) == (
        0,
        f"newsradar {version('newsradar')}\n",
        "",
    )


def test_a_bad_option_value_is_one_line_and_the_usage_exit_code() -> None:
    proc = run("--log-level", "loud", "config", "check")
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "newsradar: error: Invalid value for '--log-level': 'loud' is not one of 'debug', "
        "'info', 'warning', 'error'. (see `newsradar --help`)"
    ]
    unknown = run("feeds", "status", "--bogus")
    assert unknown.returncode == 2
    assert unknown.stderr.splitlines() == [
        "newsradar: error: No such option: --bogus (see `newsradar feeds status --help`)"
    ]
    assert run("--log-level", "warning", "config", "check").returncode == 0


def test_a_group_without_a_command_shows_its_help_and_the_usage_exit_code() -> None:
    proc = run("feeds")
    assert proc.returncode == 2
    assert "Usage: newsradar feeds" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr


def test_boolean_flags_read_as_flags_in_every_help() -> None:
    """A flag shows no value placeholder (`--json`, not `--json <bool>`), in every command."""
    import typer.main
    from typer.testing import CliRunner

    from newsradar.cli import app

    def paths(command: object, prefix: tuple[str, ...]) -> list[tuple[str, ...]]:
        found = [prefix]
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            found += paths(sub, (*prefix, name))
        return found

    helps = {
        path: CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "100"})
        for path in paths(typer.main.get_command(app), ())
    }
    assert len(helps) > 25
    for path, result in helps.items():
        assert result.exit_code == 0, path
        assert "--help" in result.output, path
        assert "<bool>" not in result.output, (path, result.output)
    assert "--json " in helps[("feeds", "status")].output
