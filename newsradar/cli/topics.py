"""``newsradar topics``: create the pipeline's topics."""

from __future__ import annotations

import typer

from newsradar.broker import require_running
from newsradar.cli.context import state
from newsradar.kafka_admin import ensure_topics

app = typer.Typer(help="Manage the pipeline's Kafka topics.", no_args_is_help=True)


@app.command("create")
def create(ctx: typer.Context) -> None:
    """Create the configured topics that do not exist yet (safe to run again)."""
    settings = state(ctx).settings()
    require_running(settings)
    for result in ensure_topics(settings):
        verb = "created" if result.created else "exists"
        typer.echo(f"{result.name}: {verb} ({result.partitions} partitions)")
