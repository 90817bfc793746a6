"""``newsradar dashboard run``: the web dashboard over the embedded alert store."""

from __future__ import annotations

import asyncio
import socket

import typer

from newsradar.cli.context import state
from newsradar.errors import ConfigError, NewsradarError

app = typer.Typer(help="Serve the web dashboard.", no_args_is_help=True)


@app.command("run")
def run(ctx: typer.Context) -> None:
    """Serve the dashboard (live alerts, filters, detail, pair chart, feed health)."""
    settings = state(ctx).settings()
    conf = settings.dashboard
    if not settings.sinks.sqlite.enabled:
        raise NewsradarError(
            "the dashboard reads the embedded SQLite store, and sinks.sqlite is off; "
            "enable [sinks.sqlite] (it can run beside PostgreSQL)"
        )
    unprotected = settings.dashboard.unprotected("dashboard")
    if unprotected is not None:
        raise ConfigError(unprotected)
    from aiohttp import web

    from sinks.dashboard.app import IDLE_TIMEOUT_SECONDS, create_app

    # Bind first, so a busy port is one clear line rather than a traceback.
    sock = socket.socket(socket.AF_INET6 if ":" in conf.host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((conf.host, conf.port))
    except OSError as exc:
        sock.close()
        raise NewsradarError(
            f"dashboard.port {conf.port} on {conf.host} is not free ({exc.strerror}); "
            "set dashboard.port to another port"
        ) from None
    access = " (access token: dashboard.token)" if conf.token is not None else ""
    typer.echo(f"Dashboard at http://{conf.host}:{conf.port}/{access}", err=True)
    # Open live streams never end on their own: the app ends them on shutdown (and the
    # timeout bounds the rest).
    web.run_app(
        create_app(settings),
        sock=sock,
        print=None,
        handle_signals=True,
        loop=asyncio.new_event_loop(),
        shutdown_timeout=2.0,
        keepalive_timeout=IDLE_TIMEOUT_SECONDS,
        access_log=None,
    )
