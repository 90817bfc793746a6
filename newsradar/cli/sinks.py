"""``newsradar sinks`` and ``newsradar alerts``: the delivery stage and the alert store."""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer

from newsradar.cli.context import parse_time, printable, printable_json, serve_metrics, state
from newsradar.errors import ConfigError, NewsradarError

app = typer.Typer(help="Run the delivery stage.", no_args_is_help=True)
alerts_app = typer.Typer(help="Read the embedded alert store.", no_args_is_help=True)


@app.command("check")
def check(ctx: typer.Context) -> None:
    """Run every configured sink's healthcheck; exit 1 if any fails."""
    from sinks.service import configured_sinks

    failed = False
    for sink in configured_sinks(state(ctx).settings()):
        health = sink.healthcheck()
        typer.echo(f"{sink.name}: {'ok' if health.ok else 'FAILING'}: {health.detail}")
        failed |= not health.ok
        sink.close()
    if failed:
        raise typer.Exit(1)


@app.command("run")
def run(ctx: typer.Context) -> None:
    """Deliver alerts to every configured sink until stopped."""
    settings = state(ctx).settings()
    from newsradar.broker import require_running
    from newsradar.kafka_admin import ensure_topics
    from sinks.service import configured_sinks, run_sinks

    sinks = configured_sinks(settings)
    if not sinks:
        raise ConfigError("no sink is enabled; enable [sinks.sqlite] or configure another sink")
    for sink in sinks:
        health = sink.healthcheck()
        typer.echo(
            f"Sink {sink.name}: {'ok' if health.ok else 'FAILING'}: {health.detail}", err=True
        )
    require_running(settings)
    ensure_topics(settings)
    conf = settings.sinks
    serve_metrics("sinks", conf.metrics_host, conf.metrics_port)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        run_sinks(settings, sinks, stop)
    finally:
        for sink in sinks:
            sink.close()


@alerts_app.command("list")
def list_(  # noqa: PLR0917 - typer options
    ctx: typer.Context,
    rule: Annotated[str | None, typer.Option("--rule", help="Only this rule id.")] = None,
    country: Annotated[str | None, typer.Option("--country", help="ISO 3166-1 alpha-2.")] = None,
    since: Annotated[
        str | None,
        typer.Option("--since", help="ISO 8601 time, e.g. 2026-11-28 or 2026-11-28T06:00Z."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1)] = 100,
    as_json: Annotated[
        bool, typer.Option("--json", help="JSON Lines, one alert per line.")
    ] = False,
) -> None:
    """Alerts in the embedded store, newest first, with their article's title and url."""
    from sinks.sqlite import list_alerts

    settings = state(ctx).settings()
    since_at = parse_time("--since", since) if since else None
    path = settings.alerts_db
    if not path.is_file():
        raise NewsradarError(
            f"no alert store at {path} yet; run the pipeline (`newsradar up`) or check data_dir"
        )
    alerts = list_alerts(path, rule=rule, country=country, since=since_at, limit=limit)
    if as_json:
        for alert in alerts:
            typer.echo(printable_json(alert.model_dump_json()))
        return
    typer.echo(f"{'CREATED (UTC)':<17} {'RULE':<16} {'SCORE':>6} {'PAIRS':<14} TITLE / URL")
    # Titles and URLs come from feeds: escaped, so that none can drive the terminal.
    for alert in alerts:
        typer.echo(
            f"{alert.created_at:%Y-%m-%d %H:%M} {printable(alert.rule_id):<16.16} "
            f"{alert.score:>6.1f} {printable(','.join(alert.pairs[:2])):<14.14} "
            f"{printable(alert.article_title[:80])}"
        )
        typer.echo(f"{'':<56} {printable(alert.article_url)}")
    if not alerts:
        typer.echo("(no alerts match)")
