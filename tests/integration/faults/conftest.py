"""A whole pipeline on its own broker, for fault injection: a local feed that grows, producers,
processors, sinks (SQLite store + a webhook to a local receiver), each a real process the tests
can kill, stop and restart. Every fault test ends with :meth:`Pipeline.settle`: each expected
alert stored once and POSTed once, nothing pending in the producers, no sink lag."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from newsradar import broker
from newsradar.kafka_admin import ensure_topics
from newsradar.settings import Settings, load_settings
from producers.state import ProducerState
from tests.conftest import REPO, clean_env
from tests.feedserver import FeedServer, Reply, feed_server, rss
from tests.integration.conftest import broker_env

RELEVANT = (
    "Iraqi and Russian ministers met in Baghdad to discuss oil investment and an arms purchase."
)


class Pipeline:
    def __init__(self, root: Path, server: FeedServer, extra_config: str = "") -> None:
        self.root = root
        self.server = server
        self.env = broker_env(
            root / "broker",
            NEWSRADAR_TOPICS__ARTICLES__PARTITIONS="4",
            NEWSRADAR_TOPICS__ALERTS__PARTITIONS="4",
        )
        self.settings: Settings = load_settings(None, env=self.env)
        self.items: list[dict[str, str]] = []
        self.expected: set[str] = set()
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.store = root / "alerts.sqlite"
        feeds = root / "feeds.json"
        feeds.write_text(json.dumps({"feeds": [{"url": server.url("/feed.xml")}]}))
        server.routes["/feed.xml"] = lambda _headers: Reply(200, rss(self.items[-200:]))
        server.routes["/hook"] = Reply(204)
        config = root / "newsradar.toml"
        config.write_text(
            f'[[sinks.webhooks]]\nname = "ops"\nurl = "{server.url("/hook")}"\n'
            f"[sinks.sqlite]\npath = {json.dumps(str(self.store))}\n{extra_config}"
        )
        self.service_env = {
            **self.env,
            # Each service has its own state directory, so they share the broker by address.
            "NEWSRADAR_KAFKA_BOOTSTRAP": self.settings.bootstrap_servers[0],
            "NEWSRADAR_CONFIG": str(config),
            "NEWSRADAR_PRODUCERS__FEEDS_FILE": str(feeds),
            "NEWSRADAR_PRODUCERS__METRICS_PORT": "0",
            "NEWSRADAR_PRODUCERS__MIN_INTERVAL_SECONDS": "1",
            "NEWSRADAR_PRODUCERS__DEFAULT_INTERVAL_SECONDS": "1",
            "NEWSRADAR_PRODUCERS__MAX_INTERVAL_SECONDS": "2",
            "NEWSRADAR_PRODUCERS__MAX_BACKOFF_SECONDS": "2",
            "NEWSRADAR_PRODUCERS__PER_HOST_DELAY_SECONDS": "0",
            "NEWSRADAR_PROCESSORS__METRICS_PORT": "0",
            "NEWSRADAR_SINKS__METRICS_PORT": "0",
            "NEWSRADAR_SINKS__RETRY_MAX_SECONDS": "2",
        }

    # -- the feed -------------------------------------------------------------------------

    def add_articles(self, relevant: int, distractors: int = 0) -> None:
        """Put new items in the feed; the relevant ones must each become one alert."""
        for _ in range(relevant):
            n = len(self.items)
            url = f"https://news.example/iraq-russia/{n}"
            self.items.append(
                {
                    "title": f"Iraq and Russia sign energy deal {n}",
                    "link": url,
                    "guid": f"ir-{n}",
                    "description": RELEVANT,
                }
            )
            self.expected.add(url)
        for _ in range(distractors):
            n = len(self.items)
            self.items.append(
                {
                    "title": f"Football: derby ends in a draw {n}",
                    "link": f"https://news.example/sport/{n}",
                    "guid": f"sport-{n}",
                    "description": "The local derby ended goalless.",
                }
            )

    # -- processes ------------------------------------------------------------------------

    def start(self, name: str, *args: str, **env: str) -> subprocess.Popen[bytes]:
        """``newsradar ARGS`` as service ``name``, with its own state directory."""
        log = (self.root / f"{name}.log").open("ab")
        proc = subprocess.Popen(
            [sys.executable, "-m", "newsradar", *args],
            cwd=REPO,
            env=clean_env(
                **{**self.service_env, "NEWSRADAR_DATA_DIR": str(self.root / name), **env}
            ),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.procs[name] = proc
        return proc

    def start_all(self) -> None:
        self.start("processors", "processors", "run")
        self.start("sinks", "sinks", "run")
        self.start("producers", "producers", "run")

    def stop(self, name: str, sig: int = signal.SIGTERM) -> None:
        proc = self.procs.pop(name)
        proc.send_signal(sig)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def alive(self) -> None:
        dead = {n: p.returncode for n, p in self.procs.items() if p.poll() is not None}
        assert not dead, f"services exited: {dead}; see {self.root}/*.log"

    # -- what came out --------------------------------------------------------------------

    def stored(self) -> Counter[str]:
        if not self.store.exists():
            return Counter()
        db = sqlite3.connect(self.store)
        try:
            rows = db.execute(
                "SELECT article_url FROM alerts WHERE rule_id = 'iraq-russia'"
            ).fetchall()
        except sqlite3.OperationalError:  # not migrated yet
            return Counter()
        finally:
            db.close()
        return Counter(url for (url,) in rows)

    def posted(self) -> Counter[str]:
        """Alerts the webhook receiver accepted (answered 2xx), by article."""
        return Counter(
            json.loads(body)["article_url"]
            for path, body in self.server.accepted
            if path == "/hook" and b'"rule_id": "iraq-russia"' in body
        )

    def wait_stored(self, count: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while len(self.stored()) < count and time.monotonic() < deadline:
            self.alive()
            time.sleep(0.5)
        assert len(self.stored()) >= count, f"{len(self.stored())} of {count} alerts stored"

    def settle(
        self, timeout: float = 180, sink_groups: tuple[str, ...] = ("sqlite", "webhook-ops")
    ) -> None:
        """Wait for every expected alert, then check: stored once, POSTed once, no limbo."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if set(self.stored()) >= self.expected and set(self.posted()) >= self.expected:
                break
            time.sleep(0.5)
        time.sleep(3)  # room for a late duplicate to show itself
        self.alive()
        stored, posted = self.stored(), self.posted()
        assert set(stored) == self.expected
        assert set(posted) == self.expected
        assert max(stored.values()) == 1
        assert [url for url, n in posted.items() if n > 1] == []
        state = ProducerState(self.root / "producers" / "producers" / "state.sqlite")
        try:
            assert state.pending_count() == 0
        finally:
            state.close()
        self.assert_no_lag(sink_groups)

    def assert_no_lag(self, sinks: tuple[str, ...]) -> None:
        """Every sink's consumer group committed up to the end of the alerts topic."""
        from kafka import KafkaConsumer, TopicPartition

        topic = self.settings.topics.alerts.name
        partitions = [TopicPartition(topic, p) for p in range(4)]
        for group in (f"newsradar-sinks-{sink}" for sink in sinks):
            # committed() asks the group coordinator without joining the group.
            consumer = KafkaConsumer(
                bootstrap_servers=self.settings.bootstrap_servers,
                group_id=group,
                enable_auto_commit=False,
            )
            try:
                deadline = time.monotonic() + 30
                while True:
                    ends = consumer.end_offsets(partitions)
                    lag = sum(ends[tp] - (consumer.committed(tp) or 0) for tp in partitions)
                    if lag == 0 or time.monotonic() > deadline:
                        break
                    time.sleep(1)
            finally:
                consumer.close(autocommit=False)
            assert lag == 0, f"{group} is {lag} alerts behind"

    def close(self) -> None:
        for name in list(self.procs):
            self.stop(name)
        broker.stop(self.settings)


@pytest.fixture
def pipeline(tmp_path: Path) -> Iterator[Pipeline]:
    with feed_server() as server:
        made = Pipeline(tmp_path, server)
        broker.start(made.settings)
        try:
            ensure_topics(made.settings)
            yield made
        finally:
            made.close()
