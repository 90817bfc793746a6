"""Settings: one TOML file, overridable by environment variables, validated by typed models.

Where settings come from, later ones winning:

1. defaults in the models below;
2. the TOML file: ``--config FILE``, else ``$NEWSRADAR_CONFIG``, else ``./newsradar.toml``;
3. systemd credentials: a file in ``$CREDENTIALS_DIRECTORY`` named like a variable below
   (``LoadCredential=NEWSRADAR_SINKS__POSTGRES__DSN:/etc/newsradar/postgres-dsn``);
4. environment variables: ``NEWSRADAR_DATA_DIR``, ``NEWSRADAR_KAFKA_BOOTSTRAP``, and for any key
   ``NEWSRADAR_<SECTION>__<KEY>`` (e.g. ``NEWSRADAR_BROKER__PORT=19092``,
   ``NEWSRADAR_TOPICS__ARTICLES__PARTITIONS=16``, ``NEWSRADAR_KAFKA__SASL_PASSWORD=...``). An item
   of a list section is named by its position or its ``name`` (``-`` written ``_``):
   ``NEWSRADAR_SINKS__WEBHOOKS__0__URL``, ``NEWSRADAR_SINKS__WEBHOOKS__OPS__SECRET``; a list
   value is a JSON array or comma-separated. Any variable can instead name a file holding the
   value: ``NEWSRADAR_SINKS__WEBHOOKS__OPS__SECRET_FILE=/run/secrets/ops`` (a trailing newline is
   dropped).

Unknown keys are errors, not silently ignored: a typo must not fall back to a default. Secret
values (:class:`SecretStr` fields; webhook URLs, which carry tokens) are never printed: not in
errors, not in ``repr``. ``deploy/newsradar.example.toml`` documents every key.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import os
import re
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from newsradar import topics
from newsradar.datafile import DataSyntaxError, parse_toml
from newsradar.errors import ConfigError

REMOVED_KEYS: Mapping[tuple[str, ...], str] = {
    ("sinks", "atom"): (
        "removed: the Atom feeds are served by the dashboard now, on its port "
        "(http://<dashboard.host>:<dashboard.port>/feeds/<rule>.atom) from the alert store, "
        "protected by dashboard.token; dashboard.feed_entries sets their length; delete "
        "[sinks.atom] (and NEWSRADAR_SINKS__ATOM__* variables)"
    ),
}
"""Keys newsradar once read, and what replaced them: their error says so instead of "unknown"."""
ENV_PREFIX = "NEWSRADAR_"
ENV_ALIASES: Mapping[str, tuple[str, ...]] = {
    "NEWSRADAR_DATA_DIR": ("data_dir",),
    "NEWSRADAR_KAFKA_BOOTSTRAP": ("kafka", "bootstrap"),
}
DEFAULT_CONFIG_FILE = Path("newsradar.toml")
KAFKA_VERSION = "4.1.1"
"""The Kafka release the local broker runs by default (tested in CI)."""

CREDENTIALS_DIRECTORY = "CREDENTIALS_DIRECTORY"
"""Where systemd puts a unit's credentials (``LoadCredential=``, ``SetCredentialEncrypted=``)."""
FILE_SUFFIX = "_FILE"
SECRET_FILE_MAX_BYTES = 65536

Port = Annotated[int, Field(ge=1, le=65535)]


def redact_url(url: str) -> str:
    """What may be shown of a URL that is itself a credential: ``scheme://host[:port]/…``."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return "***"
    if not parts.scheme or not parts.hostname:
        return "***"
    return f"{parts.scheme}://{parts.hostname}{f':{port}' if port else ''}/…"


def iana_zone(value: str) -> str:
    """``value`` if it names an IANA time zone, else a ValueError saying what to write."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown IANA time zone {value!r} (e.g. UTC, Asia/Baghdad)") from None
    return value


class SecretAppriseUrl(SecretStr):
    """An Apprise service URL (``tgram://TOKEN/CHAT``, ``ntfy://host/topic``): its host, path
    and query may all be credentials, so only ``scheme://…`` is ever shown."""

    def _display(self) -> str:
        scheme, sep, _ = self.get_secret_value().strip().partition("://")
        return f"{scheme}://…" if sep and scheme.isascii() and scheme.isalnum() else "***"


class SecretUrl(SecretStr):
    """A URL whose path or query is a credential (webhooks, Slack incoming webhooks): shown as
    ``scheme://host/…`` in ``str``, ``repr`` and errors; ``get_secret_value()`` for requests."""

    def _display(self) -> str:
        return redact_url(self.get_secret_value())


