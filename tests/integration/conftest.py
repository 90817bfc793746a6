"""Real services for integration tests: one Kafka broker for the whole session.

The broker is the project's own local broker (``newsradar.broker``), started on free ports in a
temporary data directory, torn down at the end. When any test failed, its logs are copied to
``test-logs/kafka/`` so CI can show them.
"""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from newsradar import broker
from newsradar.kafka_admin import ensure_topics
from newsradar.settings import Settings, load_settings
from tests.conftest import REPO


def free_ports(count: int) -> list[int]:
    socks = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


@dataclass(frozen=True)
class KafkaEnv:
    """A running broker: its settings, and the environment that points a process at it."""

    settings: Settings
    env: dict[str, str]

    @property
    def bootstrap(self) -> str:
        return self.settings.bootstrap_servers[0]

    def process_env(self, **extra: str) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith("NEWSRADAR_")}
        return {**base, **self.env, **extra}


def broker_env(data_dir: Path, **extra: str) -> dict[str, str]:
    port, controller = free_ports(2)
    return {
        "NEWSRADAR_DATA_DIR": str(data_dir),
        "NEWSRADAR_BROKER__PORT": str(port),
        "NEWSRADAR_BROKER__CONTROLLER_PORT": str(controller),
        **extra,
    }


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
