"""The processors stage as a faust app: ``newsradar.articles`` in, ``newsradar.alerts`` out.

Agents:

- ``detect`` reads articles, runs the detection :class:`~processors.classify.Engine`, sends one
  alert per fired rule (keyed by alert id, so redeliveries carry the same id and sinks upsert),
  counts the article's country pairs in ``newsradar_pair_articles_total`` (a counter:
  ``increase()`` over it is exact across workers and restarts); every PAIR_FLUSH_SECONDS the
  worker sends one pair-mention record per pair with its count (a combiner: one record per
  pair per article doubled the worker's messages). A record that fails for any reason goes to
  ``newsradar.deadletter`` with stage, error type and reason; the agent goes on with the next.
  Every exception is caught per event: one escaping an agent would ack the message and lose it.
- ``count_pairs`` reads the pair mentions, repartitioned by pair so each pair is counted by one
  worker, counts articles per pair per hour (:class:`~processors.pairs.PairCounter`, in
  memory: see there why not a faust table), and flags a surge against the pair's own 24-hour
  baseline.
- ``report_lag`` (a timer) exports the worker's consumer lag on ``newsradar.articles`` per
  partition (:mod:`processors.lag`).

Messages sent while handling an event are attached to its offset: faust commits the offset only
after they are acknowledged, so a crash re-processes rather than loses (at-least-once). Pair
counts are statistics, not deliveries: a worker that dies loses the pair mentions it has not
sent yet (at most PAIR_FLUSH_SECONDS of them).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import faust
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

from newsradar.files import private_dir
from newsradar.kafka_admin import InternalTopic
from newsradar.schemas import Article, DeadLetter, decode, encode
from newsradar.settings import Settings
from processors import metrics
from processors.classify import ArticleText, Engine
from processors.lag import LAG_EVERY_SECONDS, LagReporter
from processors.live_rules import LiveRules
from processors.pairs import PairCounter

log = logging.getLogger("newsradar.processors")
STAGE = "processors"
PAIR_FLUSH_SECONDS = 1.0
"""How long pair mentions are combined in the worker before they go to the pair counter."""


def broker_credentials(settings: Settings) -> Any:
    kafka = settings.kafka
    ssl_context = None
    if kafka.security_protocol in ("SSL", "SASL_SSL"):
        import ssl

        ssl_context = ssl.create_default_context(
            cafile=str(kafka.ssl_cafile) if kafka.ssl_cafile else None
        )
        if kafka.ssl_certfile:
            ssl_context.load_cert_chain(
                str(kafka.ssl_certfile), str(kafka.ssl_keyfile) if kafka.ssl_keyfile else None
            )
    if kafka.security_protocol.startswith("SASL_"):
        return faust.SASLCredentials(
            username=kafka.sasl_username,
            password=kafka.sasl_password.get_secret_value() if kafka.sasl_password else None,
            mechanism=kafka.sasl_mechanism,
            ssl_context=ssl_context,
        )
    if ssl_context is not None:
        return faust.SSLCredentials(ssl_context)
    return None


# faust-streaming 0.15 creates its worker consumer with fetch_max_wait_ms=1500, hard-coded.
# aiokafka does not re-fetch a partition while records of it are buffered, so a partition that
# has just been drained waits for the fetch in flight for the others, which idle partitions
# (internal topics, quiet articles partitions) hold open for the full 1.5 s: measured, the
# alert latency at 120 articles/s was 1.4 s (p50) with it and tens of ms without it.
FETCH_MAX_WAIT_MS = 100
_create_worker_consumer = AIOKafkaConsumerThread._create_worker_consumer


def _short_fetch_wait(self: AIOKafkaConsumerThread, transport: Any) -> Any:
    consumer = _create_worker_consumer(self, transport)
    consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS  # read when the consumer starts
    return consumer


AIOKafkaConsumerThread._create_worker_consumer = _short_fetch_wait  # type: ignore[method-assign]


def internal_topics(settings: Settings) -> list[InternalTopic]:
    """The topics the app makes for itself, to be created before it starts: a worker whose
    consumer subscribes before faust has created them ignores them ("Ignoring missing topic")
    until the next rebalance."""
    return [
        InternalTopic(
            f"{settings.processors.app_id}-pair-mentions", settings.topics.articles.partitions
        )
    ]


def create_app(
    settings: Settings, engine: Engine | None = None, live: LiveRules | None = None
) -> faust.App:
    """The faust app for ``settings``. Its rules: ``live``'s, swapped in as the rules topic
    changes (what ``newsradar processors run`` passes); else ``engine``'s, fixed, which
    defaults to the configured rules file."""
    conf = settings.processors
    if live is not None:
        engine = live.engine
    engine = engine or Engine.default(conf.rules_file)
    fixed = engine
    log.info(
        "detection engine: %s",
        "native core" if engine.core else "Python steps (native core not built or turned off)",
    )
    metrics.ENGINE.info({"engine": "native" if engine.core else "python"})
    datadir = settings.data_dir / "processors"
    private_dir(datadir)  # faust makes only the last level itself
    app = faust.App(
        conf.app_id,
        broker=[f"kafka://{s}" for s in settings.bootstrap_servers],
        broker_credentials=broker_credentials(settings),
        store="memory://",
        web_enabled=False,
        datadir=str(datadir),
        topic_partitions=settings.topics.articles.partitions,
        topic_replication_factor=settings.topics.replication_factor,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        producer_compression_type="gzip",
        # Batch what the worker writes (alerts, pair mentions) for a few ms:
        # one produce request per message cost a quarter of the worker's CPU (profiled).
        producer_linger=0.005,
        broker_commit_interval=conf.commit_interval_seconds,
    )

    def raw_topic(name: str, **options: Any) -> Any:
        return app.topic(
            name,
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
            **options,
        )

    articles = raw_topic(settings.topics.articles.name)
    alerts = raw_topic(settings.topics.alerts.name)
    deadletter = raw_topic(settings.topics.deadletter.name)
    # Internal: faust creates it on start (the pipeline's own topics are created explicitly).
    pair_mentions = raw_topic(
        f"{conf.app_id}-pair-mentions",
        internal=True,
        partitions=settings.topics.articles.partitions,
    )
    pair_counter = PairCounter(conf.surge_factor, conf.surge_min_count)
    surging_now: set[str] = set()
    # Pair mentions are combined in the worker for PAIR_FLUSH_SECONDS and sent as one record
    # per pair with its count: one record per pair per article doubled the worker's messages.
    unsent_pairs: Counter[str] = Counter()

    async def dead_letter(event: Any, exc: BaseException) -> None:
        msg = event.message
        record = DeadLetter.for_message(msg, stage=STAGE, error=exc)
        metrics.DEADLETTERS.labels(STAGE, record.error_type).inc()
        metrics.ARTICLES.labels("deadlettered").inc()
        log.warning(
            "Record dead-lettered. topic=%s partition=%s offset=%s error_type=%s reason=%s",
            msg.topic,
            msg.partition,
            msg.offset,
            record.error_type,
            record.reason,
        )
        await deadletter.send(key=event.key, value=encode(record))

    @app.agent(articles, name="detect")
    async def detect(stream: Any) -> None:
        async for event in stream.events():
            started = time.perf_counter()
            # One engine per article: a swap in the middle must not mix two rule sets.
            current = live.engine if live is not None else fixed
            try:
                article = decode(Article, event.value)
                result = current.classify(ArticleText.of(article))
                ts = event.message.timestamp
                enqueued = datetime.fromtimestamp(ts, UTC) if ts else None
                raised = current.alerts(article, result, enqueued)
            except Exception as exc:  # every failure has a place to go
                await dead_letter(event, exc)
                continue
            for alert in raised:
                await alerts.send(key=alert.id.encode(), value=encode(alert))
                metrics.ALERTS.labels(alert.rule_id).inc()
            unsent_pairs.update(result.pairs)
            for pair in result.pairs:
                metrics.PAIR_ARTICLES.labels(pair).inc()
            metrics.ARTICLES.labels("alerted" if raised else "no_alert").inc()
            metrics.PROCESSING.observe(time.perf_counter() - started)
            if raised and event.message.timestamp:
                metrics.LAG.observe(max(0.0, time.time() - event.message.timestamp))

    @app.timer(interval=PAIR_FLUSH_SECONDS)  # type: ignore[untyped-decorator]
    async def send_pair_mentions() -> None:
        batch = dict(unsent_pairs)
        unsent_pairs.clear()
        for pair, n in batch.items():
            await pair_mentions.send(key=pair.encode(), value=str(n).encode())

    lag = LagReporter(settings.topics.articles.name)

    @app.timer(interval=LAG_EVERY_SECONDS)  # type: ignore[untyped-decorator]
    async def report_lag() -> None:
        try:
            await lag.report(app.consumer)
        except Exception as exc:  # not assigned yet, or Kafka away for a moment: next time
            log.debug("Lag not measured. topic=%s error=%s", lag.topic, exc)

    @app.agent(pair_mentions, name="count-pairs")
    async def count_pairs(stream: Any) -> None:
        async for event in stream.events():
            try:
                pair = bytes(event.key).decode()
                state = pair_counter.add(pair, time.time(), int(bytes(event.value)))
                if state.surging and pair not in surging_now:
                    log.warning(
                        "Country pair surging. pair=%s count_hour=%d baseline_hour=%.2f",
                        pair,
                        state.current,
                        state.baseline,
                    )
                metrics.PAIR_SURGE.labels(pair).set(1 if state.surging else 0)
                (surging_now.add if state.surging else surging_now.discard)(pair)
            except Exception as exc:
                await dead_letter(event, exc)

    return app
