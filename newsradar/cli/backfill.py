"""``newsradar backfill``: re-run rules over the articles Kafka retains, to a separate file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from newsradar.cli.context import parse_time, state
from newsradar.errors import NewsradarError


def backfill(
    ctx: typer.Context,
    start: Annotated[
        str, typer.Option("--from", help="Start, ISO 8601 (UTC unless given), e.g. 2026-11-20.")
    ],
    end: Annotated[str, typer.Option("--to", help="End (exclusive), e.g. 2026-11-27T12:00Z.")],
    rules: Annotated[
        Path | None,
        typer.Option(
            "--rules", help="Rule file to try; default: the configured rules.", dir_okay=False
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            help="JSON Lines file for the alerts; default DATA_DIR/backfill/<from>_<to>.jsonl.",
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Re-run rules over the articles Kafka retains from --from to --to (live alerts untouched).

    What would a rule have caught last week? Alerts go to a separate JSON Lines file; offsets
    and sinks are untouched.
    """
    settings = state(ctx).settings()
    since, until = parse_time("--from", start), parse_time("--to", end)
    if since >= until:
        raise NewsradarError(f"--from {start} is not before --to {end}; give an earlier --from")
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from newsradar.broker import require_running
    from processors.backfill import ArticleRange, run_rules
    from processors.classify import Engine

    engine = Engine.default(rules)  # a bad rule file fails here, before Kafka is touched
    require_running(settings)
    target = output or (
        settings.data_dir / "backfill" / f"{since:%Y%m%dT%H%M}_{until:%Y%m%dT%H%M}.jsonl"
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    source = ArticleRange(settings, since, until)
    err = Console(stderr=True)
    try:
        with (
            target.open("w", encoding="utf-8") as out,
            Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=err,
                transient=True,
            ) as bar,
        ):
            task = bar.add_task("articles", total=source.total)
            summary = run_rules(
                engine,
                source.records(lambda n: bar.advance(task, n)),
                lambda alert: print(alert.model_dump_json(), file=out),
            )
    finally:
        source.close()
    typer.echo(
        f"Backfill {since:%Y-%m-%d %H:%M} to {until:%Y-%m-%d %H:%M} UTC: "
        f"{summary.articles} articles, {summary.alerts} alerts, {summary.malformed} malformed "
        f"records skipped; alerts in {target}"
    )
    for dimension in ("day", "source", "language"):
        rows = summary.table(dimension)
        if not rows:
            continue
        width = max(len(dimension), *(len(v) for v, _, _ in rows))
        typer.echo(f"\n{dimension.upper():<{width}}  {'ARTICLES':>8}  {'ALERTS':>6}")
        for value, articles, alerts in rows:
            typer.echo(f"{value:<{width}}  {articles:>8}  {alerts:>6}")