class Section(BaseModel):
    # No setting is infinite or NaN: `inf` as a retry wait or a timeout would wait forever.
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class KafkaSettings(Section):
    """How every stage reaches Kafka. An empty ``bootstrap`` means: the local broker."""

    bootstrap: str = ""
    """Comma-separated ``host:port`` list of an external cluster; empty runs the local broker."""
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = None
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None
    client_id: str = "newsradar"
    request_timeout_seconds: float = Field(default=30.0, gt=0, le=600)

    @model_validator(mode="after")
    def _check_sasl(self) -> KafkaSettings:
        if self.security_protocol.startswith("SASL_"):
            missing = [
                name
                for name in ("sasl_mechanism", "sasl_username", "sasl_password")
                if getattr(self, name) is None
            ]
            if missing:
                raise ValueError(
                    f"security_protocol {self.security_protocol} needs {', '.join(missing)}"
                )
        return self

    def client_options(self) -> dict[str, Any]:
        """Connection options in kafka-python's vocabulary (security, timeouts, client id)."""
        options: dict[str, Any] = {
            "client_id": self.client_id,
            "security_protocol": self.security_protocol,
            "request_timeout_ms": int(self.request_timeout_seconds * 1000),
        }
        if self.sasl_mechanism is not None:
            options["sasl_mechanism"] = self.sasl_mechanism
            options["sasl_plain_username"] = self.sasl_username
            options["sasl_plain_password"] = (
                self.sasl_password.get_secret_value() if self.sasl_password else None
            )
        for name in ("ssl_cafile", "ssl_certfile", "ssl_keyfile"):
            value = getattr(self, name)
            if value is not None:
                options[name] = str(value)
        return options


class BrokerSettings(Section):
    """The local single-node broker that ``newsradar broker start`` runs."""

    kafka_version: str = Field(default=KAFKA_VERSION, pattern=r"^4\.\d+\.\d+$")
    """Apache Kafka release whose jars Maven fetches (4.x)."""
    host: str = "127.0.0.1"
    port: Port = 9092
    controller_port: Port = 9093
    heap_mb: int = Field(default=512, ge=128, le=65536)
    start_timeout_seconds: float = Field(default=90.0, gt=0, le=1800)
    stop_timeout_seconds: float = Field(default=60.0, gt=0, le=600)

    @model_validator(mode="after")
    def _distinct_ports(self) -> BrokerSettings:
        if self.port == self.controller_port:
            raise ValueError(f"port and controller_port are both {self.port}; use two ports")
        return self


class TopicSpec(Section):
    name: str = Field(min_length=1, max_length=249, pattern=r"^[A-Za-z0-9._-]+$")
    partitions: int = Field(default=8, ge=1, le=10_000)
    compacted: bool = False
    """A table kept by key (``cleanup.policy=compact``): the last record of a key is its value."""


class TopicsSettings(Section):
    """Topic names and partition counts. More partitions let more workers share the load."""

    articles: TopicSpec = TopicSpec(name=topics.ARTICLES)
    alerts: TopicSpec = TopicSpec(name=topics.ALERTS)
    deadletter: TopicSpec = TopicSpec(name=topics.DEADLETTER, partitions=1)
    rules: TopicSpec = TopicSpec(name=topics.RULES, partitions=1, compacted=True)
    """Every worker reads all of it, so one partition is enough."""
    feeds: TopicSpec = TopicSpec(name=topics.FEEDS, compacted=True)
    feed_state: TopicSpec = TopicSpec(name=topics.FEED_STATE, compacted=True)
    replication_factor: int = Field(default=1, ge=1, le=32)

    def all(self) -> tuple[TopicSpec, ...]:
        return (
            self.articles,
            self.alerts,
            self.deadletter,
            self.rules,
            self.feeds,
            self.feed_state,
        )


class ProcessorsSettings(Section):
    """The detection stage (faust workers); every worker with one ``app_id`` shares the load."""

    app_id: str = Field(default="newsradar-processors", pattern=r"^[A-Za-z0-9._-]+$")
    """faust app id: the consumer group, and the prefix of its internal topics."""
    rules_file: Path | None = None
    """Alert rules (YAML or TOML); empty: the shipped default rules."""
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(default=9102, ge=0, le=65535)
    """Prometheus /metrics port of a worker; 0 turns the endpoint off."""
    surge_factor: float = Field(default=3.0, gt=1)
    """A pair surges when this hour's count is this many times its 24-hour hourly mean ..."""
    surge_min_count: int = Field(default=5, ge=1)
    """... and at least this many articles."""
    commit_interval_seconds: float = Field(default=0.2, gt=0, le=60)
    """How often a worker commits its offsets. An alert goes out with the commit of its
    article's offset (never before it can be committed), so this bounds the alert latency the
    worker adds; faust's own default, 2.8 s, would add seconds to every alert."""


