"""What the pipeline benchmarks share: free local ports, a throwaway Kafka broker, and
``newsradar`` services run as subprocesses the way users run them.

Imported by ``bench/pipeline.py`` and ``bench/polling.py`` (Python puts ``bench/`` first on the
path of a script run from it), and by ``scripts/screenshots.py`` (``bench.services``).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from newsradar import broker
from newsradar.kafka_admin import ensure_topics
from newsradar.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent


def free_ports(n: int) -> list[int]:
    """``n`` local TCP ports free at the time of the call."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def vm_hwm_mb(pid: int) -> float:
    """Peak resident set (VmHWM) of process ``pid``, MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM"))
    return round(kb / 1024, 1)


@dataclass(frozen=True)
class Broker:
    root: Path
    """The run's temporary folder (the broker's data in ``broker/``)."""
    settings: Settings
    env: dict[str, str]
    """The ``NEWSRADAR_*`` variables that point a service at this broker and its topics."""


@contextmanager
def throwaway_broker(prefix: str, env: dict[str, str], *, keep: bool = False) -> Iterator[Broker]:
    """A broker of its own on free ports, its topics created (``env``: ``NEWSRADAR_*``
    variables, topic names and sizes say), in a new temporary folder. The broker is stopped and
    the folder removed on the way out, unless ``keep``."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    port, controller = free_ports(2)
    env = {**env, "NEWSRADAR_KAFKA_BOOTSTRAP": f"127.0.0.1:{port}"}
    settings = load_settings(
        None,
        env={
            "NEWSRADAR_DATA_DIR": str(root / "broker"),
            "NEWSRADAR_BROKER__PORT": str(port),
            "NEWSRADAR_BROKER__CONTROLLER_PORT": str(controller),
            **env,
        },
    )
    print(f"Starting Kafka in {root} ...", file=sys.stderr)
    broker.start(settings)
    try:
        ensure_topics(settings)
        yield Broker(root, settings, env)
    finally:
        broker.stop(settings)
        if keep:
            print(f"logs and data kept in {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)


class Services:
    """``newsradar`` commands run as subprocesses, each with its own data directory and log
    (``<root>/<name>``, ``<root>/<name>.log``), settings by environment (``env``, over this
    process's environment without its ``NEWSRADAR_*`` variables)."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root = root
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("NEWSRADAR_")},
            **env,
        }
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.started = time.time()

    def start(self, name: str, command: Sequence[str]) -> None:
        """Run ``newsradar <command>`` as ``name``."""
        with (self.root / f"{name}.log").open("wb") as log:
            self.procs[name] = subprocess.Popen(
                [sys.executable, "-m", "newsradar", *command],
                cwd=ROOT,
                env={**self.env, "NEWSRADAR_DATA_DIR": str(self.root / name)},
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def check(self) -> None:
        """Stop the benchmark if a service has exited."""
        dead = {n: p.returncode for n, p in self.procs.items() if p.poll() is not None}
        if dead:
            raise SystemExit(f"bench: services exited {dead}; logs in {self.root}")

    def peak_rss_mb(self) -> dict[str, float]:
        return {name: vm_hwm_mb(proc.pid) for name, proc in self.procs.items()}

    def stop(self, timeout: float = 120.0) -> None:
        """SIGTERM to every service still running, then wait (kill after ``timeout`` s)."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
