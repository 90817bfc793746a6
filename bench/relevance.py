"""Benchmark of relevance: the default rules against articles a person labelled, not a test.

The development sets are real news, read and labelled by hand as ``../shared/eval/LABELLING.md``
says (2 relevant, 1 borderline, 0 not): every article that names both Iraq and Russia, and every
one a rule flagged, of

- **ANT** (Arabic, 2018), its BBC and CNN folders only: fetch
  ``antcorpus/antcorpus.multisource.data`` and name its folder in ``ANT_DIR`` (required). ANT's
  other three folders are kept apart to judge the result: this benchmark never reads them.
- **Tehran Times** (English, mostly 2016-2023), the development part of
  ``Kmahmoudi/Tehran-Times-Dataset`` (ids whose SHA-1 starts with 0-9, a or b): name its
  ``data`` folder in ``TEHRAN_TIMES_DIR`` (optional; without it, English is not scored).

Labels (ids and our own notes) are in ``bench/data/relevance/``; the corpora are not in the
repository (ANT's licence is not stated). For the ``iraq-russia`` rule it prints the alerts,
precision, recall and F1 (borderline articles count neither way) overall and per language, the
wrong alerts and the missed articles with their labels, and the same figures for the
co-occurrence rule newsradar used before (``bench/data/relevance/baseline-rules.yaml``), measured
in the same run. Articles a rule flags that nobody labelled are listed: label them. Last line:
one JSON object with the figures.

Usage: ``ANT_DIR=/tmp/ant TEHRAN_TIMES_DIR=/tmp/tt/data .venv/bin/python bench/relevance.py``
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from processors.classify import ArticleText, Engine

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data" / "relevance"
BASELINE_RULES = DATA / "baseline-rules.yaml"
RULE = "iraq-russia"


class Unusable(Exception):
    """The benchmark cannot run: the message says why and what to do."""


@dataclass(frozen=True)
class Label:
    id: str
    label: int
    cls: str
    note: str


# --- the corpora ---------------------------------------------------------------------------------

ANT_FOLDERS = ("BBC", "CNN")  # the development folders; the other three are held out
_ANT_TAG = re.compile(r"<(DOCNO|URL|SRC|TITLE|TIME|ABSTRACT|TEXT|CAT)>(.*?)</\1>", re.S)


def ant_documents(root: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """Every document of ANT's development folders: its folder and its tags (DOCNO, URL, SRC,
    TITLE, TIME, ABSTRACT, TEXT, CAT), in file order. The held-out folders are never opened."""
    missing = [f for f in ANT_FOLDERS if not (root / f).is_dir()]
    if missing:
        raise Unusable(
            f"ANT_DIR={root} has no {' and no '.join(missing)} folder: set ANT_DIR to the "
            "folder of the ANT corpus that holds BBC/ and CNN/"
        )
    for folder in ANT_FOLDERS:
        for path in sorted((root / folder).rglob("*.txt")):
            raw = path.read_text(encoding="utf-8", errors="replace")
            doc = {k: v.strip() for k, v in _ANT_TAG.findall(raw)}
            if "DOCNO" in doc:
                yield folder, doc


def ant_article(doc: dict[str, str]) -> ArticleText:
    """An ANT document as a feed would give it: title, summary (ANT's abstract), text, and the
    outlet's section as the entry's category."""
    return ArticleText(
        id=doc["DOCNO"],
        title=doc.get("TITLE", ""),
        summary=doc.get("ABSTRACT", ""),
        content=doc.get("TEXT", ""),
        language="ar",
        url=doc.get("URL", ""),
        categories=(doc["CAT"],) if doc.get("CAT") else (),
    )


def ant_articles(root: Path) -> Iterator[ArticleText]:
    """Every article of ANT's development folders, as :func:`ant_article` reads it."""
    for _, doc in ant_documents(root):
        yield ant_article(doc)


_TT_FILE = re.compile(r"^_news_(\d+)_(.*)\.txt$")
_TT_FOOTER = (
    "All Content by Mehr News Agency is licensed under a Creative Commons Attribution 4.0 "
    "International License."
)


def tehran_times_articles(root: Path) -> Iterator[ArticleText]:
    """The development part of the Tehran Times dataset: one file a page, its paragraphs
    joined. The crawl kept the title only in the file name, and older pages repeat the body
    line after line (line k holds paragraphs k to n): each paragraph is read once."""
    names = sorted(n for n in os.listdir(root) if _TT_FILE.match(n)) if root.is_dir() else []
    if not names:
        raise Unusable(
            f"TEHRAN_TIMES_DIR={root} holds no _news_*.txt files: set it to the data/ folder "
            "of Kmahmoudi/Tehran-Times-Dataset"
        )
    numbers: dict[str, int] = {}
    for name in names:
        number = _TT_FILE.match(name).group(1)  # type: ignore[union-attr]
        numbers[number] = numbers.get(number, 0) + 1
    for name in names:
        number, slug = _TT_FILE.match(name).groups()  # type: ignore[union-attr]
        doc_id = f"tt-{number}"
        if numbers[number] > 1:  # a few numbers name two pages
            doc_id += "-" + hashlib.sha1(slug.encode()).hexdigest()[:6]
        if hashlib.sha1(doc_id.encode()).hexdigest()[0] not in "0123456789ab":
            continue  # held out
        paragraphs: list[str] = []
        raw = (root / name).read_text(encoding="utf-8", errors="replace")
        for line in raw.replace("\r", "").split("\n"):
            text = " ".join(line.replace(_TT_FOOTER, "").replace("\xa0", " ").split())
            if text and not any(text in p for p in paragraphs):
                paragraphs.append(text)
        yield ArticleText(
            id=doc_id,
            title=slug.replace("-", " ").strip(),
            content="\n".join(paragraphs),
            language="en",
        )


@dataclass(frozen=True)
class Corpus:
    name: str
    language: str
    env: str
    labels: Path
    read: Callable[[Path], Iterator[ArticleText]]
    required: bool
    how: str

    def articles(self) -> list[ArticleText] | None:
        value = os.environ.get(self.env, "").strip()
        if not value:
            if self.required:
                raise Unusable(f"{self.env} is not set: {self.how}")
            print(f"{self.name}: {self.env} is not set, not scored ({self.how})")
            return None
        return list(self.read(Path(value)))

    def truth(self) -> dict[str, Label]:
        with self.labels.open(encoding="utf-8", newline="") as f:
            rows = csv.DictReader((line for line in f if not line.startswith("#")), delimiter="\t")
            return {r["id"]: Label(r["id"], int(r["label"]), r["class"], r["note"]) for r in rows}


CORPORA = (
    Corpus(
        "ANT (BBC, CNN)", "ar", "ANT_DIR", DATA / "ant-dev.tsv", ant_articles, True,
        "fetch antcorpus/antcorpus.multisource.data and set ANT_DIR to the folder holding "
        "its BBC and CNN folders",
    ),
    Corpus(
        "Tehran Times", "en", "TEHRAN_TIMES_DIR", DATA / "tehran-times-dev.tsv",
        tehran_times_articles, False,
        "fetch Kmahmoudi/Tehran-Times-Dataset and set TEHRAN_TIMES_DIR to its data folder",
    ),
)  # fmt: skip


# --- scoring -------------------------------------------------------------------------------------


@dataclass
class Score:
    alerts: int = 0
    right: int = 0  # alerts on 2s
    wrong: int = 0  # alerts on 0s
    borderline: int = 0  # alerts on 1s
    relevant: int = 0  # 2s in the set
    unlabelled: list[str] = field(default_factory=list)

    def add(self, other: Score) -> None:
        self.alerts += other.alerts
        self.right += other.right
        self.wrong += other.wrong
        self.borderline += other.borderline
        self.relevant += other.relevant
        self.unlabelled += other.unlabelled

    @property
    def precision(self) -> float:
        judged = self.right + self.wrong
        return self.right / judged if judged else 1.0

    @property
    def recall(self) -> float:
        return self.right / self.relevant if self.relevant else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def line(self) -> str:
        return (
            f"alerts {self.alerts} (right {self.right}, wrong {self.wrong}, borderline "
            f"{self.borderline}); relevant {self.relevant}; precision {self.precision:.3f} "
            f"recall {self.recall:.3f} F1 {self.f1:.3f}"
        )

    def figures(self) -> dict[str, float | int]:
        return {
            "alerts": self.alerts,
            "precision": round(self.precision, 3),
            "recall": round(self.recall, 3),
            "f1": round(self.f1, 3),
        }


def score(engine: Engine, corpus: list[ArticleText], truth: dict[str, Label]) -> Score:
    result = Score(relevant=sum(1 for lab in truth.values() if lab.label == 2))
    fired = {art.id for art in corpus if any(v.rule.id == RULE for v in engine.classify(art).fired)}
    for aid in sorted(fired):
        lab = truth.get(aid)
        if lab is None:
            result.unlabelled.append(aid)
            print(f"  UNLABELLED alert {aid}: read it and add its label")
            continue
        result.alerts += 1
        if lab.label == 2:
            result.right += 1
        elif lab.label == 1:
            result.borderline += 1
        else:
            result.wrong += 1
            print(f"  wrong alert  {aid}  ({lab.cls}: {lab.note})")
    for aid in sorted(a for a, lab in truth.items() if lab.label == 2 and a not in fired):
        print(f"  missed       {aid}  ({truth[aid].note})")
    return result


def main() -> None:
    try:
        loaded = [(c, c.articles()) for c in CORPORA]
    except Unusable as exc:
        print(f"bench/relevance.py: {exc}", file=sys.stderr)
        sys.exit(2)
    engines = {
        "now": Engine.default(),
        "baseline": Engine.default(BASELINE_RULES),
    }
    totals = {name: Score() for name in engines}
    per_language: dict[str, dict[str, float | int]] = {}
    described = []
    for corpus, articles in loaded:
        if articles is None:
            continue
        truth = corpus.truth()
        absent = sorted(set(truth) - {a.id for a in articles})
        if absent:
            print(
                f"bench/relevance.py: {len(absent)} labelled articles of {corpus.name} are not "
                f"under {corpus.env} ({absent[0]} ...): is it the right corpus?",
                file=sys.stderr,
            )
            sys.exit(2)
        counts = {v: sum(1 for lab in truth.values() if lab.label == v) for v in (2, 1, 0)}
        described.append(f"{corpus.name} {corpus.language}: {len(articles)} articles")
        print(
            f"\n{corpus.name} ({corpus.language}): {len(articles)} articles, {len(truth)} "
            f"labelled ({counts[2]} relevant, {counts[1]} borderline, {counts[0]} not)"
        )
        for name, engine in engines.items():
            print(f"== {'default rules' if name == 'now' else 'baseline (rule v1)'}: {RULE}")
            found = score(engine, articles, truth)
            print(f"  {corpus.language}: {found.line()}")
            totals[name].add(found)
            if name == "now":
                per_language[corpus.language] = found.figures()
    now, before = totals["now"], totals["baseline"]
    print(f"\noverall, default rules: {now.line()}")
    print(f"overall, baseline (rule v1): {before.line()}")
    if now.unlabelled:
        print(f"{len(now.unlabelled)} alerts on articles nobody labelled: label them")
    result = {
        "rule": RULE,
        "corpora": described,
        **now.figures(),
        "relevant": now.relevant,
        "unlabelled_alerts": len(now.unlabelled),
        **per_language,
        "baseline": before.figures(),
    }
    json.dump(result, sys.stdout, ensure_ascii=False)
    print()


if __name__ == "__main__":
    main()
