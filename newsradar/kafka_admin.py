"""Talking to the Kafka cluster as an administrator: is it there, and are our topics there.

Every service calls :func:`ensure_topics` on start, so a fresh cluster needs no manual step.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NamedTuple

from kafka import KafkaAdminClient
from kafka.errors import KafkaError, TopicAlreadyExistsError
from kafka.net.compat import KafkaNetClient

from newsradar import kafka_compat  # noqa: F401  (closes sockets of failed connects)
from newsradar.errors import KafkaUnavailableError
from newsradar.settings import Settings, TopicSpec

log = logging.getLogger(__name__)


@contextmanager
def admin_client(settings: Settings, timeout_seconds: float = 30.0) -> Iterator[Any]:
    """A connected admin client, closed on exit; :class:`KafkaUnavailableError` if none answers."""
    servers = ",".join(settings.bootstrap_servers)
    options = settings.kafka.client_options()
    options["request_timeout_ms"] = int(timeout_seconds * 1000)
    made: list[Any] = []

    def network_client(**configs: Any) -> Any:
        made.append(KafkaNetClient(**configs))
        return made[-1]

    try:
        client = KafkaAdminClient(
            bootstrap_servers=settings.bootstrap_servers,
            bootstrap_timeout_ms=int(timeout_seconds * 1000),
            kafka_client=network_client,
            **options,
        )
    except KafkaError as exc:
        # A failed bootstrap leaves the admin client's network thread and sockets open and
        # gives us no client to close: close them through the network client it made.
        for network in made:
            network.close()
            network._manager._net.stop()
        raise KafkaUnavailableError(
            f"Kafka at {servers} did not answer within {timeout_seconds:g}s "
            f"({type(exc).__name__}); "
            "start the local broker with `newsradar broker start` or check kafka.bootstrap"
        ) from None
    try:
        yield client
    finally:
        client.close()


def describe_cluster(settings: Settings, timeout_seconds: float = 30.0) -> dict[str, Any]:
    """The cluster's id, controller and brokers, as the admin API reports them."""
    with admin_client(settings, timeout_seconds) as client:
        try:
            result: dict[str, Any] = client.describe_cluster()
        except KafkaError as exc:
            raise KafkaUnavailableError(
                f"Kafka at {','.join(settings.bootstrap_servers)} failed to describe the cluster: "
                f"{type(exc).__name__}: {exc}"
            ) from None
        return result


@dataclass(frozen=True)
class TopicResult:
    name: str
    partitions: int
    created: bool


class InternalTopic(NamedTuple):
    """A topic a stage uses for itself (faust's repartition and changelog topics): created
    before the stage subscribes, so that it is in the metadata its consumer starts with."""

    name: str
    partitions: int
    configs: tuple[tuple[str, str], ...] = ()
    """Topic configs (``("cleanup.policy", "compact")`` ...)."""


def ensure_topics(
    settings: Settings,
    timeout_seconds: float = 30.0,
    internal: Sequence[InternalTopic] = (),
) -> list[TopicResult]:
    """Create the configured topics, and ``internal`` ones, that do not exist yet; leave
    existing ones as they are."""
    specs = [
        *settings.topics.all(),
        *(TopicSpec(name=t.name, partitions=t.partitions) for t in internal),
    ]
    configs = {t.name: dict(t.configs) for t in internal}
    for spec in settings.topics.all():
        if spec.compacted:
            configs[spec.name] = {"cleanup.policy": "compact"}
    with admin_client(settings, timeout_seconds) as client:
        try:
            existing = {
                t["name"]: len(t["partitions"])
                for t in client.describe_topics([s.name for s in specs])
                if t["error_code"] == 0
            }
            missing = {
                s.name: {
                    "num_partitions": s.partitions,
                    "replication_factor": settings.topics.replication_factor,
                    "configs": configs.get(s.name, {}),
                }
                for s in specs
                if s.name not in existing
            }
            if missing:
                # Another service may create them between describe and create: that is fine.
                with contextlib.suppress(TopicAlreadyExistsError):
                    client.create_topics(missing, wait_for_metadata=True)
        except KafkaError as exc:
            raise KafkaUnavailableError(
                f"could not create topics on {','.join(settings.bootstrap_servers)}: "
                f"{type(exc).__name__}: {exc}"
            ) from None
    results = []
    for spec in specs:
        created = spec.name in missing
        partitions = spec.partitions if created else existing[spec.name]
        if not created and partitions != spec.partitions:
            log.warning(
                "Topic partition count differs from config. topic=%s partitions=%d configured=%d",
                spec.name,
                partitions,
                spec.partitions,
            )
        results.append(TopicResult(spec.name, partitions, created))
    return results
