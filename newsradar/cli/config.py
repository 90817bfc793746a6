"""``newsradar config``: check a config file without starting anything."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from newsradar.cli.context import state
from newsradar.errors import ConfigError
from newsradar.settings import config_path, load_settings

app = typer.Typer(help="Validate configuration.", no_args_is_help=True)


@app.command("check")
def check(
    ctx: typer.Context,
    file: Annotated[
        Path | None, typer.Argument(help="Config file; default: the one newsradar would read.")
    ] = None,
) -> None:
    """Validate FILE and NEWSRADAR_* variables; name each bad key, its value, what is allowed.

    Fails too when the dashboard (and its API) or the Atom feeds would listen beyond loopback
    without a token or trusted proxy header."""

    cli = state(ctx)
    path = file or cli.config_file
    settings = load_settings(path)
    # Valid, but unsafe: a server other machines can read with no credentials.
    unprotected = settings.unprotected_servers()
    if unprotected:
        raise ConfigError("\n".join(unprotected))
    source = config_path(path, os.environ)
    kafka = (
        f"local broker at {settings.bootstrap_servers[0]}"
        if settings.uses_local_broker
        else f"external cluster {','.join(settings.bootstrap_servers)}"
    )
    typer.echo(f"{source or 'defaults'}: OK")
    typer.echo(f"  data_dir: {settings.data_dir}")
    typer.echo(f"  kafka: {kafka} ({settings.kafka.security_protocol})")
    for spec in settings.topics.all():
        typer.echo(f"  topic: {spec.name} ({spec.partitions} partitions)")
