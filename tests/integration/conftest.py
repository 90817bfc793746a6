"""Real services for integration tests: one Kafka broker for the whole session.

The broker is the project's own local broker (``newsradar.broker``), started on free ports in a
temporary data directory, torn down at the end. When any test failed, its logs are copied to
``test-logs/kafka/`` so CI can show them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any, TypeVar

import pytest
from kafka import KafkaConsumer, TopicPartition

from newsradar import (
    broker,
    kafka_compat,  # noqa: F401  (closes sockets of failed connects)
)
from newsradar.errors import SchemaError
from newsradar.kafka_admin import ensure_topics
from newsradar.schemas import Record, decode
from newsradar.settings import Settings, load_settings
from tests.conftest import REPO, clean_env, free_ports, reference_text

T = TypeVar("T")
R = TypeVar("R", bound=Record)


def decoded(model: type[R], message: Any) -> R | None:
    """The message as a ``model`` record, or None: tests share topics, and some put malformed
    records on them on purpose."""
    try:
        return decode(model, message.value)
    except SchemaError:
        return None


@dataclass(frozen=True)
class KafkaEnv:
    """A running broker: its settings, and the environment that points a process at it."""

    settings: Settings
    env: dict[str, str]

    @property
    def bootstrap(self) -> str:
        return self.settings.bootstrap_servers[0]

    def process_env(self, **extra: str) -> dict[str, str]:
        return clean_env(**{**self.env, **extra})

    def consume(
        self,
        topic: str,
        pick: Callable[[Any], T | None],
        *,
        want: int = 1,
        worker: subprocess.Popen[bytes] | None = None,
        timeout_seconds: float = 90,
    ) -> list[T]:
        """Read ``topic`` from the start until ``pick`` returned ``want`` items (or time runs
        out, or ``worker`` exits); ``pick`` maps a message to an item or None to skip it."""
        consumer = KafkaConsumer(
            topic,
            bootstrap_servers=self.bootstrap,
            group_id=f"check-{time.time_ns()}",
            auto_offset_reset="earliest",
        )
        found: list[T] = []
        deadline = time.monotonic() + timeout_seconds
        try:
            while len(found) < want and time.monotonic() < deadline:
                if worker is not None and worker.poll() is not None:
                    break
                for batch in consumer.poll(timeout_ms=1000).values():
                    for message in batch:
                        item = pick(message)
                        if item is not None:
                            found.append(item)
        finally:
            consumer.close()
        return found

    def read_to_end(self, topic: str, pick: Callable[[Any], T | None]) -> list[T]:
        """Every message of ``topic`` up to its end as of this call, mapped by ``pick`` (None
        skips one): for checks that a record went out exactly once, which must see all of them
        however slow the machine, not as many as a timeout allowed."""
        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
        try:
            partitions = [
                TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))
            ]
            consumer.assign(partitions)
            consumer.seek_to_beginning(*partitions)
            end = consumer.end_offsets(partitions)
            found: list[T] = []
            deadline = time.monotonic() + 120
            while any(consumer.position(tp) < end[tp] for tp in partitions):
                assert time.monotonic() < deadline, f"{topic} not read to its end in 120 s"
                for batch in consumer.poll(timeout_ms=1000).values():
                    for message in batch:
                        if message.offset < end[TopicPartition(message.topic, message.partition)]:
                            item = pick(message)
                            if item is not None:
                                found.append(item)
        finally:
            consumer.close()
        return found


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A failed test's report carries the end of every service log in its ``tmp_path`` (the
    producers of a failover test, say), so CI's output says what the services did."""
    report = yield
    tmp = getattr(item, "funcargs", {}).get("tmp_path")
    if report.when == "call" and report.failed and isinstance(tmp, Path):
        for log in sorted(tmp.rglob("*.log")):
            text = log.read_text(errors="replace")[-8000:]
            report.sections.append(
                (f"Captured {log.relative_to(tmp)} (last 8000 characters)", text)
            )
    return report


def reference_feed_items(run: int) -> tuple[str, list[dict[str, str]]]:
    """RSS items: the reference article (unique to ``run``) and a sports distractor; and the
    article's title as it reads in the alert."""
    title, body = reference_text()
    items = [
        {
            "title": escape(title[:120]),
            "link": f"https://elaph.example/{run}/iraq-russia",
            "guid": f"elaph-{run}",
            "description": escape(body),
            "pubDate": "Thu, 26 Nov 2026 10:00:00 GMT",
        },
        {
            "title": "Football results",
            "link": f"https://sport.example/{run}",
            "guid": f"sport-{run}",
            "description": "Local derby ends in a draw.",
        },
    ]
    return title, items


