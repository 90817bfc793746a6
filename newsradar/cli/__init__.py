"""The ``newsradar`` command line.

Every command turns expected failures (:class:`~newsradar.errors.NewsradarError`) into one line on
stderr, ``newsradar: error: ...``, and a non-zero exit; tracebacks are for bugs only.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

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
from newsradar.errors import NewsradarError

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
        str, typer.Option("--log-level", help="DEBUG, INFO, WARNING or ERROR.")
    ] = "INFO",
) -> None:
    ctx.obj = CliState(config_file=config, log_level=log_level.upper())


def main() -> None:
    try:
        app()
    except NewsradarError as exc:
        for line in str(exc).splitlines() or [type(exc).__name__]:
            print(f"newsradar: error: {printable(line)}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
