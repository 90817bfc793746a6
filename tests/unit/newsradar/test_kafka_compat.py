"""kafka-python's failed connection attempts close their sockets (newsradar.kafka_compat)."""

from __future__ import annotations

import gc
import socket
import warnings

import kafka
import pytest

from newsradar import kafka_compat
from newsradar.errors import KafkaUnavailableError
from newsradar.kafka_admin import describe_cluster
from newsradar.settings import load_settings


def test_refused_connections_leave_no_socket_open() -> None:
    assert kafka_compat.installed()
    with socket.socket() as probe:  # a local port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = load_settings(None, env={"NEWSRADAR_KAFKA_BOOTSTRAP": f"127.0.0.1:{port}"})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        with pytest.raises(KafkaUnavailableError, match="did not answer"):
            describe_cluster(settings, timeout_seconds=0.5)
        gc.collect()
    leaked = [w for w in caught if issubclass(w.category, ResourceWarning)]
    assert leaked == []


def test_the_join_fix_is_installed_for_the_release_it_was_written_for() -> None:
    # A new kafka-python keeps its own join loop until the fix is checked against it.
    assert kafka.__version__ == kafka_compat.PATCHED_VERSION, (
        "kafka-python changed: check whether newsradar.kafka_compat's join fix is still needed"
    )
    assert kafka_compat.join_fix_installed()
