"""deploy/kafka/three-brokers for real: three KRaft nodes from the shipped properties (hosts and
ports rewritten to this machine), newsradar's topics created with three replicas from the
shipped newsradar.toml, and writes with acks=all still accepted with one node killed."""

from __future__ import annotations

import re
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from newsradar.broker import ensure_jars, find_java
from newsradar.kafka_admin import admin_client, describe_cluster, ensure_topics
from newsradar.settings import Settings, load_settings
from tests.conftest import REPO, free_ports

EXAMPLE = REPO / "deploy" / "kafka" / "three-brokers"


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[Settings, list[subprocess.Popen[bytes]]]]:
    ports = free_ports(6)
    clients, controllers = ports[:3], ports[3:]
    address = {
        f"kafka-{n}.internal:{kind}": f"127.0.0.1:{(clients if kind == 9092 else controllers)[n - 1]}"
        for n in (1, 2, 3)
        for kind in (9092, 9093)
    }

    def local(text: str) -> str:
        return re.sub(r"kafka-\d\.internal:909[23]", lambda m: address[m.group(0)], text)

    java = find_java()
    jars = ensure_jars()
    cluster_id = uuid.uuid4().hex[:22]
    procs: list[subprocess.Popen[bytes]] = []
    logs = []
    try:
        for n in (1, 2, 3):
            node = tmp_path / f"kafka-{n}"
            (node / "logs").mkdir(parents=True)
            props = local((EXAMPLE / f"broker-{n}.properties").read_text())
            props = props.replace("log.dirs=/var/lib/kafka/data", f"log.dirs={node / 'data'}")
            (node / "server.properties").write_text(props)
            jvm = [
                java, "-Xmx256m", "-XX:+UseG1GC", "-Djava.awt.headless=true",
                f"-Dlog4j2.configurationFile={REPO / 'deploy' / 'kafka' / 'log4j2.xml'}",
                f"-Dkafka.logs.dir={node / 'logs'}", "-cp", f"{jars}/*",
            ]  # fmt: skip
            subprocess.run(
                [*jvm, "kafka.tools.StorageTool", "format", "-t", cluster_id,
                 "-c", str(node / "server.properties")],
                check=True, capture_output=True, timeout=120,
            )  # fmt: skip
            log = (node / "console.log").open("wb")
            logs.append(log)
            procs.append(
                subprocess.Popen(
                    [*jvm, "kafka.Kafka", str(node / "server.properties")],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        config = tmp_path / "newsradar.toml"
        config.write_text(local((EXAMPLE / "newsradar.toml").read_text()))
        settings = load_settings(config, env={"NEWSRADAR_DATA_DIR": str(tmp_path / "data")})
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if len(describe_cluster(settings, timeout_seconds=5)["brokers"]) == 3:
                    break
            except Exception:
                pass
            time.sleep(1)
        yield settings, procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
            proc.wait(30)
        for log in logs:
            log.close()


def test_three_broker_example_replicates_and_survives_a_node(
    cluster: tuple[Settings, list[subprocess.Popen[bytes]]],
) -> None:
    settings, procs = cluster
    assert len(describe_cluster(settings)["brokers"]) == 3
    created = ensure_topics(settings)
    assert {t.name for t in created} == {
        "newsradar.articles",
        "newsradar.alerts",
        "newsradar.deadletter",
        "newsradar.rules",
        "newsradar.feeds",
        "newsradar.feed-state",
    }
    with admin_client(settings) as admin:
        described = admin.describe_topics(["newsradar.articles"])[0]
    assert len(described["partitions"]) == 24
    assert {len(p["replica_nodes"]) for p in described["partitions"]} == {3}

    servers = settings.bootstrap_servers
    producer = KafkaProducer(bootstrap_servers=servers, acks="all", retries=10)
    producer.send("newsradar.articles", key=b"a", value=b"before").get(60)
    procs[2].send_signal(signal.SIGKILL)  # one node gone: two replicas remain in sync
    procs[2].wait(30)
    producer.send("newsradar.articles", key=b"a", value=b"after").get(120)
    producer.close()

    consumer = KafkaConsumer(bootstrap_servers=servers[:2], group_id=None)
    partition = next(
        tp
        for tp in (TopicPartition("newsradar.articles", p) for p in range(24))
        if consumer.end_offsets([tp])[tp] > 0
    )
    consumer.assign([partition])
    consumer.seek_to_beginning(partition)
    values: list[bytes] = []
    deadline = time.monotonic() + 60
    while len(values) < 2 and time.monotonic() < deadline:
        for batch in consumer.poll(timeout_ms=1000).values():
            values.extend(m.value for m in batch)
    consumer.close()
    assert values == [b"before", b"after"]
