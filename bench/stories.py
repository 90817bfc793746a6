"""Benchmark of stories: does newsradar put the articles of one story together, and only those?

Labelled development data (``bench/data/stories/``, ids and labels only):

- ``ant-dev.tsv``: every article of a date window of ANT's BBC and CNN folders (Arabic, 2018),
  each with a story label (``-``: alone in its story), labelled by hand. Read from ``ANT_DIR``
  (required), as ``bench/relevance.py`` reads it; ANT's other three folders are held out and
  never read.
- ``written.jsonl``: Arabic-English pairs we wrote ourselves (one article per line with ``id``,
  ``story``, ``language``, ``published``, ``title``, ``summary``, ``content``), near misses
  included.

Each set goes through one :class:`~processors.stories.StoryBook` in publication order as if
every article alerted (the default window, 48 h). Figures:

- **pairwise precision and recall** of "same story" over every pair of articles of a set;
- **alert reduction, all articles**: ``1 - pushes / articles`` when every article alerts (a push
  is a story's first article or an escalation); what a perfect grouping would give (``1 -
  stories / articles`` by the labels) is printed beside it;
- **alert reduction, the rules' alerts**: the same for the alerts the shipped rules raise on the
  whole of ANT's BBC and CNN folders (pushes against alerts; few), and for the alerts of the
  co-occurrence rule newsradar used before (``bench/data/relevance/baseline-rules.yaml``: many);
- **cost**: time per article of classification with signing and story assignment, relative to
  classification alone, measured in the same run (best of alternating rounds), as if every
  article alerted; and as the processors run it, where only alerted articles are signed and
  placed (classification plus the story work times the share of articles the shipped rules
  alert on).

Last line: one JSON object with the figures (``pairwise_precision``, ``pairwise_recall`` and
``alert_reduction`` are the ANT set's).

Usage: ``ANT_DIR=/tmp/ant .venv/bin/python bench/stories.py`` (``STORY_LABELS_DIR`` reads the
labels from another folder).
"""

from __future__ import annotations

import csv
import json
import os
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from itertools import combinations
from pathlib import Path

from bench.relevance import Unusable, ant_article, ant_documents
from processors.classify import ArticleText, Classification, Engine
from processors.stories import Signature, Signer, StoryBook, entities_of

ROOT = Path(__file__).resolve().parent.parent
LABELS = Path(os.environ.get("STORY_LABELS_DIR") or ROOT / "bench" / "data" / "stories")
BASELINE_RULES = ROOT / "bench" / "data" / "relevance" / "baseline-rules.yaml"
ROUNDS = 5


@dataclass(frozen=True)
class Item:
    text: ArticleText
    outlet: str
    published: float
    story: str
    """The label: a story name, or ``-`` for an article alone in its story."""


def ant_articles(root: Path) -> Iterator[tuple[ArticleText, str, float]]:
    """Every article of ANT's development folders, with its outlet and publication time."""
    for folder, doc in ant_documents(root):
        try:
            published = parsedate_to_datetime(doc.get("TIME", "")).timestamp()
        except (TypeError, ValueError):
            continue
        yield ant_article(doc), doc.get("SRC", folder), published


def ant_labels(path: Path) -> dict[str, str]:
    if not path.is_file():
        raise Unusable(f"{path} is missing: the labelled ANT story set (ids and story labels)")
    labels: dict[str, str] = {}
    with path.open(encoding="utf-8") as f:
        rows = csv.DictReader((line for line in f if not line.startswith("#")), delimiter="\t")
        for row in rows:
            labels[row["id"].strip()] = (row.get("story") or "-").strip() or "-"
    return labels


