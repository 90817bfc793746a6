"""Shared test helpers: where the repo and the shared real-world data live."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

from processors.classify import Engine

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"


class Consumed(NamedTuple):
    """A consumed Kafka record, as a reader hands it over (for tests of what folds records)."""

    key: bytes | None
    value: bytes | None
    topic: str = "newsradar.rules"
    partition: int = 0
    offset: int = 0


def shared_data_path(*parts: str) -> Path:
    """A path under ../shared/data, or skip the test when the shared corpus is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} not present: the shared test corpus lives beside the repo in CI")
    return path


def reference_text() -> tuple[str, str]:
    """The reference article (``../shared/data/articles/elaph-iraq-russia.ar.txt``): its title
    line and its body; skips the test when the shared corpus is absent."""
    text = shared_data_path("articles", "elaph-iraq-russia.ar.txt").read_text(encoding="utf-8")
    title, _, body = text.partition("\n")
    return title, body


def native_engine(rules_path: Path | None = None) -> Engine:
    """The engine with its native core; skips the test where the core is not built and cannot
    be (no ``cargo``), and fails it where it could have been built but was not."""
    from processors import core

    if not core.available() and shutil.which("cargo") is None:
        pytest.skip("the native core is not built and cargo is not installed to build it")
    return Engine.default(rules_path, native=True)


@pytest.fixture(scope="session")
def native() -> Engine:
    """The default engine with its native core (see :func:`native_engine`)."""
    return native_engine()


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without NEWSRADAR_* settings, plus ``extra``."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("NEWSRADAR_")}
    return {**base, **extra}


def run_cli(
    *args: str,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """``newsradar ARGS`` as a user runs it: a real process, from the repo, clean settings."""
    return subprocess.run(
        [sys.executable, "-m", "newsradar", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env if env is not None else clean_env(),
        cwd=REPO,
        timeout=timeout,
        check=False,
    )


def free_ports(count: int) -> list[int]:
    socks = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/tests/integration/" in str(item.path):
            item.add_marker(pytest.mark.integration)