class ProducersSettings(Section):
    """The feed-polling stage."""

    feeds_file: Path | None = None
    """Feed list (YAML or TOML); empty: the shipped list producers/data/feeds.yaml. The seed of
    ``newsradar.feeds``: a producer starting on an empty feeds topic writes this list to it."""
    group_id: str = Field(default="newsradar-producers", pattern=r"^[A-Za-z0-9._-]+$")
    """The consumer group of ``newsradar.feeds``: producers in one group share its feeds."""
    max_concurrency: int = Field(default=64, ge=1, le=4096)
    per_host_concurrency: int = Field(default=2, ge=1, le=64)
    per_host_delay_seconds: float = Field(default=1.0, ge=0, le=600)
    """Minimum time between two requests to one host."""
    default_interval_seconds: float = Field(default=300.0, ge=1)
    min_interval_seconds: float = Field(default=60.0, ge=1)
    max_interval_seconds: float = Field(default=3600.0, ge=1)
    max_backoff_seconds: float = Field(default=6 * 3600.0, ge=1)
    """Longest wait after repeated failures; failing feeds are retried forever."""
    stale_after_seconds: float = Field(default=3 * 3600.0, ge=60)
    """A feed without a successful fetch for this long counts as stale (newsradar_feeds_stale)."""
    timeout_seconds: float = Field(default=20.0, gt=0, le=600)
    """Longest wait for one read (connect, each chunk of the body)."""
    fetch_deadline_seconds: float = Field(default=60.0, gt=0, le=3600)
    """Longest a whole fetch may take, redirects included: a server that sends a byte at a
    time never trips the per-read timeout, and is cut off here (error class ``deadline``)."""
    max_body_bytes: int = Field(default=10_000_000, ge=1024)
    """Cap on a feed's size after decompression (guards against compression bombs)."""
    max_redirects: int = Field(default=5, ge=0, le=20)
    dedup_max_entries: int = Field(default=1_000_000, ge=1000)
    """Article ids remembered for dedup; the oldest are forgotten beyond this."""
    user_agent: str = "newsradar/0.1 (feed monitor)"
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(default=9101, ge=0, le=65535)

    @model_validator(mode="after")
    def _interval_bounds(self) -> ProducersSettings:
        if not self.min_interval_seconds <= self.max_interval_seconds:
            raise ValueError("min_interval_seconds must not exceed max_interval_seconds")
        return self


class SqliteSinkSettings(Section):
    """The embedded alert store (the default sink)."""

    enabled: bool = True
    path: Path | None = None
    """SQLite file; empty: <data_dir>/alerts.sqlite."""


class PostgresSinkSettings(Section):
    """The alert store on a PostgreSQL server, for deployments spread over machines."""

    enabled: bool = False
    dsn: SecretStr = SecretStr("")
    """libpq connection string, e.g. postgresql://newsradar:PASSWORD@db.example.org/newsradar."""
    connect_timeout_seconds: int = Field(default=10, ge=1, le=300)

    @model_validator(mode="after")
    def _dsn_when_enabled(self) -> PostgresSinkSettings:
        if self.enabled and not self.dsn.get_secret_value():
            raise ValueError("dsn is required when the PostgreSQL sink is enabled")
        return self


class JsonlSinkSettings(Section):
    """Alerts appended to a JSON Lines file, rotated by size."""

    enabled: bool = False
    path: Path | None = None
    """File; empty: <data_dir>/alerts.jsonl."""
    max_bytes: int = Field(default=50_000_000, ge=1024)
    keep: int = Field(default=5, ge=1, le=1000)
    """Rotated files kept (alerts.jsonl.1 ... .N)."""


_HOST_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]{0,252})|\[?[0-9A-Fa-f:.]{2,45}\]?")


