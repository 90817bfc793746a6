"""``newsradar sinks`` and ``newsradar alerts``: the delivery stage and the alert store."""

from __future__ import annotations

import signal
import threading
from typing import TYPE_CHECKING, Annotated

import typer

from newsradar.cli.context import parse_time, printable, printable_json, serve_metrics, state
from newsradar.errors import ConfigError, NewsradarError

if TYPE_CHECKING:
    from newsradar.settings import Settings
    from sinks.search import AlertFilter, StoredAlert

app = typer.Typer(help="Run the delivery stage.", no_args_is_help=True)
alerts_app = typer.Typer(
    help="Read the alert store: the embedded one, or PostgreSQL where it is the only one.",
    no_args_is_help=True,
)


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


Rule = Annotated[str | None, typer.Option("--rule", help="Only this rule id.")]
Country = Annotated[str | None, typer.Option("--country", help="ISO 3166-1 alpha-2.")]
Since = Annotated[
    str | None,
    typer.Option("--since", help="ISO 8601 time, e.g. 2026-11-28 or 2026-11-28T06:00Z."),
]
Limit = Annotated[int, typer.Option("--limit", min=1)]
Unread = Annotated[bool, typer.Option("--unread", help="Only alerts not marked read.")]
Starred = Annotated[bool, typer.Option("--starred", help="Only starred alerts.")]
OutputFormat = Annotated[
    str,
    typer.Option(
        "--format",
        help="table; csv (spreadsheet-safe, with read and starred); jsonl (one alert per line).",
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="Same as --format jsonl.")]
FORMATS = ("table", "csv", "jsonl")


@alerts_app.command("list")
def list_(  # noqa: PLR0917 - typer options
    ctx: typer.Context,
    rule: Rule = None,
    country: Country = None,
    since: Since = None,
    limit: Limit = 100,
    unread: Unread = False,
    starred: Starred = False,
    output: OutputFormat = "table",
    as_json: AsJson = False,
) -> None:
    """Alerts in the store, newest first, with their article's title and url."""
    _show(ctx, None, rule, country, since, limit, unread, starred, "jsonl" if as_json else output)


@alerts_app.command("search")
def search(  # noqa: PLR0917 - typer options
    ctx: typer.Context,
    query: Annotated[
        str,
        typer.Argument(
            help="Words that must all occur (as words or word starts) in the title, matched "
            "terms, snippets or relating sentences; Arabic folded as the engine folds it."
        ),
    ],
    rule: Rule = None,
    country: Country = None,
    since: Since = None,
    limit: Limit = 100,
    unread: Unread = False,
    starred: Starred = False,
    output: OutputFormat = "table",
    as_json: AsJson = False,
) -> None:
    """Search the store's alerts, newest first."""
    _show(ctx, query, rule, country, since, limit, unread, starred, "jsonl" if as_json else output)


def _show(  # noqa: PLR0917
    ctx: typer.Context,
    query: str | None,
    rule: str | None,
    country: str | None,
    since: str | None,
    limit: int,
    unread: bool,
    starred: bool,
    output: str,
) -> None:
    from sinks.export import chunks
    from sinks.search import AlertFilter, BadQuery
    from sinks.sqlite import find_alerts

    if output not in FORMATS:
        raise NewsradarError(f"--format {output!r}: use one of {', '.join(FORMATS)}")
    settings = state(ctx).settings()
    since_at = parse_time("--since", since) if since else None
    try:
        wanted = AlertFilter(
            rule=rule,
            country=country.upper() if country else None,
            query=query,
            unread=unread,
            starred=starred,
            since=since_at,
        )
    except BadQuery as exc:
        raise NewsradarError(str(exc)) from None
    if not settings.sinks.sqlite.enabled and settings.sinks.postgres.enabled:
        alerts = _find_in_postgres(settings, wanted, limit)
    else:
        path = settings.alerts_db
        if not path.is_file():
            raise NewsradarError(
                f"no alert store at {path} yet; run the pipeline (`newsradar up`) or check data_dir"
            )
        alerts = find_alerts(path, wanted, limit=limit)
    if output == "jsonl":
        for line in chunks(alerts, "jsonl"):
            typer.echo(printable_json(line.rstrip("\n")))
        return
    if output == "csv":
        for chunk in chunks(alerts, "csv"):
            typer.echo(chunk, nl=False)
        return
    typer.echo(f"{'CREATED (UTC)':<17} {'RULE':<16} {'SCORE':>6} {'PAIRS':<14} TITLE / URL")
    # Titles and URLs come from feeds: escaped, so that none can drive the terminal.
    for stored in alerts:
        alert = stored.alert
        typer.echo(
            f"{alert.created_at:%Y-%m-%d %H:%M} {printable(alert.rule_id):<16.16} "
            f"{alert.score:>6.1f} {printable(','.join(alert.pairs[:2])):<14.14} "
            f"{printable(alert.article_title[:80])}"
        )
        typer.echo(f"{'':<56} {printable(alert.article_url)}")
    if not alerts:
        typer.echo("(no alerts match)")


def _find_in_postgres(settings: Settings, wanted: AlertFilter, limit: int) -> list[StoredAlert]:
    """The server store's alerts, for deployments whose only store is PostgreSQL."""
    from sinks.errors import SinkError
    from sinks.postgres import PostgresSink

    sink = PostgresSink(settings.sinks.postgres)
    try:
        sink.setup()
        return sink.find(wanted, limit=limit)
    except SinkError as exc:
        raise NewsradarError(
            f"{exc}; check [sinks.postgres] dsn and that the server is up"
        ) from None
    finally:
        sink.close()
