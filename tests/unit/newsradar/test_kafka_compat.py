"""kafka-python's failed connection attempts close their sockets (newsradar.kafka_compat)."""

from __future__ import annotations

import gc
import socket
import warnings

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
