"""The rules topic: alert rules as a compacted Kafka topic, keyed by rule id.

The latest record of a key is the rule in force (a :class:`~newsradar.schemas.RuleRecord` with
the version ``rules push`` gave it); a tombstone (a record with no value) removes the rule. The
CLI writes it (``rules push``, ``rules sync``, ``rules remove``); every processors worker reads
all of it and swaps its rules when it changes. Validating a rule is the processors' business:
this module moves records and works out versions, it does not judge rules.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from newsradar.compacted import TopicReader, write_table
from newsradar.errors import SchemaError
from newsradar.schemas import RuleRecord, decode, encode
from newsradar.settings import Settings

log = logging.getLogger(__name__)


class RulesReader(TopicReader):
    """Reads the rules topic from its beginning, every partition (no consumer group: every
    reader sees every rule)."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, settings.topics.rules.name)


@dataclass
class RulesState:
    """What the topic says, folded record by record: the rules in force and the records that
    could not be read (with why)."""

    rules: dict[str, RuleRecord] = field(default_factory=dict)
    unreadable: list[tuple[Any, SchemaError]] = field(default_factory=list)

    def fold(self, messages: Sequence[Any]) -> None:
        for message in messages:
            key = bytes(message.key or b"").decode("utf-8", "replace")
            if message.value is None:
                self.rules.pop(key, None)
                continue
            try:
                record = decode(RuleRecord, message.value)
                if record.rule_id != key:
                    raise SchemaError(
                        f"rule record for {record.rule_id!r} is keyed {key!r}; "
                        "the key must be the rule id"
                    )
            except SchemaError as exc:
                self.unreadable.append((message, exc))
                continue
            self.rules[key] = record


def read_rules(settings: Settings, timeout_seconds: float = 30.0) -> RulesState:
    """The rules on the topic now."""
    reader = RulesReader(settings)
    try:
        state = RulesState()
        state.fold(reader.catch_up(timeout_seconds))
        return state
    finally:
        reader.close()


@dataclass(frozen=True)
class RulesPlan:
    """What a push or a sync writes: records for new and changed rules, tombstones."""

    added: tuple[RuleRecord, ...] = ()
    changed: tuple[tuple[RuleRecord, RuleRecord], ...] = ()
    """(in force, replacing it)."""
    unchanged: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.removed)

    def lines(self) -> list[str]:
        """The diff, one line per rule: ``+ id v1``, ``~ id v2 -> v3``, ``- id v4``."""
        out = [f"+ {r.rule_id} v{r.version}" for r in self.added]
        out += [f"~ {old.rule_id} v{old.version} -> v{new.version}" for old, new in self.changed]
        out += [f"- {rid}" for rid in self.removed]
        return out


def _content(rule: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in rule.items() if k != "version"}


def plan(
    current: Mapping[str, RuleRecord],
    wanted: Sequence[Mapping[str, Any]],
    *,
    remove_others: bool = False,
) -> RulesPlan:
    """Records that make the topic hold ``wanted`` (validated rules, as rule files write
    them). A changed rule gets a version above the one in force (or its own, if higher); an
    unchanged one is not written again. ``remove_others``: rules on the topic and not in
    ``wanted`` are removed (sync)."""
    added: list[RuleRecord] = []
    changed: list[tuple[RuleRecord, RuleRecord]] = []
    unchanged: list[str] = []
    for rule in wanted:
        rid = str(rule["id"])
        declared = int(rule.get("version", 1))
        old = current.get(rid)
        if old is None:
            added.append(
                RuleRecord(rule_id=rid, version=declared, rule={**rule, "version": declared})
            )
        elif _content(old.rule) == _content(rule):
            unchanged.append(rid)
        else:
            version = max(declared, old.version + 1)
            new = RuleRecord(rule_id=rid, version=version, rule={**rule, "version": version})
            changed.append((old, new))
    named = {str(r["id"]) for r in wanted}
    removed = sorted(set(current) - named) if remove_others else []
    return RulesPlan(tuple(added), tuple(changed), tuple(unchanged), tuple(removed))


def write(settings: Settings, plan: RulesPlan, timeout_seconds: float = 30.0) -> None:
    """Write ``plan`` to the topic and wait until the broker has every record."""
    changes: dict[str, bytes | None] = {
        r.rule_id: encode(r) for r in (*plan.added, *(new for _, new in plan.changed))
    }
    changes.update(dict.fromkeys(plan.removed))
    write_table(settings, settings.topics.rules.name, changes, timeout_seconds=timeout_seconds)
