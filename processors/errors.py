"""Errors of the processors stage.

    NewsradarError (newsradar.errors)
    ├── SchemaError                  an input record is malformed: dead-letter it (permanent)
    └── DataFileError                a gazetteer, topic, morphology or rule file is invalid
        └── RuleFileError            a rule file is invalid (names rule, key and fix)

A faust agent catches every exception per event and dead-letters the record with its
``error_type``; nothing escapes an agent (an escaping exception would ack the message).
"""

from __future__ import annotations

from newsradar.errors import ConfigError


class DataFileError(ConfigError):
    """A data file of the detection engine is missing or invalid."""


class RuleFileError(DataFileError):
    """A rule file is invalid; the message names the rule, the key and what is allowed."""