class HttpAccessSettings(Section):
    """Who may read a server newsradar runs for browsers and feed readers (the dashboard, the
    Atom feeds): the Host names it answers to, and its access token or trusted proxy header.
    docs/operations.md, "Dashboard security", tells how to set them up."""

    host: str = "127.0.0.1"
    """Address to listen on. Beyond loopback it needs ``token`` or ``trusted_proxy_header``."""
    allowed_hosts: tuple[str, ...] = ()
    """Host names (or addresses) browsers may reach it by, besides localhost, 127.0.0.1, ::1
    and ``host``; a request naming any other Host gets 421 (it stops DNS rebinding). In the
    environment: comma-separated."""
    token: SecretStr | None = None
    """Access token (at least 16 characters): as ``Authorization: Bearer``, the password of
    basic auth, or ``?token=`` in the URL. Make one with ``openssl rand -hex 32``."""
    trusted_proxy_header: str | None = Field(default=None, pattern=r"^[A-Za-z0-9-]{1,64}$")
    """A header (e.g. ``X-Forwarded-User``) your authenticating reverse proxy sets: a request
    from one of ``trusted_proxies`` carrying it is let in without the token."""
    trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1")
    """Addresses or networks (CIDR) ``trusted_proxy_header`` is believed from."""

    @field_validator("allowed_hosts", "trusted_proxies", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return (
            tuple(v.strip() for v in value.split(",") if v.strip())
            if isinstance(value, str)
            else value
        )

    @field_validator("allowed_hosts")
    @classmethod
    def _host_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [h for h in value if not _HOST_NAME.fullmatch(h)]
        if bad:
            raise ValueError(
                f"not host names or addresses: {bad}; give names without scheme or port, "
                "e.g. dashboard.example.org or 192.0.2.7"
            )
        return tuple(h.lower().strip("[]").rstrip(".") for h in value)

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"{entry!r} is not an address or network; e.g. 127.0.0.1 or 10.0.0.0/8"
                ) from None
        return value

    @model_validator(mode="after")
    def _strong_token(self) -> HttpAccessSettings:
        # Checked here rather than on the field, so that an error never echoes the value.
        if self.token is not None:
            token = self.token.get_secret_value()
            if len(token) < 16 or not token.isascii() or not token.isprintable() or " " in token:
                raise ValueError(
                    "token must be at least 16 printable ASCII characters without spaces; "
                    "make one with `openssl rand -hex 32`"
                )
        return self

    @property
    def loopback_only(self) -> bool:
        """Whether only this machine can connect (a name other than localhost counts as not)."""
        if self.host.lower() == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host.strip("[]")).is_loopback
        except ValueError:
            return False

    def unprotected(self, key: str) -> str | None:
        """Why listening on ``host`` is unsafe (``key`` names the section), or None."""
        if self.loopback_only or self.token is not None or self.trusted_proxy_header:
            return None
        return (
            f"{key}.host = {self.host!r} lets other machines read it, and no {key}.token or "
            f"{key}.trusted_proxy_header is set; set {key}.token (e.g. from "
            f"`openssl rand -hex 32`), or {key}.trusted_proxy_header behind an authenticating "
            f'reverse proxy, or {key}.host = "127.0.0.1"'
        )


Cadence = Literal["immediate", "hourly", "daily", "weekly"]


class NoiseSettings(Section):
    """Noise control for a push channel (email, webhook, Apprise). Nothing is dropped: an alert
    that is not sent at once is held (SQLite) and goes out in a digest when it is due."""

    max_per_window: int | None = Field(default=None, ge=1)
    """Per rule, at most this many alerts sent one by one per window; the rest go into a digest
    sent when the window ends. None: no throttle."""
    window_seconds: float = Field(default=3600.0, gt=0)
    quiet_hours: str | None = Field(default=None, pattern=r"^\d\d:\d\d-\d\d:\d\d$")
    """``HH:MM-HH:MM`` in ``timezone`` (may wrap midnight): alerts wait and go out as one digest
    per rule when the quiet hours end."""
    timezone: str = "UTC"
    """IANA time zone of quiet hours and of the daily digest time, e.g. ``Asia/Baghdad``."""

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return iana_zone(value)

    @field_validator("quiet_hours")
    @classmethod
    def _hours(cls, value: str | None) -> str | None:
        if value is not None:
            for part in value.split("-"):
                hour, minute = (int(x) for x in part.split(":"))
                if hour > 23 or minute > 59:
                    raise ValueError(f"{part!r} is not a time of day (00:00 to 23:59)")
        return value


Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


