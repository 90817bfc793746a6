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

The CLI prints ``str(error)`` on one line and exits non-zero; no traceback for these. Exit
codes (README "Exit codes"; systemd's ``RestartPreventExitStatus=`` names ``EXIT_CONFIG``):

    0  success
    1  EXIT_FAILURE  the command failed (a broker, a feed or a sink did not answer; nothing found)
    2  EXIT_USAGE    the command line is wrong (unknown option, bad value): click's own code
    3  EXIT_CONFIG   a config file, setting, rule or feed list is wrong: fix it, do not retry
    130              interrupted (Ctrl-C)
"""

from __future__ import annotations

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_CONFIG = 3


class NewsradarError(Exception):
    """An expected failure with a message that names the thing and the fix."""

    exit_code: int = EXIT_FAILURE


class ConfigError(NewsradarError):
    """A setting is missing, malformed or out of range; retrying cannot help."""

    exit_code = EXIT_CONFIG


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
