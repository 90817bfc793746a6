"""One log format for every service: ``time level component Message. key=value ...``.

Messages are capitalised events ending with a period; the context (feed URL, topic/partition/
offset) rides along as ``key=value`` pairs so logs can be grepped and parsed.
"""

from __future__ import annotations

import logging
import sys

FORMAT = "%(asctime)s %(levelname)-7s %(name)s %(message)s"


def setup_logging(level: str = "INFO") -> None:
    root = logging.getLogger()
    if any(getattr(h, "_newsradar", False) for h in root.handlers):
        root.setLevel(level)
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT, datefmt="%Y-%m-%dT%H:%M:%S"))
    handler._newsradar = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # kafka-python logs every refused connection at ERROR while it retries; newsradar reports
    # the outcome itself (one line naming the cluster), so the client's own chatter stays out
    # unless asked for with --log-level DEBUG.
    client_level = logging.DEBUG if root.level <= logging.DEBUG else logging.CRITICAL
    logging.getLogger("kafka").setLevel(client_level)
    # httpx logs every request's full URL at INFO, and URLs can be credentials (a webhook's or
    # Slack's path is its token): its request lines stay out at every level.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # Apprise's debug lines and those of the HTTP client under it (urllib3) carry whole service
    # URLs, bot tokens in them (its warnings name only the service): they stay out likewise.
    logging.getLogger("apprise").setLevel(logging.WARNING)
    logging.getLogger("urllib3").setLevel(logging.WARNING)
