"""Packaging: what the installed program imports is declared and locked for runtime; the
runtime lock and the development lock agree; the development tools stay out of the runtime."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

from tests.conftest import REPO

PACKAGES = ("newsradar", "producers", "processors", "sinks")
OPTIONAL = {"newsradar_native"}  # the engine's native core: built beside, never required


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lock: Path) -> dict[str, str]:
    found = {}
    for line in lock.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^]]*\])?==(\S+)", line)
        if match:
            found[canonical(match.group(1))] = match.group(2)
    return found


def declared(requirements: list[str]) -> set[str]:
    return {canonical(re.split(r"[\[<>=!~ ;]", r, maxsplit=1)[0]) for r in requirements}


def imported_modules() -> set[str]:
    """Top-level modules the installed code imports (in functions too), stdlib aside."""
    found: set[str] = set()
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            if "native" in path.relative_to(REPO).parts[:2]:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    found.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - set(PACKAGES) - OPTIONAL - {"__future__"}


def test_every_imported_distribution_is_declared_and_in_the_runtime_lock() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    runtime = declared(project["dependencies"]) | declared(
        project["optional-dependencies"]["postgres"]
    )
    locked = pins(REPO / "requirements.lock")
    distributions = packages_distributions()
    modules = imported_modules()
    assert {"rich", "typer", "faust", "yaml"} <= modules  # the scan sees imports in functions
    for module in sorted(modules):
        (distribution, *_) = distributions[module]
        name = canonical(distribution)
        assert name in runtime, f"{module} ({distribution}) is imported but not declared"
        assert name in locked, f"{distribution} is not in requirements.lock; run scripts/lock.sh"


def test_the_runtime_lock_holds_no_development_tools_and_the_locks_agree() -> None:
    runtime = pins(REPO / "requirements.lock")
    development = pins(REPO / "requirements-dev.lock")
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    tools = declared(project["optional-dependencies"]["dev"]) - declared(
        project["optional-dependencies"]["postgres"]
    )
    assert {"pytest", "mypy", "ruff", "selenium"} <= tools
    assert not tools & set(runtime), "development tools in the runtime lock"
    assert tools <= set(development)
    assert set(runtime) <= set(development)
    assert {name: development[name] for name in runtime} == runtime


def test_the_image_and_the_server_install_use_the_runtime_lock() -> None:
    dockerfile = (REPO / "deploy" / "docker" / "Dockerfile").read_text()
    assert "requirements-dev.lock" not in dockerfile
    assert "COPY requirements.lock /tmp/requirements.lock" in dockerfile
    assert re.search(r"pip install .*-r /tmp/requirements\.lock", dockerfile)
    bootstrap = (REPO / "scripts" / "bootstrap.sh").read_text()
    assert "--runtime) lock=requirements.lock" in bootstrap
    operations = (REPO / "docs" / "operations.md").read_text()
    assert "scripts/bootstrap.sh --runtime" in operations