def written_items(path: Path) -> list[Item]:
    if not path.is_file():
        raise Unusable(f"{path} is missing: the Arabic-English pairs we wrote")
    items = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            published = datetime.fromisoformat(d["published"]).timestamp()
            items.append(
                Item(
                    ArticleText(
                        id=d["id"],
                        title=d.get("title", ""),
                        summary=d.get("summary", ""),
                        content=d.get("content", ""),
                        language=d["language"],
                    ),
                    f"written-{d['language']}",
                    published,
                    d["story"],
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise Unusable(f"{path}:{n}: not an article line ({exc})") from None
    return items


# --- scoring -------------------------------------------------------------------------------------


def sign(signer: Signer, item: Item, result: Classification) -> Signature:
    t = item.text
    return signer.sign(
        title=t.title,
        summary=t.summary,
        content=t.content,
        language=result.language,
        published=item.published,
        entities=entities_of(result),
    )


@dataclass
class Grouping:
    predicted: dict[str, str]
    pushes: int


def group(engine: Engine, signer: Signer, items: Sequence[Item]) -> Grouping:
    """Every item through one story book, in publication order, as if each alerted."""
    book = StoryBook(signer)
    predicted: dict[str, str] = {}
    pushes = 0
    for item in sorted(items, key=lambda i: (i.published, i.text.id)):
        result = engine.classify(item.text)
        placed = book.assign(
            item.text.id, sign(signer, item, result), story_id=item.text.id, outlet=item.outlet
        )
        predicted[item.text.id] = placed.story_id
        pushes += placed.pushes
    return Grouping(predicted, pushes)


@dataclass
class Pairwise:
    precision: float
    recall: float
    true_pairs: int
    predicted_pairs: int
    wrong: list[tuple[str, str]]
    missed: list[tuple[str, str]]


def pairwise(items: Sequence[Item], predicted: dict[str, str]) -> Pairwise:
    tp = fp = fn = 0
    wrong: list[tuple[str, str]] = []
    missed: list[tuple[str, str]] = []
    for a, b in combinations(items, 2):
        truth = a.story != "-" and a.story == b.story
        guess = predicted[a.text.id] == predicted[b.text.id]
        if truth and guess:
            tp += 1
        elif guess:
            fp += 1
            wrong.append((a.text.id, b.text.id))
        elif truth:
            fn += 1
            missed.append((a.text.id, b.text.id))
    return Pairwise(
        tp / (tp + fp) if tp + fp else 1.0,
        tp / (tp + fn) if tp + fn else 1.0,
        tp + fn,
        tp + fp,
        wrong,
        missed,
    )


def true_stories(items: Sequence[Item]) -> int:
    named = {i.story for i in items if i.story != "-"}
    return len(named) + sum(1 for i in items if i.story == "-")


def report(name: str, items: Sequence[Item], grouping: Grouping) -> dict[str, float]:
    score = pairwise(items, grouping.predicted)
    n = len(items)
    reduction = 1 - grouping.pushes / n if n else 0.0
    ideal = 1 - true_stories(items) / n if n else 0.0
    print(
        f"{name}: {n} articles, {score.true_pairs} same-story pairs by the labels, "
        f"{score.predicted_pairs} grouped: pairwise precision {score.precision:.3f}, "
        f"recall {score.recall:.3f}"
    )
    print(
        f"  alert reduction as if every article alerted: {reduction:.3f} "
        f"({grouping.pushes} pushes for {n} articles; the labels' stories would give {ideal:.3f})"
    )
    titles = {i.text.id: i.text.title[:70] for i in items}
    for kind, pairs in (("wrongly grouped", score.wrong), ("missed", score.missed)):
        for a, b in pairs[:15]:
            print(f"  {kind}: {a} | {b}\n      {titles[a]}\n      {titles[b]}")
        if len(pairs) > 15:
            print(f"  ... {len(pairs) - 15} more {kind}")
    return {
        "pairwise_precision": round(score.precision, 4),
        "pairwise_recall": round(score.recall, 4),
        "alert_reduction": round(reduction, 4),
        "alert_reduction_labels": round(ideal, 4),
        "articles": n,
        "pairs": score.true_pairs,
    }


def rules_reduction(
    engine: Engine, signer: Signer, corpus: Sequence[tuple[ArticleText, str, float]]
) -> dict[str, dict[str, int]]:
    """Per rule: alerts the shipped rules raise on the corpus, and pushes with stories."""
    books: dict[str, StoryBook] = {}
    out: dict[str, dict[str, int]] = {}
    for text, outlet, published in sorted(corpus, key=lambda c: (c[2], c[0].id)):
        result = engine.classify(text)
        if not result.fired:
            continue
        item = Item(text, outlet, published, "-")
        signature = sign(signer, item, result)
        for verdict in result.fired:
            rule = verdict.rule
            book = books.setdefault(rule.id, StoryBook(signer))
            placed = book.assign(
                text.id,
                signature,
                story_id=text.id,
                score=verdict.score,
                outlet=outlet,
                escalate_at=rule.escalate if rule.escalate is not None else rule.threshold * 2,
            )
            counts = out.setdefault(rule.id, {"alerts": 0, "pushes": 0})
            counts["alerts"] += 1
            counts["pushes"] += placed.pushes
    return out


def cost(engine: Engine, signer: Signer, items: Sequence[Item]) -> tuple[float, float]:
    """Seconds per article: classification alone, and classification with the signature and
    story assignment of every article (best of alternating rounds)."""
    ordered = sorted(items, key=lambda i: (i.published, i.text.id))

    def classify_only() -> None:
        for item in ordered:
            engine.classify(item.text)

    def with_stories() -> None:
        book = StoryBook(signer)
        for item in ordered:
            result = engine.classify(item.text)
            book.assign(item.text.id, sign(signer, item, result), story_id=item.text.id)

    best = [float("inf")] * 2
    for _ in range(ROUNDS):
        for i, run in enumerate((classify_only, with_stories)):
            started = time.perf_counter()
            run()
            best[i] = min(best[i], time.perf_counter() - started)
    n = len(ordered)
    return best[0] / n, best[1] / n


def main() -> int:
    ant_dir = os.environ.get("ANT_DIR")
    if not ant_dir:
        print(
            "bench/stories.py: error: set ANT_DIR to the folder of the ANT corpus that holds "
            "BBC/ and CNN/",
            file=sys.stderr,
        )
        return 2
    try:
        corpus = list(ant_articles(Path(ant_dir)))
        labels = ant_labels(LABELS / "ant-dev.tsv")
        written = written_items(LABELS / "written.jsonl")
    except Unusable as exc:
        print(f"bench/stories.py: error: {exc}", file=sys.stderr)
        return 2
    engine = Engine.default()
    signer = Signer()
    by_id = {text.id: (text, outlet, published) for text, outlet, published in corpus}
    missing = sorted(set(labels) - set(by_id))
    if missing:
        print(f"{len(missing)} labelled ids are not in ANT_DIR (first: {missing[:3]})")
    ant = [Item(*by_id[i], labels[i]) for i in labels if i in by_id]
    print(
        f"stories: window {StoryBook(signer).window_seconds / 3600:.0f} h, "
        f"MinHash {signer.model.num_perm} permutations over word 3-shingles"
    )
    figures = report("ANT BBC+CNN (Arabic)", ant, group(engine, signer, ant))
    written_figures = report("written Arabic-English", written, group(engine, signer, written))

    alerts = rules_reduction(engine, signer, corpus)
    total_alerts = sum(c["alerts"] for c in alerts.values())
    total_pushes = sum(c["pushes"] for c in alerts.values())
    rules_cut = 1 - total_pushes / total_alerts if total_alerts else 0.0
    for rule, c in sorted(alerts.items()):
        print(
            f"rule {rule}: {c['alerts']} alerts on all {len(corpus)} BBC+CNN articles, "
            f"{c['pushes']} pushes with stories"
        )
    print(f"alert reduction, the shipped rules' alerts: {rules_cut:.3f}")
    # A rule that fires often: the co-occurrence rule newsradar used before (bench/relevance.py).
    broad = rules_reduction(Engine.default(BASELINE_RULES), signer, corpus)
    broad_alerts = sum(c["alerts"] for c in broad.values())
    broad_pushes = sum(c["pushes"] for c in broad.values())
    broad_cut = 1 - broad_pushes / broad_alerts if broad_alerts else 0.0
    print(
        f"alert reduction, the co-occurrence rule's alerts: {broad_cut:.3f} "
        f"({broad_alerts} alerts, {broad_pushes} pushes)"
    )

    base, every = cost(engine, signer, ant)
    # The processors sign and place only the articles a rule fires on: per article read, the
    # story work is the alerted share of what it costs per article.
    share = total_alerts / len(corpus) if corpus else 0.0
    pipeline = base + share * (every - base)
    print(
        f"cost per article: classification {base * 1e6:.0f} µs; with the story work for every "
        f"article {every * 1e6:.0f} µs ({every / base:.2f}x, {(every - base) * 1e6:.0f} µs of "
        f"story work); as the processors run it, story work only for the {share:.2%} of "
        f"articles the shipped rules alert on: {pipeline / base:.4f}x"
    )
    result = {
        **figures,
        "written_pairwise_precision": written_figures["pairwise_precision"],
        "written_pairwise_recall": written_figures["pairwise_recall"],
        "written_alert_reduction": written_figures["alert_reduction"],
        "rules_alerts": total_alerts,
        "rules_pushes": total_pushes,
        "rules_alert_reduction": round(rules_cut, 4),
        "cooccurrence_rule_alerts": broad_alerts,
        "cooccurrence_rule_alert_reduction": round(broad_cut, 4),
        "cost_ratio_every_article": round(every / base, 3),
        "cost_ratio_pipeline": round(pipeline / base, 3),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
