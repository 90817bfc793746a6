"""The rules in force in a worker, taken from the rules topic and swapped in without a restart.

:class:`LiveRules` folds the topic's records (newsradar/rules_topic.py) into rules, validates
each rule as ``rules check`` does, and builds a new :class:`~processors.classify.Engine` when
they change (the whole vocabulary compiled again: 1.6-1.8 s on a shared 2-CPU machine, in the
follower thread, so the event loop goes on with the old engine meanwhile); the agents read
:attr:`LiveRules.engine` per event, so an article is classified by one rule set, the old or the
new. A record this worker cannot
read (bad JSON, a schema or a rule key it does not know) goes to the dead-letter topic with the
reason, and the worker keeps the version of that rule it has.

:class:`RulesFollower` is the thread that reads the topic after start and feeds
:class:`LiveRules`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError

from newsradar.errors import NewsradarError
from newsradar.rules_topic import RulesReader, RulesState
from newsradar.schemas import DeadLetter, RuleRecord, encode
from newsradar.settings import Settings
from processors import metrics
from processors.classify import Engine
from processors.rules import Rule, RuleSet
from processors.terms import gazetteer_terms, topic_terms

log = logging.getLogger("newsradar.processors")

DeadLetterSink = Callable[[Any, BaseException], None]
"""Called with a topic record a worker cannot use and why."""


def validated(record: RuleRecord, known_countries: frozenset[str], source: str) -> Rule:
    """The record's rule, validated as a rule file's; :class:`RuleFileError` says why not."""
    data = {**record.rule, "id": record.rule_id, "version": record.version}
    (rule,) = RuleSet.from_data([data], source=source, known_countries=known_countries).rules
    return rule


class LiveRules:
    """The worker's rules and the engine built on them; ``records``: the topic's records
    read at start (the engine is built once for them)."""

    def __init__(
        self,
        dead_letter: DeadLetterSink,
        records: Sequence[Any] = (),
        *,
        topic: str = "rules topic",
        native: bool | None = None,
    ) -> None:
        self.topic = topic
        self._dead_letter = dead_letter
        self._terms = gazetteer_terms() + topic_terms()
        self._countries = frozenset(
            t.denotes[8:] for t in self._terms if t.denotes.startswith("country:")
        )
        self._native = native
        self._state = RulesState()
        self._rules: dict[str, Rule] = {}
        self._take(records)
        self.engine = self._build()
        log.info("Rules in force. topic=%s rules=%s", topic, self.describe())

    def describe(self) -> str:
        """``id@vN,...``: the rules in force with their versions."""
        return ",".join(f"{r.id}@v{r.version}" for r in self.engine.rules.rules) or "(none)"

    def apply(self, messages: Sequence[Any]) -> bool:
        """Fold ``messages`` (records of the topic, in order) in; swap the engine when the
        rules changed. Returns whether they did."""
        if not self._take(messages):
            return False
        self.engine = self._build()
        log.info("Rules swapped in. topic=%s rules=%s", self.topic, self.describe())
        return True

    def _take(self, messages: Sequence[Any]) -> bool:
        """Fold ``messages`` into the rules; whether they changed."""
        state = self._state
        state.unreadable.clear()
        state.fold(messages)
        for message, exc in state.unreadable:
            self._refuse(message, exc)
        rules = {rid: rule for rid, rule in self._rules.items() if rid in state.rules}
        changed = len(rules) != len(self._rules)
        for rid, record in list(state.rules.items()):
            known = rules.get(rid)
            if known is not None and known.version == record.version:
                continue
            try:
                rules[rid] = validated(record, self._countries, f"{self.topic} {rid}")
                changed = True
            except NewsradarError as exc:
                message = next(m for m in reversed(messages) if bytes(m.key or b"") == rid.encode())
                self._refuse(message, exc)
                # Keep the version of the rule this worker has (none if it never had one).
                if known is not None:
                    state.rules[rid] = RuleRecord(
                        rule_id=rid, version=known.version, rule=known.model_dump(mode="json")
                    )
                else:
                    del state.rules[rid]
        self._rules = rules
        return changed

    def _build(self) -> Engine:
        ordered = tuple(self._rules[rid] for rid in sorted(self._rules))
        return Engine(RuleSet(ordered, source=self.topic), terms=self._terms, native=self._native)

    def _refuse(self, message: Any, exc: BaseException) -> None:
        log.warning(
            "Rule record refused; the worker keeps its rules. topic=%s partition=%s offset=%s "
            "reason=%s",
            message.topic,
            message.partition,
            message.offset,
            exc,
        )
        self._dead_letter(message, exc)


def dead_letter_to(settings: Settings) -> DeadLetterSink:
    """A sink that sends refused rule records to the dead-letter topic (stage ``processors``),
    with the original bytes and the reason; a failed send is logged, never raised."""
    producer: list[Any] = []

    def send(message: Any, exc: BaseException) -> None:
        record = DeadLetter.for_message(message, stage="processors", error=exc)
        metrics.DEADLETTERS.labels("processors", record.error_type).inc()
        try:
            if not producer:
                producer.append(
                    KafkaProducer(
                        bootstrap_servers=settings.bootstrap_servers,
                        acks="all",
                        **settings.kafka.client_options(),
                    )
                )
            producer[0].send(
                settings.topics.deadletter.name, key=message.key, value=encode(record)
            ).get(timeout=30)
        except KafkaError as error:
            log.error(
                "Dead letter not sent. topic=%s offset=%s error=%s",
                message.topic,
                message.offset,
                error,
            )

    return send


class RulesFollower(threading.Thread):
    """Reads the rules topic until stopped and hands new records to :class:`LiveRules`.
    Kafka going away only delays the next swap: the worker keeps its rules meanwhile."""

    def __init__(self, reader: RulesReader, live: LiveRules, poll_seconds: float = 0.5) -> None:
        super().__init__(name="rules-follower", daemon=True)
        self.reader = reader
        self.live = live
        self.poll_seconds = poll_seconds
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                messages = self.reader.poll(self.poll_seconds)
                if messages:
                    self.live.apply(messages)
            except Exception as exc:  # the thread must outlive a broker restart
                log.warning(
                    "Rules topic not read. topic=%s error_type=%s error=%s",
                    self.reader.topic,
                    type(exc).__name__,
                    exc,
                )
                self._stop_event.wait(self.poll_seconds)

    def stop(self) -> None:
        self._stop_event.set()
