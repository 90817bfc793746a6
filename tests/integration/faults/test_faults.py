"""Faults mid-stream on a real broker; each ends with every expected alert stored once, POSTed
once, and nothing left in limbo (see Pipeline.settle)."""

from __future__ import annotations

import signal
import time

from newsradar import broker
from tests.feedserver import Reply
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


def test_sink_database_and_webhook_down_for_a_while(pipeline: Pipeline) -> None:
    pipeline.add_articles(10)
    pipeline.start_all()
    pipeline.wait_stored(2)
    # The receiver answers 503 and the store is locked by another writer for a while.
    pipeline.server.routes["/hook"] = Reply(503, headers={"Retry-After": "1"})
    import sqlite3

    locker = sqlite3.connect(pipeline.store, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    pipeline.add_articles(15, distractors=5)
    time.sleep(20)
    locker.execute("ROLLBACK")
    locker.close()
    pipeline.server.routes["/hook"] = Reply(204)
    pipeline.add_articles(5)
    pipeline.settle()


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
