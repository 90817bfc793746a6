"""The feed list: which feeds to poll, and what we know of each before reading it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from newsradar.datafile import DataSyntaxError, parse_data
from newsradar.errors import SchemaError
from newsradar.schemas import FeedSettings, decode, describe_validation, encode, feed_key
from producers.errors import FeedListError

DEFAULT_FEEDS = Path(__file__).resolve().parent / "data" / "feeds.yaml"


def url_problem(url: str) -> tuple[str, str] | None:
    """Why newsradar will not fetch ``url``, as (error class, message naming the fix), or None
    for an http(s) URL with a host and a valid port."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. an unclosed IPv6 bracket
        return "bad_url", f"not a URL ({exc}); give a full http(s) address"
    if parts.scheme not in ("http", "https"):
        return (
            "bad_scheme",
            f"scheme {parts.scheme or '(none)'!r} is not allowed; use http or https",
        )
    if not parts.hostname:
        return "bad_url", "URL has no host"
    try:
        port = parts.port
    except ValueError:  # not a number, or beyond 65535
        port = -1
    if port is not None and not 1 <= port <= 65535:
        text = parts.netloc.rpartition(":")[2]
        shown = text if text.isdigit() else repr(text)
        return "bad_url", f"port {shown} is not a TCP port; use 1-65535 or leave the port out"
    return None


def check_feed_url(url: str) -> str:
    """``url`` if newsradar fetches it (see :func:`url_problem`); ValueError naming the fix."""
    problem = url_problem(url)
    if problem is not None:
        raise ValueError(problem[1])
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
        return check_feed_url(value)

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
        data: Any = parse_data(text, path.name)
    except DataSyntaxError as exc:
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


# --- the feeds topic --------------------------------------------------------------------------


def feed_record(spec: FeedSpec) -> bytes:
    """``spec`` as its ``newsradar.feeds`` record value (the key is :func:`feed_key` of its URL)."""
    return encode(FeedSettings.model_validate(spec.model_dump()))


def feed_from_record(key: str, value: bytes) -> FeedSpec:
    """The feed a ``newsradar.feeds`` record holds; :class:`FeedListError` naming the key and
    what is wrong if it is not one this version reads."""
    try:
        record = decode(FeedSettings, value)
        return FeedSpec.model_validate(record.model_dump(exclude={"schema_version"}))
    except (SchemaError, ValidationError) as exc:
        reason = str(exc) if isinstance(exc, SchemaError) else describe_validation(exc)
        raise FeedListError(f"newsradar.feeds record {key}: {reason}") from None


def feeds_of_table(table: Mapping[str, bytes]) -> tuple[dict[str, FeedSpec], list[str]]:
    """The feeds of a read ``newsradar.feeds`` table by key, and one line per record that is
    not a readable feed (kept out of the result, never guessed at)."""
    feeds: dict[str, FeedSpec] = {}
    problems: list[str] = []
    for key, value in sorted(table.items()):
        try:
            feeds[key] = feed_from_record(key, value)
        except FeedListError as exc:
            problems.append(str(exc))
    return feeds, problems


@dataclass(frozen=True)
class FeedDiff:
    """What makes a feeds table match a wanted list: records to write, keys to tombstone."""

    added: tuple[FeedSpec, ...]
    changed: tuple[tuple[FeedSpec, FeedSpec], ...]
    """(before, after)"""
    removed: tuple[FeedSpec, ...]

    def changes(self) -> dict[str, bytes | None]:
        out: dict[str, bytes | None] = {}
        for spec in (*self.added, *(after for _, after in self.changed)):
            out[feed_key(spec.url)] = feed_record(spec)
        for spec in self.removed:
            out[feed_key(spec.url)] = None
        return out

    def lines(self) -> list[str]:
        """``+ URL`` added, ``~ URL (field: old -> new, ...)`` changed, ``- URL`` removed."""
        out = [f"+ {spec.url}" for spec in self.added]
        for before, after in self.changed:
            fields = [
                f"{name}: {getattr(before, name)!r} -> {getattr(after, name)!r}"
                for name in FeedSpec.model_fields
                if getattr(before, name) != getattr(after, name)
            ]
            out.append(f"~ {after.url} ({', '.join(fields)})")
        out += [f"- {spec.url}" for spec in self.removed]
        return out


def diff_feeds(
    current: Mapping[str, FeedSpec], wanted: Sequence[FeedSpec], *, remove: bool = True
) -> FeedDiff:
    """What to write so that ``current`` (by key) holds ``wanted``; ``remove=False`` keeps
    feeds ``wanted`` does not name (an import adds, a sync replaces)."""
    by_key = {feed_key(spec.url): spec for spec in wanted}
    added = tuple(spec for key, spec in by_key.items() if key not in current)
    changed = tuple(
        (current[key], spec)
        for key, spec in by_key.items()
        if key in current and current[key] != spec
    )
    removed = (
        tuple(spec for key, spec in sorted(current.items()) if key not in by_key) if remove else ()
    )
    return FeedDiff(added, changed, removed)
