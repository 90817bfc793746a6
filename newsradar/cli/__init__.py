"""The ``newsradar`` command line.

Every command turns expected failures (:class:`~newsradar.errors.NewsradarError`) and a wrong
command line into one line on stderr, ``newsradar: error: ...``, and a non-zero exit whose
number says which (:mod:`newsradar.errors`: 1 failed, 2 usage, 3 config); tracebacks are for
bugs only.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from newsradar import __version__
from newsradar.cli import broker as broker_cmd
from newsradar.cli import config as config_cmd
from newsradar.cli import dashboard as dashboard_cmd
from newsradar.cli import feeds as feeds_cmd
from newsradar.cli import processors as processors_cmd
from newsradar.cli import sinks as sinks_cmd
from newsradar.cli import topics as topics_cmd
from newsradar.cli.backfill import backfill
from newsradar.cli.context import CliState, printable
from newsradar.cli.up import up
from newsradar.errors import EXIT_USAGE, NewsradarError


class LogLevel(StrEnum):
    """Log levels `--log-level` takes (any case); anything else is a usage error."""

    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


app = typer.Typer(
    name="newsradar",
    help="Streaming news monitoring: feeds -> Kafka -> detection -> alerts.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(config_cmd.app, name="config")
app.add_typer(broker_cmd.app, name="broker")
app.add_typer(topics_cmd.app, name="topics")
app.add_typer(feeds_cmd.app, name="producers")
app.add_typer(feeds_cmd.feeds_app, name="feeds")
app.add_typer(processors_cmd.app, name="processors")
app.add_typer(processors_cmd.rules_app, name="rules")
app.add_typer(sinks_cmd.app, name="sinks")
app.add_typer(sinks_cmd.alerts_app, name="alerts")
app.add_typer(dashboard_cmd.app, name="dashboard")
app.command("backfill")(backfill)
app.command("classify")(processors_cmd.classify)
app.command("up")(up)


@app.callback()
def _root(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="Config file (TOML). Default: $NEWSRADAR_CONFIG, else ./newsradar.toml.",
            dir_okay=False,
        ),
    ] = None,
    log_level: Annotated[
        LogLevel,
        typer.Option("--log-level", help="How much to log (any case).", case_sensitive=False),
    ] = LogLevel.INFO,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print the version and exit.",
            is_eager=True,
            callback=_print_version,
        ),
    ] = False,
) -> None:
    ctx.obj = CliState(config_file=config, log_level=log_level.value)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"newsradar {__version__}")
        raise typer.Exit()


def main() -> None:
    try:
        # Not standalone: usage errors come back here to be printed as one line, like the rest.
        code = app(prog_name="newsradar", standalone_mode=False)
    except typer.TyperException as exc:  # the command line (typer's usage errors, exit 2)
        message = exc.format_message()
        if message:  # empty: the help, already shown (a group called without a command)
            ctx = getattr(exc, "ctx", None)
            where = ctx.command_path if ctx is not None else "newsradar"
            _error(f"{message} (see `{where} --help`)" if exc.exit_code == EXIT_USAGE else message)
        sys.exit(exc.exit_code)
    except NewsradarError as exc:
        for line in str(exc).splitlines() or [type(exc).__name__]:
            _error(line)
        sys.exit(exc.exit_code)
    except (KeyboardInterrupt, typer.Abort):
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


def _error(line: str) -> None:
    print(f"newsradar: error: {printable(line)}", file=sys.stderr)
