"""Settings: one TOML file, overridable by environment variables, validated by typed models.

Where settings come from, later ones winning:

1. defaults in the models below;
2. the TOML file: ``--config FILE``, else ``$NEWSRADAR_CONFIG``, else ``./newsradar.toml``;
3. environment variables: ``NEWSRADAR_DATA_DIR``, ``NEWSRADAR_KAFKA_BOOTSTRAP``, and for any key
   ``NEWSRADAR_<SECTION>__<KEY>`` (e.g. ``NEWSRADAR_BROKER__PORT=19092``,
   ``NEWSRADAR_TOPICS__ARTICLES__PARTITIONS=16``, ``NEWSRADAR_KAFKA__SASL_PASSWORD=...``).

Unknown keys are errors, not silently ignored: a typo must not fall back to a default.
``deploy/newsradar.example.toml`` documents every key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

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

ENV_PREFIX = "NEWSRADAR_"
ENV_ALIASES: Mapping[str, tuple[str, ...]] = {
    "NEWSRADAR_DATA_DIR": ("data_dir",),
    "NEWSRADAR_KAFKA_BOOTSTRAP": ("kafka", "bootstrap"),
}
DEFAULT_CONFIG_FILE = Path("newsradar.toml")
KAFKA_VERSION = "4.1.1"
"""The Kafka release the local broker runs by default (tested in CI)."""

Port = Annotated[int, Field(ge=1, le=65535)]


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


class TopicsSettings(Section):
    """Topic names and partition counts. More partitions let more workers share the load."""

    articles: TopicSpec = TopicSpec(name=topics.ARTICLES)
    alerts: TopicSpec = TopicSpec(name=topics.ALERTS)
    deadletter: TopicSpec = TopicSpec(name=topics.DEADLETTER, partitions=1)
    replication_factor: int = Field(default=1, ge=1, le=32)

    def all(self) -> tuple[TopicSpec, ...]:
        return (self.articles, self.alerts, self.deadletter)


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
    """Feed list (YAML or TOML); empty: the shipped list producers/data/feeds.yaml."""
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


class AtomSinkSettings(Section):
    """Atom feeds of alerts, one per rule, served over HTTP for any feed reader."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=8181, ge=0, le=65535)
    entries: int = Field(default=100, ge=1, le=10_000)
    """Newest alerts per feed."""


Cadence = Literal["immediate", "hourly", "daily"]


class NoiseSettings(Section):
    """Noise control for a push channel (email, webhook). Nothing is dropped: an alert that is
    not sent at once is held (SQLite) and goes out in a digest when it is due."""

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
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {value!r} (e.g. UTC, Asia/Baghdad)") from None
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _hours(cls, value: str | None) -> str | None:
        if value is not None:
            for part in value.split("-"):
                hour, minute = (int(x) for x in part.split(":"))
                if hour > 23 or minute > 59:
                    raise ValueError(f"{part!r} is not a time of day (00:00 to 23:59)")
        return value


class EmailSinkSettings(Section):
    """One email per alert over SMTP (plain text and HTML, matched terms highlighted)."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")
    host: str
    port: Port = 587
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    sender: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    recipients: tuple[str, ...] = Field(min_length=1)
    rules: tuple[str, ...] = ()
    """Only alerts of these rules; empty: all."""
    timeout_seconds: float = Field(default=20.0, gt=0, le=300)
    cadence: Cadence = "immediate"
    """``immediate``: one email per alert; ``hourly``/``daily``: one digest per rule."""
    rule_cadence: dict[str, Cadence] = {}
    """Per-rule cadence overriding ``cadence``, e.g. ``{ iraq-russia = "immediate" }``."""
    daily_at: str = Field(default="08:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    """When daily digests go out, in ``noise.timezone``."""
    noise: NoiseSettings = NoiseSettings()

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
    url: str = Field(pattern=r"^https?://")
    secret: SecretStr | None = None
    """Key of the HMAC-SHA256 signature header X-Newsradar-Signature (hex of the body)."""
    mode: Literal["json", "slack"] = "json"
    timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    rules: tuple[str, ...] = ()
    """Only alerts of these rules; empty: all."""
    noise: NoiseSettings = NoiseSettings()


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
    atom: AtomSinkSettings = AtomSinkSettings()
    webhooks: tuple[WebhookSinkSettings, ...] = ()
    emails: tuple[EmailSinkSettings, ...] = ()
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(default=9103, ge=0, le=65535)


class DashboardSettings(Section):
    """The web dashboard: live alerts (server-sent events), filters, alert detail, pair
    chart, feed health. It reads the embedded SQLite store and the producers' state."""

    enabled: bool = True
    host: str = "127.0.0.1"
    """Bound to this machine by default; put a reverse proxy with auth in front to share it."""
    port: Port = 8180
    poll_seconds: float = Field(default=1.0, gt=0, le=60)
    """How often the store is checked for new alerts to push to open pages."""


class Settings(Section):
    data_dir: Path = Path("var")
    kafka: KafkaSettings = KafkaSettings()
    broker: BrokerSettings = BrokerSettings()
    topics: TopicsSettings = TopicsSettings()
    producers: ProducersSettings = ProducersSettings()
    processors: ProcessorsSettings = ProcessorsSettings()
    sinks: SinksSettings = SinksSettings()
    dashboard: DashboardSettings = DashboardSettings()

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
    for name, value in sorted(env.items()):
        key = _env_key(name)
        if key is None:
            continue
        _set_path(data, key, value, name)
        sources[key] = f"env {name}"
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, sources)) from None
    except RecursionError:  # a variable NEWSRADAR_A__B__... thousands of sections deep
        raise ConfigError(
            "settings nest too deeply; newsradar's keys are a few sections deep"
        ) from None


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
    if name in ENV_ALIASES:
        return ENV_ALIASES[name]
    if not name.startswith(ENV_PREFIX) or "__" not in name:
        return None
    return tuple(part.lower() for part in name[len(ENV_PREFIX) :].split("__"))


def _set_path(data: dict[str, Any], key: tuple[str, ...], value: str, env_name: str) -> None:
    node = data
    for part in key[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(
                f"{env_name}: {'.'.join(key[:-1])} is a single value in the config file, "
                "not a section; remove the variable or fix the key"
            )
        node = child
    node[key[-1]] = value


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
            (sources[loc[:i]] for i in range(len(loc), 0, -1) if loc[:i] in sources), "defaults"
        )
        got = err.get("input")
        shown = "" if isinstance(got, Mapping) or err["type"] == "missing" else f" = {got!r}"
        if "password" in where and shown:
            shown = " = '***'"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key; see deploy/newsradar.example.toml for the keys allowed"
        lines.append(f"{where}{shown} ({source}): {msg}")
    return "\n".join(lines)
