"""Run the pipeline's stages as child processes: restart crashed ones with backoff, stop all.

Each stage is a ``newsradar`` subcommand (``processors run`` ...). Its output is prefixed with
the stage name and copied to ours, so ``newsradar up`` shows one combined, readable log.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO


@dataclass(frozen=True)
class Stage:
    name: str
    args: tuple[str, ...]


STAGES: tuple[Stage, ...] = (
    Stage("processors", ("processors", "run")),
    Stage("producers", ("producers", "run")),
    Stage("sinks", ("sinks", "run")),
    Stage("dashboard", ("dashboard", "run")),
)
"""The stages ``newsradar up`` runs, in start order; they register here as they land."""


@dataclass
class _Running:
    stage: Stage
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    next_start: float = 0.0
    started_at: float = 0.0
    pump: threading.Thread | None = field(default=None, repr=False)


class Supervisor:
    """Keeps each stage running; a stage that crashes is restarted after 1, 2, 4 ... 30 s."""

    def __init__(
        self,
        stages: tuple[Stage, ...],
        *,
        config_file: Path | None = None,
        log_level: str = "INFO",
        out: IO[str] | None = None,
        max_backoff_seconds: float = 30.0,
        env: dict[str, str] | None = None,
    ) -> None:
        self._running = [_Running(s) for s in stages]
        self._config_file = config_file
        self._log_level = log_level
        self._out = out or sys.stderr
        self._max_backoff = max_backoff_seconds
        self._lock = threading.Lock()
        self._env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}

    def start(self) -> None:
        for running in self._running:
            self._spawn(running)

    def _command(self, stage: Stage) -> list[str]:
        cmd = [sys.executable, "-m", "newsradar", "--log-level", self._log_level]
        if self._config_file is not None:
            cmd += ["--config", str(self._config_file)]
        return [*cmd, *stage.args]

    def _spawn(self, running: _Running) -> None:
        proc = subprocess.Popen(
            self._command(running.stage),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=self._env,
            start_new_session=True,  # Ctrl-C reaches us only; we stop children in order
        )
        running.proc = proc
        running.started_at = time.monotonic()
        running.pump = threading.Thread(
            target=self._pump, args=(running.stage.name, proc), daemon=True
        )
        running.pump.start()

    def _pump(self, name: str, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self._lock:
                print(f"{name:<10} | {line}", file=self._out, flush=True)

    def tick(self) -> None:
        """Restart stages that exited, with exponential backoff; call periodically."""
        now = time.monotonic()
        for running in self._running:
            proc = running.proc
            if proc is None:
                if now >= running.next_start:
                    self._spawn(running)
                continue
            code = proc.poll()
            if code is None:
                if now - running.started_at > 60:
                    running.restarts = 0  # healthy for a minute: forget old crashes
                continue
            delay = min(self._max_backoff, 2.0**running.restarts)
            running.restarts += 1
            running.proc = None
            running.next_start = now + delay
            with self._lock:
                print(
                    f"{running.stage.name:<10} | Stage exited. code={code} "
                    f"restart_in_seconds={delay:g}",
                    file=self._out,
                    flush=True,
                )

    def stop(self, timeout_seconds: float = 20.0) -> None:
        """SIGTERM every stage, wait, SIGKILL what is left; returns when all have exited."""
        procs = [r.proc for r in self._running if r.proc is not None]
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout_seconds
        for proc in procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for running in self._running:
            if running.pump is not None:
                running.pump.join(timeout=2)
            running.proc = None
