"""Errors of the sinks stage.

NewsradarError (newsradar.errors)
└── SinkError                a sink could not accept a batch
    ├── TransientSinkError   database locked, connection lost, 5xx: retry with backoff;
    │                        offsets are not committed, the alerts wait in Kafka
    └── PermanentSinkError   the alert itself is unacceptable (e.g. a 4xx): dead-letter it
        └── UnexpectedSinkError  the sink failed on this one alert in a way it did not foresee
                                 (a bug the alert sets off): dead-lettered so the sink goes on
"""

from __future__ import annotations

from newsradar.errors import NewsradarError


class SinkError(NewsradarError):
    """A sink could not accept a batch."""


class TransientSinkError(SinkError):
    """Retrying later may succeed."""

    retry_after: float | None = None
    """Seconds the other side asked us to wait (Retry-After), if it said."""


class PermanentSinkError(SinkError):
    """Retrying will not help; the alert goes to the dead-letter topic."""


class UnexpectedSinkError(PermanentSinkError):
    """Writing this alert alone raised an error the sink does not know; it is logged with its
    traceback and the alert dead-lettered rather than stopping the sink."""
