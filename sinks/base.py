"""What every sink is: a small lifecycle that the sinks service drives.

``setup()`` connects and validates, failing fast. ``write(batch)`` must be idempotent: an alert
may arrive again after a crash between writing and committing the Kafka offset, and writing it
twice must leave one row, send one message. If ``write`` raises a
:class:`~sinks.errors.TransientSinkError`, the offsets of the batch are not committed and the
batch is offered again after a backoff. ``healthcheck()`` does what the sink really does (a
cheap query on the real table, a real request), because a false alarm beats a false all-clear.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

from newsradar.schemas import Alert


@dataclass(frozen=True)
class Health:
    ok: bool
    detail: str


class Sink(ABC):
    name: str

    @abstractmethod
    def setup(self) -> None: ...

    @abstractmethod
    def write(self, batch: Sequence[Alert]) -> None: ...

    @abstractmethod
    def healthcheck(self) -> Health: ...

    @abstractmethod
    def close(self) -> None: ...

    def flush(self) -> None:
        """Send what is due though no alert arrived (digests); the service calls it every few
        seconds. Raises a SinkError when that fails; what was due stays for the next call."""
        return