class DigestChannelSettings(Section):
    """What every channel that sends digests (email, Apprise) is configured with: which rules,
    at what cadence, and its noise control."""

    rules: tuple[str, ...] = ()
    """Only alerts of these rules; empty: all."""
    cadence: Cadence = "immediate"
    """``immediate``: one message per alert; ``hourly``/``daily``/``weekly``: one digest per
    rule."""
    rule_cadence: dict[str, Cadence] = {}
    """Per-rule cadence overriding ``cadence``, e.g. ``{ iraq-russia = "immediate" }``."""
    daily_at: str = Field(default="08:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    """When daily and weekly digests go out, in ``noise.timezone``."""
    weekly_on: Weekday = "monday"
    """The day weekly digests go out (at ``daily_at``, in ``noise.timezone``)."""
    noise: NoiseSettings = NoiseSettings()


class EmailSinkSettings(DigestChannelSettings):
    """One email per alert over SMTP (plain text and HTML, matched terms highlighted)."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")
    host: str
    port: Port = 587
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    sender: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    recipients: tuple[str, ...] = Field(min_length=1)
    timeout_seconds: float = Field(default=20.0, gt=0, le=300)

    @field_validator("recipients")
    @classmethod
    def _addresses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [a for a in value if "@" not in a or any(c in a for c in "\r\n ,;")]
        if bad:
            raise ValueError(f"not single email addresses: {bad}")
        return value


class WebhookSinkSettings(Section):
    """A JSON POST per alert, signed; or a Slack-compatible message (``mode = "slack"``)."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")
    url: SecretUrl
    """The endpoint; a secret (its path often is the token), shown as ``https://host/…``."""
    secret: SecretStr | None = None
    """Signing key: ``whsec_`` + base64 of the key bytes (Standard Webhooks), or any other
    string, whose UTF-8 bytes are the key. Signs the Standard Webhooks headers and the
    deprecated X-Newsradar-Signature (hex HMAC-SHA256 of the body, keyed with this string)."""
    mode: Literal["json", "slack"] = "json"
    timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    rules: tuple[str, ...] = ()
    """Only alerts of these rules; empty: all."""
    noise: NoiseSettings = NoiseSettings()

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: SecretUrl) -> SecretUrl:
        try:
            parts = urlsplit(value.get_secret_value())
            parts.port  # noqa: B018 - raises on a port out of range
        except ValueError:
            raise ValueError("not a URL; use an http:// or https:// URL") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("use an http:// or https:// URL with a host")
        return value

    @field_validator("secret")
    @classmethod
    def _signing_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            text = value.get_secret_value()
            if not text:
                raise ValueError("is empty; leave it out for unsigned calls")
            if text.startswith("whsec_"):
                try:
                    key = base64.b64decode(text[len("whsec_") :], validate=True)
                except binascii.Error:
                    key = b""
                if not key:
                    raise ValueError("starts with whsec_ but the rest is not base64 key bytes")
        return value


class AppriseSinkSettings(DigestChannelSettings):
    """Alerts to chat and push services through Apprise (https://appriseit.com): Telegram,
    Matrix, Microsoft Teams, Discord, Slack, ntfy, Gotify and 100 more, one URL each."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")
    urls: tuple[SecretAppriseUrl, ...] = Field(min_length=1)
    """Apprise URLs (``tgram://BOT_TOKEN/CHAT_ID``, ``ntfy://host/topic``, ...); secrets, shown
    as ``scheme://…``. In the environment: a JSON array or comma-separated."""
    format: Literal["text", "markdown", "html"] = "text"
    """How messages are written: ``text`` (Apprise escapes it for services that read Markdown
    or HTML), ``markdown`` or ``html`` (bold rule, linked title; feed text escaped here)."""
    timeout_seconds: float = Field(default=20.0, gt=0, le=300)
    """Longest one message may take across all the URLs."""

    @field_validator("urls")
    @classmethod
    def _service_urls(cls, value: tuple[SecretAppriseUrl, ...]) -> tuple[SecretAppriseUrl, ...]:
        for index, url in enumerate(value):
            scheme, sep, rest = url.get_secret_value().strip().partition("://")
            if not sep or not rest or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]{0,31}", scheme):
                raise ValueError(
                    f"urls[{index}] is not an Apprise URL; write it as service://..., "
                    "e.g. tgram://BOT_TOKEN/CHAT_ID or ntfys://ntfy.sh/TOPIC"
                )
        return value


class SinksSettings(Section):
    """The delivery stage: each sink reads newsradar.alerts in its own consumer group, so a
    failing sink neither blocks nor loses alerts for the others."""

    group_prefix: str = Field(default="newsradar-sinks", pattern=r"^[A-Za-z0-9._-]+$")
    batch_size: int = Field(default=500, ge=1, le=100_000)
    retry_max_seconds: float = Field(default=60.0, gt=0)
    """Longest wait between attempts while a sink fails; its alerts wait in Kafka."""
    sqlite: SqliteSinkSettings = SqliteSinkSettings()
    postgres: PostgresSinkSettings = PostgresSinkSettings()
    jsonl: JsonlSinkSettings = JsonlSinkSettings()
    webhooks: tuple[WebhookSinkSettings, ...] = ()
    emails: tuple[EmailSinkSettings, ...] = ()
    apprise: tuple[AppriseSinkSettings, ...] = ()
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(default=9103, ge=0, le=65535)


