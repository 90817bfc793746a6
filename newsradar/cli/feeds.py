"""``newsradar producers run`` and ``newsradar feeds``: the feed-polling stage."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from newsradar.cli.context import printable, printable_json, serve_metrics, state
from newsradar.settings import ProducersSettings

app = typer.Typer(help="Run the feed-polling stage.", no_args_is_help=True)
feeds_app = typer.Typer(
    help="Inspect feeds: parse without Kafka, show health.", no_args_is_help=True
)


@app.command("run")
def run(ctx: typer.Context) -> None:
    """Poll the configured feeds until stopped and publish new articles to Kafka."""
    cli = state(ctx)
    settings = cli.settings()
    from newsradar.broker import require_running
    from newsradar.kafka_admin import ensure_topics
    from producers.feeds import load_feeds
    from producers.health import state_path
    from producers.publish import Publisher
    from producers.rss import FeedPoller
    from producers.state import ProducerState

    conf = settings.producers
    feeds = load_feeds(conf.feeds_file)
    require_running(settings)
    ensure_topics(settings)
    serve_metrics("producers", conf.metrics_host, conf.metrics_port)
    store = ProducerState(state_path(settings), max_seen=conf.dedup_max_entries)
    publisher = Publisher(settings)
    poller = FeedPoller(settings, feeds, store, publisher)
    typer.echo(f"Polling {len(feeds)} feeds; state in {store.path}.", err=True)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await poller.run_forever(stop)
        finally:
            await poller.aclose()

    try:
        asyncio.run(main())
    finally:
        publisher.close()
        store.close()


@feeds_app.command("parse")
def parse(
    ctx: typer.Context,
    sources: Annotated[
        list[str], typer.Argument(metavar="PATH_OR_URL...", help="Feed files or URLs.")
    ],
) -> None:
    """Read feeds without Kafka; print one JSON line per normalised article.

    A feed that cannot be read gives one line on stderr; the others are still read. Exit 1 if
    any failed, else 0. URLs are fetched as the producers fetch them (their timeouts, deadline,
    size cap and redirect limit).
    """
    from producers.errors import FeedError
    from producers.normalize import parse_feed

    conf = state(ctx, logs=False).settings().producers
    failed = 0
    for source in sources:
        fetched_at = datetime.now(UTC)
        try:
            body, headers = _read_source(source, conf)
            parsed = parse_feed(
                body, feed_url=source, fetched_at=fetched_at, response_headers=headers
            )
        except FeedError as exc:
            print(
                f"newsradar: error: {printable(source)}: {printable(str(exc))} ({exc.error_class})",
                file=sys.stderr,
            )
            failed += 1
            continue
        if parsed.problem:
            print(
                f"newsradar: warning: {printable(source)}: ill-formed, read as far as possible: "
                f"{printable(parsed.problem)}",
                file=sys.stderr,
            )
        for article in parsed.articles:
            line: dict[str, Any] = article.model_dump(mode="json")
            sys.stdout.write(printable_json(json.dumps(line, ensure_ascii=False)) + "\n")
    if failed:
        raise typer.Exit(1)


def _read_source(source: str, conf: ProducersSettings) -> tuple[bytes, dict[str, str]]:
    from producers.errors import PermanentFeedError

    path = Path(source)
    if path.is_file():
        try:
            return path.read_bytes(), {}
        except OSError as exc:
            raise PermanentFeedError(
                f"cannot read file: {exc.strerror}", error_class="io"
            ) from None
    if "://" not in source:
        raise PermanentFeedError("no such file, and not an http(s) URL", error_class="not_found")
    return asyncio.run(_fetch(source, conf))


async def _fetch(url: str, conf: ProducersSettings) -> tuple[bytes, dict[str, str]]:
    from producers.fetch import fetch_feed, http_client

    async with http_client(
        timeout_seconds=conf.timeout_seconds, user_agent=conf.user_agent, max_connections=1
    ) as client:
        result = await fetch_feed(
            client,
            url,
            max_bytes=conf.max_body_bytes,
            max_redirects=conf.max_redirects,
            deadline_seconds=conf.fetch_deadline_seconds,
        )
    return result.body, result.headers


@feeds_app.command("check")
def check(
    file: Annotated[
        Path | None, typer.Argument(help="Feed list; default: the configured one.")
    ] = None,
) -> None:
    """Validate a feed list; name every bad entry, key and the fix."""
    from producers.feeds import DEFAULT_FEEDS, load_feeds

    feeds = load_feeds(file)
    typer.echo(f"{file or DEFAULT_FEEDS}: OK ({len(feeds)} feeds)")


@feeds_app.command("status")
def status(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per feed.")] = False,
) -> None:
    """Feed health: last success, failures, last error, items per poll, current interval."""
    from producers.health import feed_health

    health = feed_health(state(ctx).settings())
    rows = [row for row, _ in health]
    known = {row["url"]: seen for row, seen in health if seen is not None}
    if as_json:
        for row in rows:
            typer.echo(printable_json(json.dumps(row, ensure_ascii=False)))
        return
    now = time.time()
    typer.echo(
        f"{'HEALTH':<14} {'LAST OK':>9} {'FAILS':>5} {'ITEMS':>5} {'NEW':>4} {'EVERY':>7}  FEED"
    )
    for row in rows:
        seen = known.get(str(row["url"]))
        last_ok = _age(now - seen.last_success) if seen and seen.last_success else "-"
        every = _age(seen.interval_seconds) if seen and seen.interval_seconds else "-"
        typer.echo(
            f"{row['health']:<14} {last_ok:>9} {row['consecutive_failures']:>5} "
            f"{row['items_last_poll']:>5} {row['new_last_poll']:>4} {every:>7}  "
            f"{printable(str(row['name'] or row['url']))}"
        )
        detail = (
            f"{row['last_error_class']}: {row['last_error']}" if row["last_error_class"] else ""
        )
        if row["moved_to"]:
            detail += f" moved to {row['moved_to']}"
        if detail:
            typer.echo(f"{'':<14} {printable(detail.strip())}")


def _age(seconds: float) -> str:
    seconds = max(0.0, seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds:.0f}s"
