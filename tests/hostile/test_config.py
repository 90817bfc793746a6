"""Hostile config, rule and feed files: deep nesting, infinite numbers, files that are not
there, YAML anchors nested into a "billion laughs". Each is a one-line error, fast and in
little memory, never a traceback or a config check that says OK."""

from __future__ import annotations

import resource
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from newsradar.errors import ConfigError
from newsradar.settings import load_settings
from processors.errors import DataFileError
from processors.terms import load_yaml
from tests.conftest import REPO, clean_env

MEMORY_LIMIT_BYTES = 2 * 1024**3


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))


def newsradar(*args: str, **env: str) -> tuple[subprocess.CompletedProcess[str], float]:
    """``newsradar ARGS`` in at most 2 GB of address space; its result and how long it took."""
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "newsradar", *args],
        capture_output=True,
        text=True,
        env=clean_env(**env),
        cwd=REPO,
        timeout=120,
        check=False,
        preexec_fn=_limit_memory,
    )
    return proc, time.monotonic() - started


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("newsradar: error: ")
    return lines[0]


def billion_laughs(top: str) -> str:
    """Under 1 KB of YAML whose aliases stand for 9^9 (387 million) strings."""
    levels = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 10):
        levels.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]")
    return "\n".join(levels) + "\n" + top + "\n"


RULES_BOMB = billion_laughs("rules:\n  - id: lol\n    keywords: {any: *l9}")
FEEDS_BOMB = billion_laughs("feeds:\n  - url: https://e.org/feed.xml\n    tags: *l9")


@pytest.mark.parametrize(
    ("command", "text"),
    [(("rules", "check"), RULES_BOMB), (("feeds", "check"), FEEDS_BOMB)],
    ids=["rules", "feeds"],
)
def test_a_billion_laughs_rule_or_feed_file_is_refused_fast(
    tmp_path: Path, command: tuple[str, ...], text: str
) -> None:
    assert len(text) < 1024
    path = tmp_path / "bomb.yaml"
    path.write_text(text)
    proc, took = newsradar(*command, str(path))
    line = one_error_line(proc)
    assert took < 30
    assert str(path) in line
    assert "aliases" in line


def test_config_check_reads_the_rule_and_feed_files_it_names(tmp_path: Path) -> None:
    rules, feeds = tmp_path / "rules.yaml", tmp_path / "feeds.yaml"
    rules.write_text(RULES_BOMB)
    feeds.write_text(FEEDS_BOMB)
    config = tmp_path / "newsradar.toml"
    config.write_text(f'[processors]\nrules_file = "{rules}"\n')
    proc, took = newsradar("config", "check", str(config))
    assert took < 30
    assert "aliases" in one_error_line(proc)
    config.write_text(f'[producers]\nfeeds_file = "{feeds}"\n')
    proc, took = newsradar("config", "check", str(config))
    assert took < 30
    assert "aliases" in one_error_line(proc)


def test_the_packaged_data_loader_refuses_a_billion_laughs(tmp_path: Path) -> None:
    path = tmp_path / "gazetteer.yaml"
    path.write_text(billion_laughs("countries: *l9"))
    started = time.monotonic()
    with pytest.raises(DataFileError, match="aliases"):
        load_yaml(path, "gazetteer")
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    "text",
    [
        "rules: " + "[" * 5000 + "]" * 5000,
        "rules:\n" + "".join("  " * i + f"k{i}:\n" for i in range(2000)),
    ],
    ids=["flow", "block"],
)
def test_deeply_nested_yaml_is_a_one_line_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    proc, took = newsradar("rules", "check", str(path))
    line = one_error_line(proc)
    assert str(path) in line
    assert took < 30


@pytest.mark.parametrize(
    "text",
    [
        "[sinks]\nretry_max_seconds = " + "[" * 3000 + "]" * 3000,
        "[sinks]\nretry_max_seconds = " + "{a = " * 3000 + "1" + "}" * 3000,
        "[" + ".".join(["sinks"] * 50_000) + "]\n",
        ".".join(["a"] * 50_000) + " = 1\n",
    ],
    ids=["arrays", "inline-tables", "table-header", "dotted-key"],
)
def test_a_deeply_nested_toml_config_is_a_config_error(tmp_path: Path, text: str) -> None:
    config = tmp_path / "newsradar.toml"
    config.write_text(text)
    proc, took = newsradar("config", "check", str(config))
    assert proc.returncode == 3
    line = one_error_line(proc)
    assert line.startswith(f"newsradar: error: {config}: not valid TOML: ")
    assert took < 30
    with pytest.raises(ConfigError):
        load_settings(config, env={})


def test_retry_max_seconds_must_be_a_finite_positive_number(tmp_path: Path) -> None:
    config = tmp_path / "newsradar.toml"
    for value in ("inf", "1e400", "-inf", "nan", "-1", "0"):
        config.write_text(f"[sinks]\nretry_max_seconds = {value}\n")
        proc, _ = newsradar("config", "check", str(config))
        assert proc.returncode == 3, value
        shown = tomllib.loads(f"x = {value}")["x"]
        assert one_error_line(proc).startswith(
            f"newsradar: error: sinks.retry_max_seconds = {shown!r} ({config}): "
        )
        proc, _ = newsradar("config", "check", NEWSRADAR_SINKS__RETRY_MAX_SECONDS=value)
        assert proc.returncode == 3, value
        assert one_error_line(proc).startswith(
            f"newsradar: error: sinks.retry_max_seconds = '{value}' "
            "(env NEWSRADAR_SINKS__RETRY_MAX_SECONDS): "
        )


@pytest.mark.parametrize(
    ("section", "key"), [("processors", "rules_file"), ("producers", "feeds_file")]
)
def test_config_check_names_a_rule_or_feed_file_that_is_not_there(
    tmp_path: Path, section: str, key: str
) -> None:
    missing = tmp_path / "nowhere" / "list.yaml"
    config = tmp_path / "newsradar.toml"
    config.write_text(f'[{section}]\n{key} = "{missing}"\n')
    proc, _ = newsradar("config", "check", str(config))
    assert proc.returncode == 3
    line = one_error_line(proc)
    assert line.startswith(f"newsradar: error: {section}.{key} = '{missing}': ")
    assert "no such file" in line
    proc, _ = newsradar(
        "config", "check", **{f"NEWSRADAR_{section.upper()}__{key.upper()}": str(tmp_path)}
    )
    assert proc.returncode == 3
    assert one_error_line(proc).startswith(f"newsradar: error: {section}.{key} = '{tmp_path}': ")
