"""``newsradar up``: run the whole pipeline on this machine until Ctrl-C.

Uses the configured Kafka or starts the local broker, creates the topics, then runs each stage
as a supervised child process (restarted with backoff if it crashes) with one combined log.
Ctrl-C stops the stages, then the broker if ``up`` started it.
"""

from __future__ import annotations

import signal
import sys
import time
from types import FrameType

import typer

from newsradar import broker
from newsradar.cli.context import state
from newsradar.kafka_admin import ensure_topics
from newsradar.supervisor import STAGES, Supervisor


def up(ctx: typer.Context) -> None:
    """Start Kafka (unless external), create topics, run every stage until Ctrl-C."""
    cli = state(ctx)
    settings = cli.settings()
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

    supervisor = Supervisor(STAGES, config_file=cli.config_file, log_level=cli.log_level)
    stop_requested = False

    def request_stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stop_requested
        stop_requested = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    typer.echo(f"Kafka: {','.join(settings.bootstrap_servers)}")
    typer.echo(f"Data directory: {settings.data_dir.resolve()}")
    for name, conf in (("producers", settings.producers), ("processors", settings.processors)):
        if conf.metrics_port:
            typer.echo(f"Metrics ({name}): http://{conf.metrics_host}:{conf.metrics_port}/metrics")
    typer.echo("Feed health: newsradar feeds status")
    typer.echo(f"Stages: {', '.join(s.name for s in STAGES) or 'none yet'}. Ctrl-C stops.")
    supervisor.start()
    try:
        while not stop_requested:
            supervisor.tick()
            time.sleep(0.5)
    finally:
        typer.echo("Stopping ...", err=True)
        supervisor.stop()
        if started_broker:
            broker.stop(settings)
        typer.echo("Stopped.", err=True)
    sys.exit(0)
