"""``newsradar up``: run the whole pipeline on this machine until Ctrl-C.

Uses the configured Kafka or starts the local broker, creates the topics, then runs each stage
as a supervised child process (restarted with backoff if it crashes) with one combined log.
Ctrl-C stops the stages, then the broker if ``up`` started it.
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from newsradar import broker
from newsradar.cli.context import state
from newsradar.errors import ConfigError
from newsradar.files import private_dir
from newsradar.kafka_admin import ensure_topics
from newsradar.settings import Settings
from newsradar.supervisor import STAGES, Supervisor


def up(
    ctx: typer.Context,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo", help="Feed the pipeline from bundled sample articles served locally."
        ),
    ] = False,
    demo_minutes: Annotated[
        float,
        typer.Option(
            "--demo-minutes",
            min=0,
            max=24 * 60,
            help="With --demo: replay the sample articles over this many minutes, so the "
            "dashboard fills live (the reference alert first, a surge near the end); "
            "0 serves them all at once.",
        ),
    ] = 3.0,
) -> None:
    """Start Kafka (unless external), create topics, run every stage until Ctrl-C."""
    cli = state(ctx)
    settings = cli.settings()
    unprotected = settings.unprotected_servers()
    if unprotected:  # the stage would only exit with this, and be restarted again and again
        raise ConfigError("\n".join(unprotected))
    private_dir(settings.data_dir)
    stage_env: dict[str, str] = {}
    demo_feeds = None
    if demo:
        from newsradar.demo import DemoFeeds

        demo_feeds = DemoFeeds(demo_minutes)
        feed_list = demo_feeds.write_feed_list(settings.data_dir / "demo" / "feeds.json")
        stage_env = {
            "NEWSRADAR_PRODUCERS__FEEDS_FILE": str(feed_list.resolve()),
            # The demo's feeds (on this run's local ports) in topics of their own, so a demo
            # leaves the real newsradar.feeds alone; `up --demo` syncs them at start.
            "NEWSRADAR_TOPICS__FEEDS__NAME": DEMO_FEEDS_TOPIC,
            "NEWSRADAR_TOPICS__FEED_STATE__NAME": DEMO_FEED_STATE_TOPIC,
            "NEWSRADAR_PRODUCERS__GROUP_ID": f"{settings.producers.group_id}-demo",
            "NEWSRADAR_PRODUCERS__MIN_INTERVAL_SECONDS": "5",
            "NEWSRADAR_PRODUCERS__DEFAULT_INTERVAL_SECONDS": "10",
            "NEWSRADAR_PRODUCERS__PER_HOST_DELAY_SECONDS": "0",
        }
        typer.echo(
            f"Demo: serving {len(demo_feeds.feeds)} sample feeds at "
            f"{', '.join(f['url'] for f in demo_feeds.feeds)}"
        )
        typer.echo(
            f"Demo: replaying {len(demo_feeds.schedule)} sample articles over "
            f"{demo_minutes:g} minute{'' if demo_minutes == 1 else 's'} (--demo-minutes), "
            "a surge of one pair last."
        )
    started_broker = False
    if settings.uses_local_broker:
        if broker.status(settings, timeout_seconds=5).running:
            typer.echo(f"Using the running local broker at {settings.bootstrap_servers[0]}.")
        else:
            typer.echo(f"Starting the local Kafka broker in {settings.data_dir}/kafka ...")
            broker.start(settings)
            started_broker = True
    for result in ensure_topics(settings):
        typer.echo(f"Topic {result.name}: {'created' if result.created else 'ready'}.")
    if demo_feeds is not None:
        _sync_demo_feeds(settings, feed_list)

    stages = tuple(s for s in STAGES if s.name != "dashboard" or settings.dashboard.enabled)
    supervisor = Supervisor(
        stages, config_file=cli.config_file, log_level=cli.log_level, env=stage_env
    )
    stop_requested = False

    def request_stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stop_requested
        stop_requested = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    typer.echo(f"Kafka: {','.join(settings.bootstrap_servers)}")
    typer.echo(f"Data directory: {settings.data_dir.resolve()}")
    metrics = (
        ("producers", settings.producers),
        ("processors", settings.processors),
        ("sinks", settings.sinks),
    )
    for name, conf in metrics:
        if conf.metrics_port:
            typer.echo(f"Metrics ({name}): http://{conf.metrics_host}:{conf.metrics_port}/metrics")
    if settings.dashboard.enabled:
        dash = settings.dashboard
        typer.echo(f"Dashboard: http://{dash.host}:{dash.port}/")
        typer.echo(f"Atom feeds of alerts: http://{dash.host}:{dash.port}/feeds/<rule>.atom")
        typer.echo(f"Metrics (dashboard): http://{dash.host}:{dash.port}/metrics")
    typer.echo("Feed health: newsradar feeds status · Alerts: newsradar alerts list")
    typer.echo(f"Stages: {', '.join(s.name for s in stages)}. Ctrl-C stops.")
    if demo_feeds is not None:
        demo_feeds.begin()
    supervisor.start()
    try:
        while not stop_requested:
            supervisor.tick()
            time.sleep(0.5)
    finally:
        typer.echo("Stopping ...", err=True)
        supervisor.stop()
        if demo_feeds is not None:
            demo_feeds.stop()
        if started_broker:
            broker.stop(settings)
        typer.echo("Stopped.", err=True)
    sys.exit(0)


DEMO_FEEDS_TOPIC = "newsradar.demo.feeds"
DEMO_FEED_STATE_TOPIC = "newsradar.demo.feed-state"


def _sync_demo_feeds(settings: Settings, feed_list: Path) -> None:
    """Make the demo's feeds topic hold exactly this run's sample feeds (their ports change
    from run to run), with no state of an earlier run's."""
    from newsradar.compacted import read_table, write_table
    from producers.feeds import diff_feeds, feeds_of_table, load_feeds

    topics = settings.topics.model_copy(
        update={
            "feeds": settings.topics.feeds.model_copy(update={"name": DEMO_FEEDS_TOPIC}),
            "feed_state": settings.topics.feed_state.model_copy(
                update={"name": DEMO_FEED_STATE_TOPIC}
            ),
        }
    )
    demo = settings.model_copy(update={"topics": topics})
    ensure_topics(demo)
    current, _ = feeds_of_table(read_table(demo, DEMO_FEEDS_TOPIC))
    wanted = load_feeds(feed_list)
    diff = diff_feeds(current, wanted)
    write_table(demo, DEMO_FEEDS_TOPIC, diff.changes())
    stale = read_table(demo, DEMO_FEED_STATE_TOPIC)
    write_table(demo, DEMO_FEED_STATE_TOPIC, dict.fromkeys(stale))
    typer.echo(f"Demo: {DEMO_FEEDS_TOPIC} holds the {len(wanted)} sample feeds.")
