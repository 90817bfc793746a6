"""``newsradar broker``: the local single-node Kafka broker."""

from __future__ import annotations

import typer

from newsradar import broker
from newsradar.cli.context import state
from newsradar.settings import Settings

app = typer.Typer(help="Run the local Kafka broker (not used with an external cluster).")


def _external(settings: Settings) -> bool:
    if settings.uses_local_broker:
        return False
    typer.echo(
        f"An external Kafka cluster is configured ({','.join(settings.bootstrap_servers)}); "
        "no local broker is managed."
    )
    return True


@app.command("start")
def start(ctx: typer.Context) -> None:
    """Fetch the jars once, format storage on first start, start in the background, wait."""
    settings = state(ctx).settings()
    if _external(settings):
        return
    typer.echo(f"Starting Kafka {settings.broker.kafka_version} in {settings.data_dir}/kafka ...")
    result = broker.start(settings)
    typer.echo(f"Kafka is ready at {result.address} (pid {result.pid}).")


@app.command("run")
def run(ctx: typer.Context) -> None:
    """Run the broker in the foreground until stopped (SIGTERM, Ctrl-C), logging to stderr:
    for a service manager (systemd's newsradar-broker.service)."""
    settings = state(ctx).settings()
    if _external(settings):
        return
    typer.echo(
        f"Running Kafka {settings.broker.kafka_version} in {settings.data_dir}/kafka.", err=True
    )
    broker.run(settings)


@app.command("status")
def status(ctx: typer.Context) -> None:
    """Exit 0 and print the address if Kafka answers; exit 1 otherwise."""
    settings = state(ctx).settings()
    result = broker.status(settings)
    if result.running:
        pid = f" (pid {result.pid})" if result.pid else ""
        typer.echo(f"{result.address}{pid}: {result.detail}")
        return
    typer.echo(f"{result.address}: {result.detail}", err=True)
    raise typer.Exit(1)


@app.command("stop")
def stop(ctx: typer.Context) -> None:
    """Stop the local broker cleanly and wait for it to exit."""
    settings = state(ctx).settings()
    if _external(settings):
        return
    result = broker.stop(settings)
    if result.pid is None:
        typer.echo("No local broker is running.")
    else:
        typer.echo(f"Kafka (pid {result.pid}) {result.detail}.")
