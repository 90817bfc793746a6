"""Records that cross Kafka, and their JSON encoding.

Every record carries ``schema_version``. A reader accepts the versions it knows and rejects the
rest with a :class:`~newsradar.errors.SchemaError` whose message says which version it got and
what it supports, so the stage can dead-letter the record instead of guessing.

Records are UTF-8 JSON objects. Times are ISO 8601 in UTC with an explicit offset.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal, TypeVar
from urllib.parse import urlsplit, urlunsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from newsradar.errors import SchemaError

SCHEMA_VERSION: Literal[1] = 1


def _require_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("timestamp has no UTC offset; records carry aware UTC times")
    try:
        return value.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+14:00: before year 1 in UTC
        raise ValueError("timestamp is out of range in UTC") from None


UtcDatetime = Annotated[datetime, AfterValidator(_require_utc)]


def utcnow() -> datetime:
    return datetime.now(UTC)


class Record(BaseModel):
    """Base of every Kafka record: frozen, strict about unknown keys, versioned."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ClassVar[str] = "record"
    schema_version: Literal[1] = SCHEMA_VERSION


class Article(Record):
    """A normalized news article, as producers publish it to ``newsradar.articles``.

    The Kafka key is ``id``. ``content`` is plain text for matching; ``content_html`` keeps the
    original markup so nothing the feed said is lost.
    """

    kind: ClassVar[str] = "article"

    id: str = Field(min_length=1, max_length=256)
    url: str = ""
    title: str = ""
    summary: str = ""
    content: str = ""
    content_html: str = ""
    authors: tuple[str, ...] = ()
    language: str = ""
    published: UtcDatetime
    published_is_fetched: bool = False
    """True when the feed gave no usable date (missing, unparsable or in the future)."""
    fetched_at: UtcDatetime
    feed: str = ""
    """URL (or path) of the feed the article came from."""
    feed_name: str = ""
    source_country: str = ""
    tags: tuple[str, ...] = ()
    """The feed's tags, from its configuration."""
    categories: tuple[str, ...] = ()
    """The entry's own categories, as the feed files it (``<category>``, Atom ``category``)."""


# What an alert carries must be storable and sendable by every sink: a record that is not goes
# to the dead-letter topic where it is read, instead of stalling the one sink that chokes on it.
_ALERT_ID = re.compile(r"[!-~]{1,128}")
_RULE_ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")


def _alert_id(value: str) -> str:
    if not _ALERT_ID.fullmatch(value):
        raise ValueError(
            "alert ids are 1 to 128 visible ASCII characters (no spaces or control "
            "characters): they go into HTTP and mail headers"
        )
    return value


def _rule_id(value: str) -> str:
    if not _RULE_ID.fullmatch(value):
        raise ValueError("rule ids are 1 to 64 of a-z, 0-9, '.', '_', '-', as rules define them")
    return value


def _article_id(value: str) -> str:
    if not 1 <= len(value) <= 256 or _CONTROL.search(value) or _UNSTORABLE.search(value):
        raise ValueError("article ids are 1 to 256 characters without control characters")
    return value


def _storable(value: str) -> str:
    found = _UNSTORABLE.search(value)
    if found:
        what = "NUL (U+0000)" if found.group() == "\x00" else "a lone surrogate (not UTF-8)"
        raise ValueError(f"holds {what} at index {found.start()}: no store can keep it")
    return value


AlertId = Annotated[str, AfterValidator(_alert_id)]
RuleId = Annotated[str, AfterValidator(_rule_id)]
ArticleId = Annotated[str, AfterValidator(_article_id)]
Text = Annotated[str, AfterValidator(_storable)]
"""Alert text: anything but NUL and lone surrogates; channels escape the rest as they render."""
Score = Annotated[float, Field(allow_inf_nan=False)]


class Match(BaseModel):
    """One matched term in an article, pointing into the original (un-normalized) text."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    term: str
    """The text as it stands in the article."""
    denotes: str
    """What it stands for: a country code (``country:IQ``) or a topic (``topic:energy``)."""
    field: Literal["title", "summary", "content"]
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    snippet: str = ""


class RelationEvidence(BaseModel):
    """A sentence of the article that puts the two countries of a rule's pair in relation."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    pair: str
    """``IQ-RU``."""
    score: float = 0.0
    """The pair's relation score over the whole article."""
    kind: Literal["bilateral", "meeting", "dealing", "directed", "actor"]
    field: Literal["title", "summary", "content"]
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    sentence: str
    cues: tuple[str, ...] = ()
    """The words that make it a relation, as written."""


