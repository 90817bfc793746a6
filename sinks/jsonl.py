"""JSON Lines sink: one alert per line, appended, rotated by size.

Idempotent: ids already written are remembered (SQLite beside the file), so a redelivered alert
is not appended twice. The line is flushed and fsynced before the id is noted; a crash between
the two can repeat a line, never lose one. The file is created 0600 (folders 0700); rotated
files keep that mode.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from newsradar.files import private_file
from newsradar.schemas import Alert
from newsradar.settings import JsonlSinkSettings
from sinks.base import Health, Sink
from sinks.delivered import DeliveredIds
from sinks.errors import PermanentSinkError, TransientSinkError


class JsonlSink(Sink):
    name = "jsonl"

    def __init__(self, config: JsonlSinkSettings, default_path: Path) -> None:
        self.config = config
        self.path = config.path or default_path
        self.delivered = DeliveredIds(self.path.with_name(self.path.name + ".ids.sqlite"))

    def setup(self) -> None:
        self.delivered.open()

    def write(self, batch: Sequence[Alert]) -> None:
        fresh = self.delivered.fresh(batch)
        if not fresh:
            return
        try:
            lines = [alert.model_dump_json() + "\n" for alert in fresh]
        except ValueError as exc:
            raise PermanentSinkError(f"jsonl {self.path}: alert cannot be written: {exc}") from None
        try:
            self._rotate_if_needed()
            private_file(self.path)
            with self.path.open("a", encoding="utf-8") as fh:
                fh.writelines(lines)
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            raise TransientSinkError(f"jsonl {self.path}: write failed: {exc}") from None
        self.delivered.add(a.id for a in fresh)

    def _rotate_if_needed(self) -> None:
        if not self.path.exists() or self.path.stat().st_size < self.config.max_bytes:
            return
        for index in range(self.config.keep - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{index}")
            if older.exists():
                older.replace(self.path.with_name(f"{self.path.name}.{index + 1}"))
        self.path.replace(self.path.with_name(f"{self.path.name}.1"))
        extra = self.path.with_name(f"{self.path.name}.{self.config.keep + 1}")
        extra.unlink(missing_ok=True)

    def healthcheck(self) -> Health:
        try:
            private_file(self.path)
            with self.path.open("a", encoding="utf-8"):
                pass
        except OSError as exc:
            return Health(False, f"jsonl {self.path}: not writable: {exc.strerror}")
        return Health(True, f"jsonl {self.path}: writable")

    def close(self) -> None:
        self.delivered.close()
