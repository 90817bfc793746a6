"""Articles per country pair per hour, and the surge test against a pair's own baseline.

A plain in-memory counter: the ``count_pairs`` agent reads pair mentions repartitioned by pair,
so each pair is counted by exactly one worker. It deliberately is not a faust table: a table's
changelog recovery on every rebalance held the whole worker (alerts included) for minutes in
the fault tests, and a pair count is not worth that. The cost: when a pair moves to another
worker (rebalance, restart), its counts start again there, and its surge baseline rebuilds over
the next day.
"""

from __future__ import annotations

from dataclasses import dataclass, field

HOUR = 3600.0
BASELINE_HOURS = 24


@dataclass(frozen=True)
class PairHour:
    pair: str
    current: int
    """Articles mentioning the pair in the current hour."""
    baseline: float
    """Mean articles per hour over the previous BASELINE_HOURS hours."""
    surging: bool


@dataclass
class PairCounter:
    surge_factor: float = 3.0
    surge_min_count: int = 5
    counts: dict[str, dict[int, int]] = field(default_factory=dict)
    """pair -> hour number (epoch hours) -> articles."""

    def add(self, pair: str, now: float, articles: int = 1) -> PairHour:
        """Count ``articles`` mentioning ``pair`` at ``now`` (epoch seconds); the pair's state."""
        if articles < 1:
            raise ValueError(f"a pair mention counts at least one article, not {articles}")
        hour = int(now // HOUR)
        hours = self.counts.setdefault(pair, {})
        hours[hour] = hours.get(hour, 0) + articles
        if len(hours) > BASELINE_HOURS + 1:
            for old in [h for h in hours if h < hour - BASELINE_HOURS]:
                del hours[old]
        current = hours[hour]
        past = sum(hours.get(hour - h, 0) for h in range(1, BASELINE_HOURS + 1))
        baseline = past / BASELINE_HOURS
        surging = current >= self.surge_min_count and current >= self.surge_factor * max(
            baseline, 1.0
        )
        return PairHour(pair, current, baseline, surging)