class Alert(Record):
    """A rule that fired on an article, as processors publish it to ``newsradar.alerts``.

    ``id`` is derived from rule id and article id (:func:`alert_id`), so every sink can write it
    idempotently: a redelivered alert has the same id.

    Every field is one each sink can store and send: ids fit HTTP and mail headers (no control
    characters, bounded), text holds no NUL or lone surrogate, numbers are finite and fit the
    stores' columns. A record that breaks this is dead-lettered where it is read.
    """

    kind: ClassVar[str] = "alert"

    id: AlertId
    rule_id: RuleId
    rule_version: int = Field(default=1, ge=1, le=2_147_483_647)
    score: Score = 0.0
    article_id: ArticleId
    article_url: Text = ""
    article_title: Text = ""
    article_published: UtcDatetime
    language: Text = ""
    feed: Text = ""
    countries: tuple[Text, ...] = ()
    pairs: tuple[Text, ...] = ()
    topics: tuple[Text, ...] = ()
    matches: tuple[Match, ...] = ()
    relations: tuple[RelationEvidence, ...] = ()
    """Why the rule fired, first: the sentences that relate its pairs, strongest first."""
    reasons: tuple[Text, ...] = ()
    """The rule's reasons, the relating sentence first."""
    created_at: UtcDatetime = Field(default_factory=utcnow)
    surge: bool = False
    article_enqueued_at: UtcDatetime | None = None
    """When the article record reached Kafka (its record timestamp): sinks measure delivery
    latency, article published to Kafka -> alert delivered, from it."""

    @field_validator("matches", "relations")
    @classmethod
    def _storable_parts(
        cls, parts: tuple[Match, ...] | tuple[RelationEvidence, ...]
    ) -> tuple[Match, ...] | tuple[RelationEvidence, ...]:
        """The text of matches and relations, as the alert's own (Match and RelationEvidence
        also serve ``classify``, which reports whatever the input holds)."""
        for index, part in enumerate(parts):
            for name, value in part:
                for text in value if isinstance(value, tuple) else (value,):
                    if isinstance(text, str):
                        try:
                            _storable(text)
                        except ValueError as exc:
                            raise ValueError(f"item {index}, {name}: {exc}") from None
                    elif isinstance(text, float) and not math.isfinite(text):
                        raise ValueError(f"item {index}, {name}: not a finite number")
        return parts

    def why(self) -> str:
        """The explanation channels lead with: the sentence that relates the rule's
        countries, with the kind of evidence (``IQ-RU meeting: ...``); empty when the rule
        asked for none."""
        if not self.relations:
            return ""
        top = self.relations[0]
        return f"{top.pair} {top.kind}: {' '.join(top.sentence.split())}"


class DeadLetter(Record):
    """A record a stage could not handle. Nothing is dropped: the original bytes ride along."""

    kind: ClassVar[str] = "deadletter"

    stage: str
    error_type: str
    reason: str
    topic: str = ""
    partition: int | None = None
    offset: int | None = None
    key: str | None = None
    value_b64: str = ""
    """The original record's bytes, base64, whatever they were."""
    failed_at: UtcDatetime = Field(default_factory=utcnow)

    def original_value(self) -> bytes:
        return base64.b64decode(self.value_b64)

    @classmethod
    def for_value(
        cls,
        value: bytes | None,
        *,
        stage: str,
        error: BaseException,
        topic: str = "",
        partition: int | None = None,
        offset: int | None = None,
        key: bytes | str | None = None,
    ) -> DeadLetter:
        if isinstance(key, bytes):
            key = key.decode("utf-8", "replace")
        return cls(
            stage=stage,
            error_type=type(error).__name__,
            reason=str(error) or type(error).__name__,
            topic=topic,
            partition=partition,
            offset=offset,
            key=key,
            value_b64=base64.b64encode(value or b"").decode("ascii"),
        )

    @classmethod
    def for_message(cls, message: Any, *, stage: str, error: BaseException) -> DeadLetter:
        """For a consumed Kafka record: anything with ``value``, ``key``, ``topic``,
        ``partition`` and ``offset`` (kafka-python's records and faust's messages alike)."""
        return cls.for_value(
            message.value,
            stage=stage,
            error=error,
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            key=message.key,
        )


