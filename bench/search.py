"""Benchmark of search and triage in the embedded store (sinks/sqlite.py, sinks/search.py), not
a test.

Builds alerts with the detection engine from the demo articles (newsradar/demo/articles.jsonl,
Arabic and English), copies them to ``N`` alerts (distinct ids and articles), then measures in
one run, each against a baseline measured beside it:

- write:     SqliteSink.write in batches of 100, search index and all, against the same rows
             inserted into the store's first schema (no index): what indexing costs the sink;
- migrate:   opening a store of ``N`` alerts left by the release before search (migration 2
             indexes every stored alert), in alerts per second;
- search:    a page of 100 results for one- and two-word queries (Arabic with variant
             spellings, English), against reading every stored record and matching its folded
             text in Python (what a store without an index would do).

Last line: one JSON object with the figures.
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from newsradar.schemas import Alert, Article
from processors.classify import Engine
from sinks.search import AlertFilter, alert_text, query_words
from sinks.sqlite import MIGRATIONS, SqliteSink, connect, select_alerts

N = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
DEMO = Path(__file__).parent.parent / "newsradar" / "demo" / "articles.jsonl"
QUERIES = ("الحكومه الروسيّة", "الإرهاب", "بوريسوف", "Lavrov", "russia iraq", "nowhere-word")


def demo_alerts() -> list[Alert]:
    now = datetime.now(UTC)
    engine = Engine.default()
    found: list[Alert] = []
    for line in DEMO.read_text(encoding="utf-8").splitlines():
        data = json.loads(line)
        article = Article(
            id=data["id"],
            title=data.get("title", ""),
            summary=data.get("summary", ""),
            content=data.get("content", ""),
            language=data.get("language", ""),
            published=now,
            fetched_at=now,
        )
        found += engine.alerts(article)
    return found


def copies(alerts: list[Alert], n: int) -> list[Alert]:
    return [
        alerts[i % len(alerts)].model_copy(
            update={"id": f"bench-{i}", "article_id": f"{alerts[i % len(alerts)].article_id}-{i}"}
        )
        for i in range(n)
    ]


def old_rows(alerts: list[Alert]) -> list[tuple[object, ...]]:
    return [
        (
            a.id, a.rule_id, a.rule_version, a.score, a.article_id, a.article_url,
            a.article_title, a.article_published.isoformat(), a.language, a.feed,
            json.dumps(a.countries), json.dumps(a.pairs), json.dumps(a.topics),
            a.model_dump_json(), a.created_at.isoformat(),
        )
        for a in alerts
    ]  # fmt: skip


def old_store(path: Path, alerts: list[Alert]) -> float:
    """The first schema, filled in batches of 100 as the sink writes; seconds taken."""
    first = MIGRATIONS[0]
    assert isinstance(first, str)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.executescript(first)
    db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    db.execute("INSERT INTO schema_version VALUES (1)")
    rows = old_rows(alerts)
    start = time.perf_counter()
    for i in range(0, len(rows), 100):
        db.execute("BEGIN IMMEDIATE")
        db.executemany(
            "INSERT INTO alerts (id, rule_id, rule_version, score, article_id, article_url,"
            " article_title, article_published, language, feed, countries, pairs, topics,"
            " record, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows[i : i + 100],
        )
        db.execute("COMMIT")
    taken = time.perf_counter() - start
    db.close()
    return taken


def scan_search(path: Path, query: str, limit: int = 100) -> int:
    """The baseline: every record read, its search text made, the query's words looked for."""
    wanted = query_words(query)
    db = sqlite3.connect(path)
    hits = 0
    for (record,) in db.execute("SELECT record FROM alerts ORDER BY rowid DESC"):
        have = alert_text(Alert.model_validate_json(record)).split()
        if all(any(w.startswith(f) for f in group for w in have) for group in wanted):
            hits += 1
            if hits == limit:
                break
    db.close()
    return hits


def main() -> None:
    base = demo_alerts()
    alerts = copies(base, N)
    matches = statistics.mean(len(a.matches) for a in base)
    print(f"{len(base)} demo alerts ({matches:.0f} matched terms each on average), copied to {N}")
    root = Path(tempfile.mkdtemp(prefix="newsradar-bench-search-"))

    baseline = old_store(root / "old.sqlite", alerts)
    sink = SqliteSink(root / "new.sqlite")
    sink.setup()
    start = time.perf_counter()
    for i in range(0, N, 100):
        sink.write(alerts[i : i + 100])
    indexed = time.perf_counter() - start
    sink.close()
    print(
        f"write: {N / indexed:,.0f} alerts/s with the search index, {N / baseline:,.0f} alerts/s "
        f"without (ratio {baseline / indexed:.2f})"
    )

    start = time.perf_counter()
    connect(root / "old.sqlite").close()
    migrated = time.perf_counter() - start
    print(
        f"migrate: {N:,} stored alerts indexed in {migrated:.1f} s ({N / migrated:,.0f} alerts/s)"
    )

    db = connect(root / "new.sqlite")
    figures = {}
    for query in QUERIES:
        times = []
        for _ in range(5):
            start = time.perf_counter()
            found = select_alerts(db, AlertFilter(query=query), limit=100)
            times.append(time.perf_counter() - start)
        start = time.perf_counter()
        scanned = scan_search(root / "new.sqlite", query)
        scan = time.perf_counter() - start
        index = min(times)
        figures[query] = (len(found), index, scan)
        assert len(found) == scanned, (query, len(found), scanned)
        print(
            f"search {query!r}: {len(found)} results, {index * 1000:.1f} ms with the index, "
            f"{scan * 1000:.0f} ms scanning (x{scan / index:,.0f})"
        )
    db.close()
    print(
        json.dumps(
            {
                "alerts": N,
                "write_alerts_per_s": round(N / indexed),
                "write_alerts_per_s_without_index": round(N / baseline),
                "write_ratio": round(baseline / indexed, 3),
                "migrate_alerts_per_s": round(N / migrated),
                "search_ms": {q: round(f[1] * 1000, 2) for q, f in figures.items()},
                "search_speedup_over_scan": {q: round(f[2] / f[1], 1) for q, f in figures.items()},
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
