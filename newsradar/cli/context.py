"""State the root command hands to subcommands: which config file, which log level."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import typer

from newsradar.errors import NewsradarError
from newsradar.logging import setup_logging
from newsradar.settings import Settings, load_settings

_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
"""Control characters (ESC, NUL, CR, newline, C1), line separators, bidi overrides and
isolates, lone surrogates: what lets text drive a terminal, forge or reorder lines, or fail
to encode."""


def printable(text: str) -> str:
    """``text`` safe to print on one line of a terminal or pipe: each character of
    ``_UNPRINTABLE`` shown as an escape (``\\x1b``, ``\\u202e``)."""
    return _UNPRINTABLE.sub(_escape, text)


def printable_json(text: str) -> str:
    """A JSON text safe to print: each character of ``_UNPRINTABLE`` left in it (inside
    strings: JSON encoders escape only C0) written as a JSON escape, the same value."""
    return _UNPRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


@dataclass
class CliState:
    config_file: Path | None = None
    log_level: str = "INFO"
    _settings: Settings | None = field(default=None, repr=False)

    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config_file)
        return self._settings


def state(ctx: typer.Context, *, logs: bool = True) -> CliState:
    """The root command's state; with ``logs``, log events go to stderr from here on (a
    command whose stderr is its own one-line errors leaves them out)."""
    obj = ctx.find_root().obj
    if not isinstance(obj, CliState):
        obj = CliState()
        ctx.find_root().obj = obj
    if logs:
        setup_logging(obj.log_level)
    return obj


def serve_metrics(section: str, host: str, port: int) -> None:
    """Expose this process's Prometheus metrics at http://HOST:PORT/metrics (port 0: off)."""
    if not port:
        return
    from prometheus_client import start_http_server

    try:
        start_http_server(port, host)
    except OSError as exc:
        raise NewsradarError(
            f"{section}.metrics_port {port} on {host} is not free ({exc.strerror}); "
            "set another port or 0 to turn metrics off"
        ) from None
    typer.echo(f"Metrics at http://{host}:{port}/metrics", err=True)


def parse_time(option: str, value: str) -> datetime:
    """An ISO 8601 date or time from the command line, UTC unless it says otherwise."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise NewsradarError(
            f"{option} {value!r} is not an ISO 8601 time; use e.g. 2026-11-28 or 2026-11-28T06:00Z"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
