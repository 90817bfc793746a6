"""Per-pair hourly counts and the surge test."""

from __future__ import annotations

import pytest

from processors.pairs import BASELINE_HOURS, HOUR, PairCounter

T0 = 1_800_000_000.0 - 1_800_000_000.0 % HOUR  # the start of an hour


def test_surge_is_measured_against_the_pairs_own_baseline() -> None:
    counter = PairCounter(surge_factor=3.0, surge_min_count=5)
    for hour in range(24):  # a steady 2 articles an hour for a day
        for _ in range(2):
            counter.add("IQ-RU", T0 + hour * HOUR)
    now = T0 + 24 * HOUR
    states = [counter.add("IQ-RU", now + i) for i in range(7)]
    assert [s.current for s in states] == [1, 2, 3, 4, 5, 6, 7]
    assert {s.baseline for s in states} == {2.0}
    # Surging from 6 on: at least 5 articles and at least 3 x the baseline of 2.
    assert [s.surging for s in states] == [False] * 5 + [True] * 2
    assert counter.add("EG-CN", now).current == 1  # pairs are counted apart


def test_a_new_pair_surges_past_the_minimum_and_old_hours_are_dropped() -> None:
    counter = PairCounter(surge_factor=3.0, surge_min_count=5)
    states = [counter.add("EG-CN", T0 + i) for i in range(5)]
    assert [s.surging for s in states] == [False, False, False, False, True]
    assert states[-1].baseline == 0.0  # no history: the floor of 1 applies
    for hour in range(1, 40):
        counter.add("EG-CN", T0 + hour * HOUR)
    kept = counter.counts["EG-CN"]
    assert len(kept) <= BASELINE_HOURS + 1
    assert min(kept) >= int(T0 // HOUR) + 39 - BASELINE_HOURS


def test_a_combined_mention_counts_its_articles() -> None:
    counter = PairCounter(surge_factor=3.0, surge_min_count=5)
    assert counter.add("IQ-RU", T0, 4).current == 4
    assert counter.add("IQ-RU", T0 + 1).current == 5
    with pytest.raises(ValueError, match="at least one article"):
        counter.add("IQ-RU", T0, 0)
