"""The detection engine: which countries an article is about, which pairs, topics and rules.

A plain library: the faust agents call it per event, ``newsradar classify`` calls it per line,
tests call it directly. Build one :class:`Engine` (it compiles the whole vocabulary into one
automaton, ~0.5 s) and share it.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from itertools import combinations
from pathlib import Path
from typing import Literal

from newsradar.schemas import Alert, Article, Match, alert_id
from processors.match import Hit, Matcher
from processors.normalize import Normalized, normalize
from processors.rules import (
    Evidence,
    Mention,
    Proximity,
    RuleSet,
    Verdict,
    evaluate,
    keyword_language,
)
from processors.rules import cooccurrences as _cooccurrences
from processors.terms import (
    Morphology,
    Term,
    default_morphology,
    gazetteer_terms,
    parse_term,
    topic_terms,
)

FieldName = Literal["title", "summary", "content"]
FIELDS: tuple[FieldName, ...] = ("title", "summary", "content")
_SENTENCE_END = re.compile(r"[.!?؟؛…]+(?=\s|$)|\n+")
_WORD = re.compile(r"\S+")
SNIPPET_CHARS = 60
MAX_MATCHES = 200


@dataclass(frozen=True)
class ArticleText:
    """The part of an article the engine reads."""

    id: str
    title: str = ""
    summary: str = ""
    content: str = ""
    language: str = ""
    url: str = ""

    @classmethod
    def of(cls, article: Article) -> ArticleText:
        return cls(
            id=article.id,
            title=article.title,
            summary=article.summary,
            content=article.content,
            language=article.language,
            url=article.url,
        )


@dataclass
class _Field:
    name: FieldName
    text: str
    norm: Normalized
    """Word text of ``text`` (see :func:`processors.normalize.normalize`), with the offset map."""
    hits: list[Hit]

    @cached_property
    def sentence_ends(self) -> list[int]:
        return [m.end() for m in _SENTENCE_END.finditer(self.text)]

    @cached_property
    def word_starts(self) -> list[int]:
        return [m.start() for m in _WORD.finditer(self.norm.text)]

    def sentence_of(self, hit: Hit) -> int:
        return bisect.bisect_right(self.sentence_ends, hit.orig_start)

    def word_of(self, hit: Hit) -> int:
        return bisect.bisect_right(self.word_starts, hit.start)


@dataclass(frozen=True)
class Classification:
    id: str
    language: str
    countries: tuple[str, ...]
    blocs: tuple[str, ...]
    pairs: tuple[str, ...]
    pair_counts: dict[str, int]
    topics: tuple[str, ...]
    verdicts: tuple[Verdict, ...]
    hits: tuple[tuple[_Field, Hit], ...] = field(repr=False, default=())

    @cached_property
    def matches(self) -> tuple[Match, ...]:
        """Every matched term with field, original offsets and snippet; built on first use
        (most articles raise no alert and nobody asks)."""
        out: list[Match] = []
        for f, hit in self.hits:
            out.extend(_matches(f, hit))
        return tuple(out[:MAX_MATCHES])

    @property
    def fired(self) -> tuple[Verdict, ...]:
        return tuple(v for v in self.verdicts if v.fired)

    def to_json(self) -> dict[str, object]:
        """The ``newsradar classify`` output line."""
        return {
            "id": self.id,
            "language": self.language,
            "countries": list(self.countries),
            "blocs": list(self.blocs),
            "pairs": list(self.pairs),
            "pair_counts": self.pair_counts,
            "topics": list(self.topics),
            "rules": [v.rule.id for v in self.fired],
            "scores": {v.rule.id: v.score for v in self.fired},
            "matches": [m.model_dump() for m in self.matches],
        }


class Engine:
    def __init__(
        self,
        rules: RuleSet,
        *,
        terms: Sequence[Term] | None = None,
        morphology: Morphology | None = None,
        pair_proximity: Proximity | None = None,
    ) -> None:
        self.rules = rules
        self.morphology = morphology or default_morphology()
        vocabulary = list(terms) if terms is not None else gazetteer_terms() + topic_terms()
        self.countries = {t.denotes[8:] for t in vocabulary if t.denotes.startswith("country:")}
        for rule in rules.rules:
            for group in ("all", "any", "none"):
                for spec in getattr(rule.keywords, group):
                    vocabulary.append(
                        parse_term(
                            spec,
                            denotes=f"keyword:{rule.id}:{group}",
                            language=keyword_language(spec),
                            default_class="noun",
                        )
                    )
        self.matcher_terms: tuple[Term, ...] = tuple(vocabulary)
        self.matcher = Matcher(vocabulary, self.morphology)
        self.pair_proximity = pair_proximity or Proximity()
        self._words_needed = any(r.proximity.unit == "words" for r in rules.rules) or (
            self.pair_proximity.unit == "words"
        )

    @classmethod
    def default(cls, rules_path: Path | None = None) -> Engine:
        terms = gazetteer_terms() + topic_terms()
        countries = {t.denotes[8:] for t in terms if t.denotes.startswith("country:")}
        return cls(RuleSet.load(rules_path, known_countries=countries), terms=terms)

    def classify(self, article: ArticleText) -> Classification:
        fields = []
        for name in FIELDS:
            text = getattr(article, name)
            if text:
                norm = normalize(text, words=True)
                fields.append(_Field(name, text, norm, self.matcher.find(norm)))

        found: list[tuple[str, _Field, Hit]] = []  # country mentions, located below
        topics: set[str] = set()
        blocs: set[str] = set()
        keywords: dict[str, set[str]] = {}
        located: list[tuple[_Field, Hit]] = []
        for f in fields:
            for hit in f.hits:
                for meaning in hit.meanings:
                    kind = meaning.kind
                    if kind == "country":
                        found.append((meaning.what, f, hit))
                    elif kind == "topic":
                        topics.add(meaning.what)
                    elif kind == "bloc":
                        blocs.add(meaning.what)
                    elif kind == "keyword":
                        keywords.setdefault(meaning.what, set()).add(meaning.term.text)
                located.append((f, hit))
        # Sentences and word positions matter only between two countries or more: most
        # articles mention one or none, and skip that work.
        if len({code for code, _, _ in found}) > 1:
            words = self._words_needed
            mentions = [
                Mention(code, f.name, f.sentence_of(hit), f.word_of(hit) if words else 0)
                for code, f, hit in found
            ]
        else:
            mentions = [Mention(code, f.name, 0, 0) for code, f, _ in found]
        language = _language(article)
        evidence = Evidence(language, mentions, topics, keywords)
        counts = self._pair_counts(evidence)
        verdicts = tuple(evaluate(rule, evidence) for rule in self.rules.rules)
        return Classification(
            id=article.id,
            language=language,
            countries=tuple(sorted(evidence.countries())),
            blocs=tuple(sorted(blocs)),
            pairs=tuple(sorted(counts)),
            pair_counts=dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))),
            topics=tuple(sorted(topics)),
            verdicts=verdicts,
            hits=tuple(located),
        )

    def _pair_counts(self, evidence: Evidence) -> Counter[str]:
        counts: Counter[str] = Counter()
        for a, b in combinations(sorted(evidence.countries()), 2):
            n = _cooccurrences(evidence, a, b, self.pair_proximity)
            if n:
                counts[f"{a}-{b}"] = n
        return counts

    def alerts(
        self,
        article: Article,
        result: Classification | None = None,
        enqueued_at: datetime | None = None,
    ) -> list[Alert]:
        """One alert per rule that fires on ``article``; ids are stable per (rule, article)."""
        result = result or self.classify(ArticleText.of(article))
        alerts = []
        for verdict in result.fired:
            rule = verdict.rule
            relevant = {f"country:{c}" for c in rule.country_codes} | {
                f"topic:{t}" for t in result.topics
            }
            kept = tuple(
                m
                for m in result.matches
                if m.denotes in relevant or m.denotes.startswith(f"keyword:{rule.id}:")
            )
            alerts.append(
                Alert(
                    id=alert_id(rule.id, article.id),
                    rule_id=rule.id,
                    rule_version=rule.version,
                    score=verdict.score,
                    article_id=article.id,
                    article_url=article.url,
                    article_title=article.title,
                    article_published=article.published,
                    language=result.language,
                    feed=article.feed,
                    countries=result.countries,
                    pairs=result.pairs,
                    topics=result.topics,
                    matches=kept,
                    article_enqueued_at=enqueued_at,
                )
            )
        return alerts


def _matches(f: _Field, hit: Hit) -> list[Match]:
    start, end = hit.orig_start, hit.orig_end
    lo = max(0, start - SNIPPET_CHARS)
    hi = min(len(f.text), end + SNIPPET_CHARS)
    snippet = " ".join(f.text[lo:hi].split())
    # model_construct: the fields are built here from checked values; validation would cost
    # more than the whole scan.
    return [
        Match.model_construct(
            term=f.text[start:end],
            denotes=term.denotes,
            field=f.name,
            start=start,
            end=end,
            snippet=snippet,
        )
        for term in hit.terms
    ]


_ARABIC_LETTER = re.compile(r"[\u0600-\u06ff]")
_LATIN_LETTER = re.compile(r"[A-Za-z]")


def _language(article: ArticleText) -> str:
    """The article's language hint (ISO 639-1), else a detection from its text."""
    hint = article.language.strip().lower().replace("_", "-")
    if hint:
        return hint.split("-")[0][:3]
    sample = " ".join((article.title, article.summary, article.content[:2000]))
    if not sample.strip():
        return ""
    from newsradar.language import detect

    return detect(sample)
