"""Names of the Kafka topics the stages talk through.

The defaults are the documented names; deployments may rename them in the ``[topics]`` config
section, so code reads names from :class:`newsradar.settings.TopicsSettings`, never from here
directly. This module only holds the defaults, in one place.
"""

from __future__ import annotations

from typing import Final

ARTICLES: Final = "newsradar.articles"
"""Normalized articles, keyed by article id; written by producers, read by processors."""

ALERTS: Final = "newsradar.alerts"
"""Alerts, keyed by alert id; written by processors, read by sinks."""

DEADLETTER: Final = "newsradar.deadletter"
"""Records any stage could not handle, with stage, error_type and reason."""

RULES: Final = "newsradar.rules"
"""Alert rules, compacted, keyed by rule id: the latest record of a key is the rule in force
(with the version ``rules push`` gave it), a tombstone removes it; read whole by every
processors worker."""

FEEDS: Final = "newsradar.feeds"
"""The feeds to poll (compacted), keyed by normalised feed URL; a tombstone removes a feed.
Written by ``newsradar feeds add/remove/import/sync``, read by the producers' consumer group."""

FEED_STATE: Final = "newsradar.feed-state"
"""Each feed's polling state (compacted), keyed like ``newsradar.feeds``: validators, backoff,
health; written by the producer polling the feed, read by ``feeds status`` and the dashboard."""
