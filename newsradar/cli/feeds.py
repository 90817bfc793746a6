"""``newsradar producers run`` and ``newsradar feeds``: the feed-polling stage."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from newsradar.cli.context import printable, printable_json, serve_metrics, state
from newsradar.errors import ConfigError, NewsradarError
from newsradar.settings import ProducersSettings, Settings

if TYPE_CHECKING:
    from producers.feeds import FeedDiff, FeedSpec

app = typer.Typer(help="Run the feed-polling stage.", no_args_is_help=True)
feeds_app = typer.Typer(
    help="Manage the feeds in newsradar.feeds; parse feeds without Kafka; show health.",
    no_args_is_help=True,
)


@app.command("run")
def run(ctx: typer.Context) -> None:
    """Poll the configured feeds until stopped and publish new articles to Kafka."""
    cli = state(ctx)
    settings = cli.settings()
    from newsradar.broker import require_running
    from newsradar.kafka_admin import ensure_topics
    from producers.feeds import load_feeds
    from producers.group import FeedAssignment, FeedStateLog, GroupMember
    from producers.publish import Publisher
    from producers.rss import FeedPoller
    from producers.state import ProducerState, state_path

    conf = settings.producers
    seed = load_feeds(conf.feeds_file)
    require_running(settings)
    ensure_topics(settings)
    _seed(settings, seed)
    serve_metrics("producers", conf.metrics_host, conf.metrics_port)
    store = ProducerState(state_path(settings), max_seen=conf.dedup_max_entries)
    publisher = Publisher(settings)
    poller = FeedPoller(settings, [], store, publisher)
    assignment = FeedAssignment(settings)
    state_log = FeedStateLog(settings)
    member = GroupMember(poller, assignment, state_log)
    typer.echo(
        f"Polling the feeds of {settings.topics.feeds.name} this instance is assigned "
        f"(group {conf.group_id}); state in {store.path} and {settings.topics.feed_state.name}.",
        err=True,
    )

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await poller.run_forever(stop, tick=member.tick)
            await member.flush()
        finally:
            await poller.aclose()

    try:
        asyncio.run(main())
    finally:
        assignment.close()
        state_log.close()
        publisher.close()
        store.close()


def _seed(settings: Settings, feeds: list[FeedSpec]) -> None:
    """Write the feed list to an empty feeds topic: the file is the seed; once the topic holds
    feeds it is the truth (`feeds add/remove/sync` change it), and the file is not read again."""
    from newsradar.compacted import read_table, write_table
    from newsradar.schemas import feed_key
    from producers.feeds import feed_record

    topic = settings.topics.feeds.name
    if read_table(settings, topic):
        return
    write_table(settings, topic, {feed_key(f.url): feed_record(f) for f in feeds})
    typer.echo(f"{topic} was empty: seeded with {len(feeds)} feeds from the feed list.", err=True)


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
    """Feed health from Kafka (newsradar.feeds and newsradar.feed-state): last success,
    failures, last error, items per poll, current interval, the producer polling it."""
    from producers.health import read_feed_health

    settings = state(ctx, logs=False).settings()
    health = read_feed_health(settings)
    if health.removed:
        print(
            f"newsradar: note: {health.removed} feed states in {settings.topics.feed_state.name} "
            f"belong to feeds no longer in {settings.topics.feeds.name}; not shown",
            file=sys.stderr,
        )
    if as_json:
        for row in health.rows:
            typer.echo(printable_json(json.dumps(row, ensure_ascii=False)))
        return
    now = datetime.now(UTC)
    typer.echo(
        f"{'HEALTH':<14} {'LAST OK':>9} {'FAILS':>5} {'ITEMS':>5} {'NEW':>4} {'EVERY':>7}  "
        f"{'PRODUCER':<24} FEED"
    )
    for row in health.rows:
        success = row["last_success"]
        last_ok = _age((now - datetime.fromisoformat(success)).total_seconds()) if success else "-"
        every = _age(row["interval_seconds"]) if row["interval_seconds"] else "-"
        typer.echo(
            f"{row['health']:<14} {last_ok:>9} {row['consecutive_failures']:>5} "
            f"{row['items_last_poll']:>5} {row['new_last_poll']:>4} {every:>7}  "
            f"{printable(row['producer'] or '-'):<24} {printable(str(row['name'] or row['url']))}"
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


# --- the feeds topic: add, remove, list, import, export, sync --------------------------------


def _read_feeds(settings: Settings) -> dict[str, FeedSpec]:
    """The feeds in ``newsradar.feeds`` by key; a record this version cannot read is named on
    stderr and left alone (it is neither shown nor overwritten by a sync)."""
    from newsradar.compacted import read_table
    from producers.feeds import feeds_of_table

    feeds, problems = feeds_of_table(read_table(settings, settings.topics.feeds.name))
    for line in problems:
        print(f"newsradar: warning: {printable(line)}", file=sys.stderr)
    return feeds


def _forget_state(settings: Settings, keys: list[str]) -> None:
    """Tombstones in ``newsradar.feed-state`` for removed feeds, so that their health and
    dedup memory do not stay in the topic for good (the producer that polled a feed stops
    writing its state once the feed's tombstone reaches it)."""
    from newsradar.compacted import write_table

    write_table(settings, settings.topics.feed_state.name, dict.fromkeys(keys))


def _apply(settings: Settings, diff: FeedDiff, *, dry_run: bool) -> None:
    from newsradar.compacted import write_table
    from newsradar.schemas import feed_key

    for line in diff.lines():
        typer.echo(printable(line))
    total = len(diff.added) + len(diff.changed) + len(diff.removed)
    if not dry_run:
        write_table(settings, settings.topics.feeds.name, diff.changes())
        _forget_state(settings, [feed_key(spec.url) for spec in diff.removed])
    verb = "would change" if dry_run else "changed"
    typer.echo(
        f"{settings.topics.feeds.name}: {verb} {total} feeds "
        f"({len(diff.added)} added, {len(diff.changed)} changed, {len(diff.removed)} removed)",
        err=True,
    )


def _control_settings(ctx: typer.Context) -> Settings:
    from newsradar.broker import require_running
    from newsradar.kafka_admin import ensure_topics

    settings = state(ctx, logs=False).settings()
    require_running(settings)
    ensure_topics(settings)
    return settings


@feeds_app.command("add")
def add(  # noqa: PLR0917 - typer: one parameter per option
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="The feed's http(s) URL.")],
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    language: Annotated[str, typer.Option(help="ISO 639-1 hint, e.g. ar.")] = "",
    country: Annotated[str, typer.Option(help="ISO 3166-1 alpha-2 of the source.")] = "",
    tag: Annotated[list[str] | None, typer.Option(help="A tag (repeat for more).")] = None,
    interval: Annotated[
        float | None, typer.Option(help="Poll interval in seconds; default from [producers].")
    ] = None,
) -> None:
    """Add a feed to newsradar.feeds (or replace its settings); producers poll it at once."""
    from producers.feeds import diff_feeds

    spec = _spec(
        url=url,
        name=name,
        language=language,
        country=country,
        tags=tuple(tag or ()),
        poll_interval_seconds=interval,
    )
    settings = _control_settings(ctx)
    _apply(settings, diff_feeds(_read_feeds(settings), [spec], remove=False), dry_run=False)