class DashboardSettings(HttpAccessSettings):
    """The web dashboard: live alerts (server-sent events), filters, alert detail, pair
    chart, feed health, the Atom feeds of alerts (``/feeds/<rule>.atom``) and its metrics
    (``/metrics``). It reads the embedded SQLite store and the producers' state. Bound to this
    machine by default; to share it, set ``token`` or put an authenticating reverse proxy in
    front (``trusted_proxy_header``)."""

    enabled: bool = True
    port: Port = 8180
    poll_seconds: float = Field(default=1.0, gt=0, le=60)
    """How often the store is checked for new alerts to push to open pages."""
    timezone: str = "UTC"
    """IANA time zone the page shows times in (and names), e.g. ``Asia/Baghdad``."""

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return iana_zone(value)

    feed_entries: int = Field(default=100, ge=1, le=10_000)
    """Newest alerts per Atom feed."""


class Settings(Section):
    data_dir: Path = Path("var")
    kafka: KafkaSettings = KafkaSettings()
    broker: BrokerSettings = BrokerSettings()
    topics: TopicsSettings = TopicsSettings()
    producers: ProducersSettings = ProducersSettings()
    processors: ProcessorsSettings = ProcessorsSettings()
    sinks: SinksSettings = SinksSettings()
    dashboard: DashboardSettings = DashboardSettings()

    def unprotected_servers(self) -> list[str]:
        """One line per enabled server (the dashboard: its page, API and Atom feeds) that other
        machines can reach without a token or trusted proxy header; empty when none."""
        found = [(self.dashboard.enabled, self.dashboard.unprotected("dashboard"))]
        return [problem for enabled, problem in found if enabled and problem]

    @property
    def alerts_db(self) -> Path:
        return self.sinks.sqlite.path or self.data_dir / "alerts.sqlite"

    @property
    def uses_local_broker(self) -> bool:
        return not self.kafka.bootstrap.strip()

    @property
    def bootstrap_servers(self) -> list[str]:
        if self.uses_local_broker:
            return [f"{self.broker.host}:{self.broker.port}"]
        return [s.strip() for s in self.kafka.bootstrap.split(",") if s.strip()]


def config_path(explicit: Path | None, env: Mapping[str, str]) -> Path | None:
    """The config file to read, or None to run on defaults and environment alone."""
    if explicit is not None:
        return explicit
    if env.get("NEWSRADAR_CONFIG"):
        return Path(env["NEWSRADAR_CONFIG"])
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None


