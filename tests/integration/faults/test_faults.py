"""Faults mid-stream on a real broker; each ends with every expected alert stored once, POSTed
once, and nothing left in limbo (see Pipeline.settle)."""

from __future__ import annotations

import signal
import sqlite3
import time
from collections import Counter
from pathlib import Path

import pytest

from newsradar import broker
from newsradar.kafka_admin import ensure_topics
from tests.feedserver import Reply, feed_server
from tests.integration.conftest import PostgresServer
from tests.integration.faults.conftest import Pipeline


def test_broker_stopped_mid_stream_and_restarted(pipeline: Pipeline) -> None:
    pipeline.add_articles(10, distractors=5)
    pipeline.start_all()
    pipeline.wait_stored(3)
    broker.stop(pipeline.settings)
    pipeline.add_articles(10, distractors=5)  # published while Kafka is away
    time.sleep(8)
    broker.start(pipeline.settings)
    pipeline.add_articles(5)
    pipeline.settle()


def test_processor_killed_with_sigkill_mid_stream_and_restarted(pipeline: Pipeline) -> None:
    pipeline.add_articles(15, distractors=5)
    pipeline.start_all()
    pipeline.wait_stored(2)
    pipeline.stop("processors", signal.SIGKILL)
    pipeline.add_articles(15, distractors=5)
    time.sleep(3)
    pipeline.start("processors", "processors", "run")
    pipeline.add_articles(5)
    pipeline.settle()


def test_a_second_processor_joins_and_leaves_mid_stream(pipeline: Pipeline) -> None:
    pipeline.add_articles(10)
    pipeline.start_all()
    pipeline.wait_stored(2)
    pipeline.start("processors-2", "processors", "run")
    pipeline.add_articles(15, distractors=5)
    time.sleep(10)  # the group rebalances over both workers
    pipeline.add_articles(10)
    pipeline.stop("processors-2")  # leaves cleanly: its partitions go back
    pipeline.add_articles(10)
    pipeline.settle()


@pytest.fixture
def database(postgres_server: PostgresServer) -> str:
    """A fresh database on the session's PostgreSQL server; its DSN."""
    import psycopg

    name = f"faults_{time.time_ns()}"
    with psycopg.connect(postgres_server.dsn, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    return postgres_server.dsn.rsplit("/", 1)[0] + f"/{name}"


def stored_in(dsn: str) -> Counter[str]:
    import psycopg

    with psycopg.connect(dsn) as db:
        rows = db.execute("SELECT article_url FROM alerts WHERE rule_id = 'iraq-russia'")
        return Counter(url for (url,) in rows.fetchall())


def test_sink_databases_and_webhook_down_for_a_while(
    tmp_path: Path, postgres_server: PostgresServer, database: str
) -> None:
    with feed_server() as server:
        pipeline = Pipeline(
            tmp_path, server, f"[sinks.postgres]\nenabled = true\ndsn = '{database}'\n"
        )
        broker.start(pipeline.settings)
        try:
            ensure_topics(pipeline.settings)
            pipeline.add_articles(10)
            pipeline.start_all()
            pipeline.wait_stored(2)
            # The PostgreSQL server stops, the SQLite store is locked by another writer, and
            # the webhook receiver answers 503, for a while.
            postgres_server.stop()
            pipeline.server.routes["/hook"] = Reply(503, headers={"Retry-After": "1"})
            locker = sqlite3.connect(pipeline.store, isolation_level=None)
            locker.execute("BEGIN EXCLUSIVE")
            try:
                pipeline.add_articles(15, distractors=5)
                time.sleep(20)
            finally:
                locker.execute("ROLLBACK")
                locker.close()
                postgres_server.start()
            pipeline.server.routes["/hook"] = Reply(204)
            pipeline.add_articles(5)
            pipeline.settle(sink_groups=("sqlite", "webhook-ops", "postgres"))
            in_postgres = stored_in(database)
            assert set(in_postgres) == pipeline.expected
            assert max(in_postgres.values()) == 1
        finally:
            pipeline.close()


def test_producer_killed_mid_poll_and_restarted(pipeline: Pipeline) -> None:
    slow = {"on": False}
    items = pipeline.items

    def feed(_headers: dict[str, str]) -> Reply:
        if slow["on"]:
            time.sleep(5)  # the poll is in flight when the producer dies
        from tests.feedserver import rss

        return Reply(200, rss(items[-200:]))

    pipeline.server.routes["/feed.xml"] = feed
    pipeline.add_articles(10)
    pipeline.start_all()
    pipeline.wait_stored(3)
    slow["on"] = True
    pipeline.add_articles(10, distractors=5)
    polls = len(pipeline.server.hits("/feed.xml"))
    deadline = time.monotonic() + 30
    while len(pipeline.server.hits("/feed.xml")) == polls and time.monotonic() < deadline:
        time.sleep(0.1)
    pipeline.stop("producers", signal.SIGKILL)
    slow["on"] = False
    pipeline.start("producers", "producers", "run")
    pipeline.add_articles(5)
    pipeline.settle()
