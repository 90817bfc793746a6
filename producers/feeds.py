"""The feed list: which feeds to poll, and what we know of each before reading it."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from producers.errors import FeedListError

DEFAULT_FEEDS = Path(__file__).resolve().parent / "data" / "feeds.yaml"


def check_scheme(url: str) -> str:
    """``url`` if it is http(s) with a host; ValueError naming the fix otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"scheme {parts.scheme or '(none)'!r} is not allowed; use http or https")
    if not parts.hostname:
        raise ValueError("URL has no host")
    return url


class FeedSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str
    name: str = ""
    language: str = Field(default="", pattern=r"^([a-z]{2,3}(-[A-Za-z0-9]+)?)?$")
    """ISO 639-1 hint; empty: from the feed (xml:lang) or detected."""
    country: str = Field(default="", pattern=r"^([A-Z]{2})?$")
    """ISO 3166-1 alpha-2 of the source."""
    tags: tuple[str, ...] = ()
    poll_interval_seconds: float | None = Field(default=None, ge=1)

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return check_scheme(value)

    @property
    def label(self) -> str:
        return self.name or self.url


def load_feeds(path: Path | None = None) -> list[FeedSpec]:
    """Read and validate a feed list; every problem is reported with its index and key."""
    path = path or DEFAULT_FEEDS
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FeedListError(f"{path}: cannot read feed list: {exc}") from None
    try:
        data: Any = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise FeedListError(f"{path}: feed list is not valid YAML/TOML: {exc}") from None
    if not isinstance(data, Mapping) or not isinstance(data.get("feeds"), list):
        raise FeedListError(f"{path}: a feed list holds a list under the key `feeds`")
    feeds: list[FeedSpec] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(data["feeds"]):
        url = item.get("url") if isinstance(item, Mapping) else None
        if isinstance(url, str):
            if url in seen:
                problems.append(f"{path}: feeds[{i}].url: duplicate of feeds[{seen[url]}]")
            seen.setdefault(url, i)
        try:
            feed = FeedSpec.model_validate(item)
        except ValidationError as exc:
            for err in exc.errors():
                loc = ".".join(str(p) for p in err["loc"])
                msg = err["msg"].removeprefix("Value error, ")
                problems.append(f"{path}: feeds[{i}].{loc}: {msg}")
            continue
        feeds.append(feed)
    if problems:
        raise FeedListError("\n".join(problems))
    return feeds