def load_settings(path: Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read, merge and validate settings; raise :class:`ConfigError` naming every bad key."""
    env = os.environ if env is None else env
    file = config_path(path, env)
    # Start from the defaults so that overriding one key of a section keeps the others.
    data: dict[str, Any] = Settings().model_dump()
    sources: dict[tuple[str, ...], str] = {}
    if file is not None:
        from_file = _read_toml(file)
        _record_sources(from_file, (), str(file), sources)
        _merge(data, from_file)
    for name, value, source in _overrides(env):
        loc = _set_path(data, name, value)
        sources[loc] = source
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, sources)) from None
    except RecursionError:  # a variable NEWSRADAR_A__B__... thousands of sections deep
        raise ConfigError(
            "settings nest too deeply; newsradar's keys are a few sections deep"
        ) from None


def _overrides(env: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """``(variable, value, source)`` for every setting given outside the file: systemd
    credentials first, then variables (which win), each ``*_FILE`` variable read."""
    found: dict[str, tuple[str, str]] = {}
    directory = env.get(CREDENTIALS_DIRECTORY)
    if directory:
        for credential in _credentials(Path(directory)):
            if _env_key(credential.name) is not None:
                value = _read_secret(credential, f"credential {credential.name}")
                found[credential.name] = (value, f"credential {credential.name}")
    for name, value in env.items():
        if _env_key(name) is None:
            continue
        stem = name[: -len(FILE_SUFFIX)]
        if name.endswith(FILE_SUFFIX) and _is_file_form(name):
            if stem in env:
                raise ConfigError(
                    f"{stem} and {name} are both set; set either the value or the file holding it"
                )
            found[stem] = (_read_secret(Path(value), name), f"env {name}")
        else:
            found[name] = (value, f"env {name}")
    return [(name, *found[name]) for name in sorted(found, key=_natural)]


def _credentials(directory: Path) -> list[Path]:
    try:
        return sorted(p for p in directory.iterdir() if p.is_file())
    except OSError as exc:
        raise ConfigError(
            f"{CREDENTIALS_DIRECTORY}={directory}: cannot list the credentials ({exc.strerror}); "
            "unset it or point it at the unit's credentials directory"
        ) from None


def _read_secret(path: Path, what: str) -> str:
    """A value kept in a file (a ``*_FILE`` variable, a credential), without its trailing
    newline; the error names the file, never its content."""
    try:
        with path.open("rb") as fh:
            raw = fh.read(SECRET_FILE_MAX_BYTES + 1)
        if len(raw) > SECRET_FILE_MAX_BYTES:
            raise ConfigError(
                f"{what}: {path} is over {SECRET_FILE_MAX_BYTES} bytes; it should hold one value"
            )
        return raw.decode("utf-8").rstrip("\r\n")
    except OSError as exc:
        raise ConfigError(
            f"{what}: cannot read {path} ({exc.strerror}); create it or fix the path"
        ) from None
    except UnicodeDecodeError:
        raise ConfigError(f"{what}: {path} is not UTF-8 text") from None


def _natural(name: str) -> list[tuple[int, str]]:
    """Sort key: list positions in numeric order (``__2__`` before ``__10__``)."""
    return [(int(p), "") if p.isdigit() else (-1, p) for p in name.split("__")]


def _read_toml(file: Path) -> dict[str, Any]:
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{file}: config file not found; create it from deploy/newsradar.example.toml "
            "or leave --config out to run on defaults"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: cannot read config file: {exc}") from None
    try:
        return parse_toml(text)
    except DataSyntaxError as exc:  # also nesting too deep for a config
        raise ConfigError(f"{file}: not valid TOML: {exc}") from None


def _merge(base: dict[str, Any], update: Mapping[str, Any]) -> None:
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


def _env_key(name: str) -> tuple[str, ...] | None:
    if name.endswith(FILE_SUFFIX) and name[: -len(FILE_SUFFIX)] in ENV_ALIASES:
        name = name[: -len(FILE_SUFFIX)]
    if name in ENV_ALIASES:
        return ENV_ALIASES[name]
    if not name.startswith(ENV_PREFIX) or "__" not in name:
        return None
    return tuple(part.lower() for part in name[len(ENV_PREFIX) :].split("__"))


def _is_file_form(name: str) -> bool:
    """Whether ``X_FILE`` names a file holding ``X`` (and is not itself a key, as
    ``processors.rules_file`` is)."""
    stem = name[: -len(FILE_SUFFIX)]
    if stem in ENV_ALIASES:
        return True
    key, stem_key = _env_key(name), _env_key(stem)
    return (
        key is not None
        and stem_key is not None
        and _annotation_at(key) is None
        and _annotation_at(stem_key) is not None
    )


def _unwrap(annotation: Any) -> Any:
    """``X | None`` and ``Annotated[X, ...]`` as ``X``."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def _model(annotation: Any) -> type[BaseModel] | None:
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _items(annotation: Any) -> Any | None:
    """The item type of a list or tuple setting, else None."""
    annotation = _unwrap(annotation)
    if typing.get_origin(annotation) in (tuple, list):
        args = [a for a in typing.get_args(annotation) if a is not Ellipsis]
        return args[0] if args else Any
    return None


def _step(annotation: Any, part: str) -> Any | None:
    """The annotation one key below ``annotation``, or None when there is no such key."""
    model = _model(annotation)
    if model is not None:
        field = model.model_fields.get(part)
        return None if field is None else field.annotation
    annotation = _unwrap(annotation)
    if typing.get_origin(annotation) is dict:
        return typing.get_args(annotation)[1]
    return None


def _annotation_at(key: tuple[str, ...]) -> Any | None:
    """The type of the setting at ``key`` (list items by position or name), or None."""
    annotation: Any = Settings
    parts = list(key)
    while parts:
        item = _items(annotation)
        if item is not None and (_model(item) is not None or parts[0].isdigit()):
            annotation = item  # this part selects an item of the list
            parts.pop(0)
            continue
        annotation = _step(annotation, parts.pop(0))
        if annotation is None:
            return None
    return annotation


def _set_path(data: dict[str, Any], name: str, value: str) -> tuple[str, ...]:
    """Put the variable ``name``'s ``value`` at its key in ``data``; the key's location as
    pydantic reports it (list items by position), for naming the source in errors."""
    key = _env_key(name)
    assert key is not None
    node: Any = data
    annotation: Any = Settings
    loc: list[str] = []
    parts = list(key)
    while len(parts) > 1:
        part = parts.pop(0)
        annotation = _step(annotation, part) if annotation is not None else None
        child = node.get(part) if isinstance(node, dict) else None
        item = _items(annotation) if annotation is not None else None
        if item is not None and _model(item) is not None:
            items = list(child or ())
            node[part] = items
            index = _select(items, parts.pop(0), name, (*loc, part))
            loc += [part, str(index)]
            node, annotation = items[index], item
            if not isinstance(node, dict):
                raise ConfigError(
                    f"{name}: {'.'.join(loc)} is not a table in the config file; "
                    f"write it as a [[{'.'.join(loc[:-1])}]] table"
                )
            if not parts:  # a variable naming a whole item, not a key in it
                raise ConfigError(
                    f"{name}: names an item of {'.'.join(loc[:-1])}, not a key in it; "
                    f"add the key, e.g. {name}__NAME"
                )
            continue
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise ConfigError(
                f"{name}: {'.'.join((*loc, part))} is a single value in the config file, "
                "not a section; remove the variable or fix the key"
            )
        node = child
        loc.append(part)
    last = parts[0]
    target = _step(annotation, last) if annotation is not None else None
    node[last] = _list_value(value) if target is not None and _items(target) else value
    return (*loc, last)


def _select(items: list[Any], selector: str, name: str, where: tuple[str, ...]) -> int:
    """The position of the list item ``selector`` names (a position, or the item's ``name``
    with ``-`` written ``_``); a new item at the end when it names the next position or a
    name not in the list."""
    if selector.isdigit():
        index = int(selector)
        if index > len(items):
            raise ConfigError(
                f"{name}: {'.'.join(where)}[{index}] would leave a gap after the "
                f"{len(items)} item(s) there; number the items from 0"
            )
        if index == len(items):
            items.append({})
        return index
    for index, item in enumerate(items):
        own = item.get("name") if isinstance(item, dict) else None
        if isinstance(own, str) and own.lower().replace("-", "_") == selector.replace("-", "_"):
            return index
    items.append({"name": selector})
    return len(items) - 1


def _list_value(value: str) -> Any:
    """A list setting from a variable: a JSON array, or comma-separated values."""
    text = value.strip()
    if text.startswith("["):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return value  # validation names the key and says a list is expected
    return [part.strip() for part in text.split(",") if part.strip()]


def _record_sources(
    data: Mapping[str, Any], prefix: tuple[str, ...], source: str, out: dict[tuple[str, ...], str]
) -> None:
    for key, value in data.items():
        path = (*prefix, key)
        out[path] = source
        if isinstance(value, Mapping):
            _record_sources(value, path, source, out)


def _describe(exc: ValidationError, sources: Mapping[tuple[str, ...], str]) -> str:
    lines = []
    for err in exc.errors():
        loc = tuple(str(p) for p in err["loc"])
        where = ".".join(loc) or "(root)"
        source = next(
            (sources[loc[:i]] for i in range(len(loc), 0, -1) if loc[:i] in sources),
            # An unknown section set key by key (a variable naming a key inside it).
            next((src for key, src in sources.items() if key[: len(loc)] == loc), "defaults"),
        )
        shown = "" if err["type"] == "missing" else _shown(loc, err.get("input"), err["type"])
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = REMOVED_KEYS.get(
                loc, "unknown key; see deploy/newsradar.example.toml for the keys allowed"
            )
        lines.append(f"{where}{shown} ({source}): {msg}")
    return "\n".join(lines)


def _shown(loc: tuple[str, ...], got: Any, error_type: str) -> str:
    """`` = VALUE`` for an error line, where the value may be shown: never a secret's (a
    webhook URL shows as ``scheme://host/…``), nor a section's, nor an unknown key's text."""
    annotation = None if error_type == "extra_forbidden" else _annotation_at(loc)
    kind = _unwrap(annotation)
    secret = isinstance(kind, type) and issubclass(kind, SecretStr)
    if isinstance(got, Mapping | list | tuple | BaseModel):
        text = "'***'" if secret else ""
    elif annotation is None:
        text = repr(got) if isinstance(got, int | float) else ""
    elif secret and issubclass(kind, SecretUrl):
        text = repr(redact_url(got)) if isinstance(got, str) else "'***'"
    elif secret or re.search(r"password|secret|token|dsn", loc[-1]):
        text = "'***'"
    elif _model(annotation) is not None or _items(annotation) is not None:
        text = ""
    else:
        text = repr(got)
    return f" = {text}" if text else ""
