"""Swapping rules in a worker: records of the rules topic become the engine's rules, with
their versions on the alerts; a record the worker cannot use is dead-lettered and changes
nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from newsradar.schemas import Article, RuleRecord, encode
from processors.live_rules import LiveRules
from tests.conftest import Consumed


def pushed(rid: str, version: int, **rule: Any) -> Consumed:
    record = RuleRecord(rule_id=rid, version=version, rule={"id": rid, **rule})
    return Consumed(rid.encode(), encode(record), offset=version)


def article(n: int, text: str, feed: str = "https://example.org/rss.xml") -> Article:
    now = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    return Article(
        id=f"a{n}",
        url=f"https://example.org/{n}",
        title="Iraq and Russia sign an energy memorandum in Moscow",
        content=text,
        language="en",
        published=now,
        fetched_at=now,
        feed=feed,
    )


def fired(live: LiveRules, text: str) -> list[tuple[str, int]]:
    return [(a.rule_id, a.rule_version) for a in live.engine.alerts(article(0, text))]


@pytest.fixture
def refused() -> list[tuple[Any, BaseException]]:
    return []


@pytest.fixture
def live(refused: list[tuple[Any, BaseException]]) -> LiveRules:
    return LiveRules(lambda message, exc: refused.append((message, exc)), native=False)


def test_pushed_rules_are_swapped_in_with_their_versions(live: LiveRules) -> None:
    assert live.engine.rules.rules == ()
    assert live.apply([pushed("watch", 1, keywords={"any": ["memorandum"]})])
    assert fired(live, "They signed a memorandum.") == [("watch", 1)]
    assert live.apply([pushed("watch", 2, keywords={"any": ["treaty"]})])
    assert fired(live, "They signed a memorandum.") == []
    assert fired(live, "They signed a treaty.") == [("watch", 2)]
    assert not live.apply([pushed("watch", 2, keywords={"any": ["treaty"]})])  # nothing new


def test_the_records_read_at_start_are_the_first_rules() -> None:
    live = LiveRules(
        lambda message, exc: None,
        [pushed("a", 1, keywords={"any": ["treaty"]}), pushed("a", 2, keywords={"any": ["pact"]})],
        native=False,
    )
    assert live.describe() == "a@v2"
    assert fired(live, "A pact.") == [("a", 2)]


def test_a_tombstone_removes_the_rule(live: LiveRules) -> None:
    live.apply(
        [pushed("a", 1, keywords={"any": ["treaty"]}), pushed("b", 1, keywords={"any": ["treaty"]})]
    )
    assert sorted(fired(live, "A treaty.")) == [("a", 1), ("b", 1)]
    assert live.apply([Consumed(b"a", None)])
    assert fired(live, "A treaty.") == [("b", 1)]


def test_a_rule_the_worker_cannot_use_is_refused_and_it_keeps_the_one_it_has(
    live: LiveRules, refused: list[tuple[Any, BaseException]]
) -> None:
    live.apply([pushed("watch", 1, keywords={"any": ["treaty"]})])
    bad = pushed("watch", 2, keywords={"any": ["treaty"]}, colour="red")
    garbage = Consumed(b"other", b"\xff not json", offset=7)
    unknown_country = pushed("new", 1, countries={"all": ["XX"]})
    assert not live.apply([bad, garbage, unknown_country])
    # Unreadable records first, then the rules that do not validate, in topic order.
    assert [m.offset for m, _ in refused] == [7, 2, 1]
    assert "not valid UTF-8 JSON" in str(refused[0][1])
    assert "colour" in str(refused[1][1])
    assert "XX" in str(refused[2][1])
    assert fired(live, "A treaty.") == [("watch", 1)]
    # A good version after the refused one is taken.
    assert live.apply([pushed("watch", 3, keywords={"any": ["memorandum"]})])
    assert fired(live, "A memorandum.") == [("watch", 3)]
