"""The rules topic's bookkeeping: versions a push gives, the diff a sync prints, and how
records fold into the rules in force (in memory; the broker side is in
tests/integration/processors/test_live_rules.py)."""

from __future__ import annotations

from typing import Any

from newsradar.rules_topic import RulesPlan, RulesState, plan
from newsradar.schemas import RuleRecord, encode
from tests.conftest import Consumed


def record(rid: str, version: int, **rule: Any) -> RuleRecord:
    return RuleRecord(rule_id=rid, version=version, rule={"id": rid, "version": version, **rule})


def test_new_rules_get_their_own_version_and_unchanged_ones_are_not_written_again() -> None:
    current = {"a": record("a", 1, threshold=1.0)}
    wanted = [
        {"id": "a", "version": 1, "threshold": 1.0},
        {"id": "b", "version": 3, "threshold": 0.0},
    ]
    result = plan(current, wanted)
    assert [(r.rule_id, r.version) for r in result.added] == [("b", 3)]
    assert result.added[0].rule["version"] == 3
    assert result.changed == ()
    assert result.unchanged == ("a",)
    assert result.lines() == ["+ b v3"]


def test_a_changed_rule_gets_a_version_above_the_one_in_force_or_its_own_if_higher() -> None:
    current = {"a": record("a", 4, threshold=1.0), "b": record("b", 1, threshold=1.0)}
    wanted = [
        {"id": "a", "version": 1, "threshold": 2.0},
        {"id": "b", "version": 9, "threshold": 2.0},
    ]
    result = plan(current, wanted)
    assert [(old.version, new.version) for old, new in result.changed] == [(4, 5), (1, 9)]
    assert [new.rule["version"] for _, new in result.changed] == [5, 9]
    assert result.lines() == ["~ a v4 -> v5", "~ b v1 -> v9"]


def test_only_a_sync_removes_the_rules_the_file_does_not_name() -> None:
    current = {"a": record("a", 1), "gone": record("gone", 2)}
    wanted = [{"id": "a", "version": 1}]
    assert plan(current, wanted).removed == ()
    assert plan(current, wanted).empty
    synced = plan(current, wanted, remove_others=True)
    assert synced.removed == ("gone",)
    assert synced.lines() == ["- gone"]
    assert not synced.empty
    assert RulesPlan().empty


def test_the_latest_record_of_a_key_is_in_force_and_a_tombstone_removes_it() -> None:
    state = RulesState()
    state.fold(
        [
            Consumed(b"a", encode(record("a", 1))),
            Consumed(b"b", encode(record("b", 1))),
            Consumed(b"a", encode(record("a", 2))),
            Consumed(b"b", None),
        ]
    )
    assert {rid: r.version for rid, r in state.rules.items()} == {"a": 2}
    assert state.unreadable == []


def test_unreadable_records_are_set_aside_with_the_reason() -> None:
    state = RulesState()
    state.fold(
        [
            Consumed(b"a", encode(record("a", 1))),
            Consumed(b"a", b"{not json", offset=1),
            Consumed(b"x", encode(record("a", 3)), offset=2),
            Consumed(b"a", b'{"rule_id": "a", "version": 0, "rule": {"id": "a"}}', offset=3),
        ]
    )
    assert state.rules["a"].version == 1
    reasons = [str(exc) for _, exc in state.unreadable]
    assert [m.offset for m, _ in state.unreadable] == [1, 2, 3]
    assert "not valid UTF-8 JSON" in reasons[0]
    assert "keyed 'x'" in reasons[1]
    assert "version" in reasons[2]