def broker_env(data_dir: Path, **extra: str) -> dict[str, str]:
    port, controller = free_ports(2)
    return {
        "NEWSRADAR_DATA_DIR": str(data_dir),
        "NEWSRADAR_BROKER__PORT": str(port),
        "NEWSRADAR_BROKER__CONTROLLER_PORT": str(controller),
        **extra,
    }


@contextmanager
def service(
    kafka: KafkaEnv, args: list[str], log_path: Path, **env: str
) -> Iterator[subprocess.Popen[bytes]]:
    """``newsradar ARGS`` running against ``kafka``; stopped with SIGTERM on exit. Its output
    goes to ``log_path`` and is printed when it did not stop cleanly.

    Producers get their own feeds and feed-state topics and group on the session's broker
    (unless ``env`` names them), so each test polls the feeds of its own feed list (the seed
    of an empty feeds topic) and no feed state of another test."""
    if args[:2] == ["producers", "run"]:
        run = f"{time.time_ns()}"
        env.setdefault("NEWSRADAR_TOPICS__FEEDS__NAME", f"newsradar.feeds-{run}")
        env.setdefault("NEWSRADAR_TOPICS__FEED_STATE__NAME", f"newsradar.feed-state-{run}")
        env.setdefault("NEWSRADAR_PRODUCERS__GROUP_ID", f"newsradar-producers-{run}")
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "newsradar", *args],
            cwd=REPO,
            env=kafka.process_env(**env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.returncode not in (0, -15):
                print(log_path.read_text(errors="replace")[-5000:])


@dataclass(frozen=True)
class Worker:
    proc: subprocess.Popen[bytes]
    metrics_url: str


@pytest.fixture(scope="session")
def processors_worker(
    kafka: KafkaEnv, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Worker]:
    """One real processors worker for the session, with its metrics on a free port."""
    (port,) = free_ports(1)
    log_path = tmp_path_factory.mktemp("processors") / "worker.log"
    with service(
        kafka, ["processors", "run"], log_path, NEWSRADAR_PROCESSORS__METRICS_PORT=str(port)
    ) as proc:
        yield Worker(proc, f"http://127.0.0.1:{port}/metrics")


@pytest.fixture(scope="session")
def kafka(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[KafkaEnv]:
    data_dir = tmp_path_factory.mktemp("kafka-session")
    env = broker_env(
        data_dir,
        NEWSRADAR_TOPICS__ARTICLES__PARTITIONS="4",
        NEWSRADAR_TOPICS__ALERTS__PARTITIONS="4",
    )
    settings = load_settings(None, env=env)
    broker.start(settings)
    try:
        ensure_topics(settings)
        yield KafkaEnv(settings, env)
    finally:
        broker.stop(settings)
        if request.session.testsfailed:
            keep = REPO / "test-logs" / "kafka"
            shutil.rmtree(keep, ignore_errors=True)
            shutil.copytree(broker.BrokerPaths.for_settings(settings).logs, keep)


def _postgres_bin() -> Path:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: p.parts)
    if not versions:
        pytest.fail(
            "PostgreSQL server binaries not found under /usr/lib/postgresql: "
            "install Debian's postgresql (scripts/test.sh does)"
        )
    return versions[-1].parent


@dataclass
class PostgresServer:
    """A real PostgreSQL server (Debian's binaries) that tests can stop and start again."""

    bindir: Path
    root: Path
    port: int
    as_postgres: list[str]

    @property
    def dsn(self) -> str:
        return f"postgresql://newsradar@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        subprocess.run([*self.as_postgres, *args], check=True, capture_output=True, timeout=120)

    def init(self) -> None:
        data = str(self.root / "data")
        self._run(
            str(self.bindir / "initdb"), "-D", data, "-U", "newsradar", "--auth=trust", "-E", "UTF8"
        )

    def start(self) -> None:
        self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.root / "data"),
            "-l", str(self.root / "server.log"), "-w", "start",
            "-o", f"-p {self.port} -k {self.root / 'sockets'} -c listen_addresses=127.0.0.1",
        )  # fmt: skip

    def stop(self) -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.root / "data"), "-m", "fast",
                  "-w", "stop")  # fmt: skip


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL server for the session, on a free port."""
    root = Path(tempfile.mkdtemp(prefix="newsradar-pg-"))
    (root / "sockets").mkdir()
    as_postgres: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root
        shutil.chown(root, "postgres")
        shutil.chown(root / "sockets", "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    (port,) = free_ports(1)
    server = PostgresServer(_postgres_bin(), root, port, as_postgres)
    server.init()
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres(postgres_server: PostgresServer) -> str:
    """The DSN of the session's PostgreSQL server."""
    return postgres_server.dsn
