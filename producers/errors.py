"""Errors of the producers stage.

    NewsradarError (newsradar.errors)
    ├── ConfigError
    │   └── FeedListError          the feed list is invalid (names the entry, key and fix)
    └── FeedError                  one feed could not be read this time; counted in its health
        ├── TransientFeedError     timeouts, refused connections, 5xx, 429: retried with backoff
        └── PermanentFeedError     4xx, not a feed, too large, bad scheme: retried slowly, reported
            └── FeedGoneError      410 Gone: polling stops, the feed is reported as gone

``error_class`` is the short name shown in feed health and used as a metric label.
"""

from __future__ import annotations

from newsradar.errors import ConfigError, NewsradarError


class FeedListError(ConfigError):
    """The feed list is invalid."""


class FeedError(NewsradarError):
    """A feed could not be fetched or parsed this time."""

    error_class = "error"

    def __init__(
        self, message: str, *, error_class: str | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        if error_class is not None:
            self.error_class = error_class
        self.retry_after = retry_after
        """Seconds the server asked us to wait (Retry-After), if it said."""


class TransientFeedError(FeedError):
    error_class = "transient"


class PermanentFeedError(FeedError):
    error_class = "permanent"


class FeedGoneError(PermanentFeedError):
    error_class = "gone"
