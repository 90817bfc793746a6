"""``newsradar config``: check a config file without starting anything."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from newsradar.cli.context import state
from newsradar.errors import ConfigError
from newsradar.settings import Settings, config_path, load_settings

app = typer.Typer(help="Validate configuration.", no_args_is_help=True)


@app.command("check")
def check(
    ctx: typer.Context,
    file: Annotated[
        Path | None, typer.Argument(help="Config file; default: the one newsradar would read.")
    ] = None,
) -> None:
    """Validate FILE and NEWSRADAR_* variables; name each bad key, its value, what is allowed.

    The rule and feed files it names are read and validated too. Fails too when the dashboard
    (its page, API and Atom feeds) would listen beyond loopback without a token or trusted
    proxy header."""

    cli = state(ctx)
    path = file or cli.config_file
    settings = load_settings(path)
    # Valid, but unsafe: a server other machines can read with no credentials.
    unprotected = settings.unprotected_servers()
    if unprotected:
        raise ConfigError("\n".join(unprotected))
    files = _check_files(settings)
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
    for line in files:
        typer.echo(f"  {line}")


def _check_files(settings: Settings) -> list[str]:
    """Read the rule and feed files the settings name, as the services will read them: a
    path leading nowhere or an invalid file fails here, not when a service starts."""
    from processors.rules import RuleSet
    from producers.feeds import load_feeds

    rules_file, feeds_file = settings.processors.rules_file, settings.producers.feeds_file
    for key, file, instead in (
        ("processors.rules_file", rules_file, "the shipped rules"),
        ("producers.feeds_file", feeds_file, "the shipped feed list"),
    ):
        if file is not None and not file.is_file():
            problem = "a directory, not a file" if file.is_dir() else "no such file"
            raise ConfigError(
                f"{key} = {str(file)!r}: {problem}; fix the path, or remove the key to use "
                f"{instead}"
            )
    found = []
    if rules_file is not None:
        found.append(f"rules: {rules_file} ({len(RuleSet.load(rules_file).rules)} rules)")
    if feeds_file is not None:
        found.append(f"feeds: {feeds_file} ({len(load_feeds(feeds_file))} feeds)")
    return found