@feeds_app.command("remove")
def remove(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="The feed's URL, as `feeds list` shows it.")],
) -> None:
    """Remove a feed from newsradar.feeds (a tombstone); producers stop polling it."""
    from newsradar.compacted import write_table
    from newsradar.schemas import feed_key

    settings = _control_settings(ctx)
    key = feed_key(url)
    if key not in _read_feeds(settings):
        raise NewsradarError(
            f"{url}: not in {settings.topics.feeds.name}; `newsradar feeds list` shows its feeds"
        )
    write_table(settings, settings.topics.feeds.name, {key: None})
    _forget_state(settings, [key])
    typer.echo(f"- {printable(url)}")


@feeds_app.command("list")
def list_feeds(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per feed.")] = False,
) -> None:
    """The feeds in newsradar.feeds: URL, name, language, tags, interval."""
    settings = _control_settings(ctx)
    for spec in _read_feeds(settings).values():
        if as_json:
            line = json.dumps(spec.model_dump(mode="json"), ensure_ascii=False)
            typer.echo(printable_json(line))
        else:
            extra = " ".join(
                part
                for part in (
                    spec.language,
                    spec.country,
                    ",".join(spec.tags),
                    f"every {spec.poll_interval_seconds:g}s" if spec.poll_interval_seconds else "",
                )
                if part
            )
            typer.echo(printable(f"{spec.url}  {spec.name}  {extra}".rstrip()))


@feeds_app.command("import")
def import_opml(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="An OPML file (Miniflux, Feedly, Inoreader).")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the diff only.")] = False,
) -> None:
    """Add the feeds of an OPML file to newsradar.feeds (categories become tags); feeds not
    in the file stay."""
    from producers.feeds import diff_feeds
    from producers.opml import parse_opml

    try:
        data = file.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read OPML file: {exc.strerror}") from None
    wanted = parse_opml(data, str(file))
    settings = _control_settings(ctx)
    _apply(settings, diff_feeds(_read_feeds(settings), wanted, remove=False), dry_run=dry_run)


@feeds_app.command("export")
def export(
    ctx: typer.Context,
    opml: Annotated[
        bool, typer.Option("--opml", help="OPML 2.0 (default: a YAML feed list for `sync`).")
    ] = False,
) -> None:
    """Print the feeds of newsradar.feeds as OPML or as a feed list file."""
    from producers.opml import to_opml

    settings = _control_settings(ctx)
    feeds = list(_read_feeds(settings).values())
    if opml:
        sys.stdout.write(to_opml(feeds))
        return
    import yaml

    entries = [spec.model_dump(mode="json", exclude_defaults=True) for spec in feeds]
    sys.stdout.write(yaml.safe_dump({"feeds": entries}, allow_unicode=True, sort_keys=False))


@feeds_app.command("sync")
def sync(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A feed list (YAML or TOML).")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the diff only.")] = False,
) -> None:
    """Make newsradar.feeds hold exactly the feeds of FILE, printing the diff."""
    from producers.feeds import diff_feeds, load_feeds

    wanted = load_feeds(file)
    settings = _control_settings(ctx)
    _apply(settings, diff_feeds(_read_feeds(settings), wanted), dry_run=dry_run)


def _spec(**fields: Any) -> FeedSpec:
    from pydantic import ValidationError

    from producers.feeds import FeedSpec

    try:
        return FeedSpec(**fields)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = {"poll_interval_seconds": "interval", "tags": "tag"}.get(
            str(err["loc"][0]), str(err["loc"][0])
        )
        msg = err["msg"].removeprefix("Value error, ")
        raise ConfigError(
            f"--{where}: {msg}" if where != "url" else f"{fields['url']}: {msg}"
        ) from None