class RuleRecord(Record):
    """One alert rule on the compacted rules topic, keyed by its id; a tombstone (no value)
    removes the rule. ``rules push`` writes it after validating the rule exactly as
    ``rules check`` does; processors validate it again when they read it (a newer rule key
    an older worker does not know is dead-lettered there, and the worker keeps the rule it has).
    """

    kind: ClassVar[str] = "rule"

    rule_id: RuleId
    version: int = Field(ge=1)
    """Raised by ``rules push`` whenever the rule changes; alerts carry it as ``rule_version``."""
    rule: dict[str, Any]
    """The rule as a rule file holds it (processors/data/rules.yaml's keys), its ``id`` and
    ``version`` equal to the fields above."""
    pushed_at: UtcDatetime = Field(default_factory=utcnow)

    @field_validator("rule")
    @classmethod
    def _names_itself(cls, value: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(value.get("id"), str):
            raise ValueError("the rule has no `id`")
        return value


class FeedSettings(Record):
    """One feed to poll, as ``newsradar.feeds`` holds it: the Kafka key is :func:`feed_key` of
    ``url``; a tombstone (null value) removes the feed. The fields are those of a feed-list
    entry (``producers/data/feeds.yaml``); the CLI validates them as it validates that file."""

    kind: ClassVar[str] = "feed"

    url: str = Field(min_length=1, max_length=4096)
    name: str = ""
    language: str = ""
    country: str = ""
    tags: tuple[str, ...] = ()
    poll_interval_seconds: float | None = None


class SeenItem(BaseModel):
    """An article of a feed already published: its id, content hash and canonical URL."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    hash: str
    url: str = ""


class FeedStatus(Record):
    """A feed's polling state, as ``newsradar.feed-state`` holds it (key: :func:`feed_key`).

    Written by the producer polling the feed after the articles it found were acknowledged;
    read by the producer the feed moves to (validators, schedule, backoff and the feed's
    published items, so it publishes none of them again), by ``feeds status`` and the
    dashboard. Times are Unix seconds."""

    kind: ClassVar[str] = "feed-state"

    url: str = Field(min_length=1, max_length=4096)
    name: str = ""
    etag: str = ""
    last_modified: str = ""
    body_hash: str = ""
    validators_unreliable: bool = False
    polls: int = 0
    last_attempt: float | None = None
    last_success: float | None = None
    consecutive_failures: int = 0
    last_error_class: str = ""
    last_error: str = ""
    items_last_poll: int = 0
    new_last_poll: int = 0
    interval_seconds: float = 0.0
    next_poll: float = 0.0
    gone: bool = False
    moved_to: str = ""
    problem: str = ""
    seen: tuple[SeenItem, ...] = ()
    """The items of the feed's last read body that Kafka acknowledged."""
    producer: str = ""
    """Which producer instance wrote this (host:pid)."""


def feed_key(url: str) -> str:
    """The key of a feed in ``newsradar.feeds``: its URL with scheme and host lower-cased, the
    default port and the fragment dropped, so one feed written two ways is one key."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port in (None, {"http": 80, "https": 443}.get(scheme)) else f"{host}:{port}"
    if parts.username or parts.password:
        netloc = parts.netloc.rpartition("@")[0] + "@" + netloc
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def alert_id(rule_id: str, article_id: str) -> str:
    """The id of the alert ``rule_id`` raises on ``article_id``; equal inputs, equal ids."""
    digest = hashlib.sha256(f"{rule_id}\x00{article_id}".encode()).hexdigest()
    return digest[:32]


R = TypeVar("R", bound=Record)


def encode(record: Record) -> bytes:
    """The record as compact UTF-8 JSON."""
    return record.model_dump_json().encode("utf-8")


def decode(model: type[R], data: bytes | str | None) -> R:
    """Parse ``data`` as a ``model`` record, or raise :class:`SchemaError` saying why."""
    if data is None:
        raise SchemaError(f"{model.kind} record is empty (tombstone); expected a JSON object")
    try:
        raw: Any = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SchemaError(f"{model.kind} record is not valid UTF-8 JSON: {exc}") from None
    except RecursionError:
        raise SchemaError(f"{model.kind} record is JSON nested too deeply to read") from None
    if not isinstance(raw, dict):
        raise SchemaError(f"{model.kind} record is a JSON {type(raw).__name__}, expected an object")
    version = raw.get("schema_version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        raise SchemaError(
            f"{model.kind} record has schema_version {version!r}; this reader supports "
            f"{SCHEMA_VERSION}: upgrade newsradar on this machine"
        )
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise SchemaError(f"{model.kind} record is invalid: {describe_validation(exc)}") from None


def describe_validation(exc: ValidationError, prefix: str = "") -> str:
    """One line per problem: ``where: what (got VALUE)``, joined with ``; ``."""
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in (prefix, *err["loc"]) if p != "") or "(root)"
        got = err.get("input")
        got_text = "" if isinstance(got, dict) else f" (got {_short(repr(got))})"
        parts.append(f"{where}: {err['msg']}{got_text}")
    return "; ".join(parts)


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
