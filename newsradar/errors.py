"""Errors shared by every newsradar stage.

    NewsradarError                 base: a message a user can act on (one line, names the fix)
    ├── ConfigError                a setting is missing, malformed or out of range (permanent)
    ├── SchemaError                a record does not match its schema (permanent: dead-letter it)
    ├── ToolMissingError           java or mvn is not installed (permanent until installed)
    ├── BrokerError                the local broker could not be started, stopped or reached
    │   ├── BrokerAlreadyRunning   a second ``broker start`` while one runs (permanent)
    │   ├── PortInUseError         a configured port is taken by another process (permanent)
    │   └── BrokerStartTimeout     the broker did not answer in time (transient: retry may work)
    └── KafkaUnavailableError      the cluster did not answer (transient: retry with backoff)

The CLI prints ``str(error)`` on one line and exits non-zero; no traceback for these.
"""

from __future__ import annotations


class NewsradarError(Exception):
    """An expected failure with a message that names the thing and the fix."""

    exit_code: int = 1


class ConfigError(NewsradarError):
    """A setting is missing, malformed or out of range."""

    exit_code = 2


class SchemaError(NewsradarError):
    """A record does not match its schema; it cannot be processed and belongs in dead-letter."""


class ToolMissingError(NewsradarError):
    """An external program newsradar needs (java, mvn) is not installed."""


class BrokerError(NewsradarError):
    """The local Kafka broker could not be started, stopped or reached."""


class BrokerAlreadyRunning(BrokerError):
    """``broker start`` was called while a broker from the same data directory runs."""


class PortInUseError(BrokerError):
    """A port the broker needs is held by another process."""


class BrokerStartTimeout(BrokerError):
    """The broker process started but did not answer within the configured timeout."""


class KafkaUnavailableError(NewsradarError):
    """The Kafka cluster did not answer; transient, callers may retry."""
