"""The detection engine: which countries an article is about, which pairs, topics and rules.

A plain library: the faust agents call it per event, ``newsradar classify`` calls it per line,
tests call it directly. Build one :class:`Engine` (it compiles the whole vocabulary into one
automaton, ~0.5 s) and share it.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property, lru_cache
from itertools import combinations
from pathlib import Path
from typing import Literal, NamedTuple

from newsradar.schemas import Alert, Article, Match, alert_id
from processors import core as native_core
from processors.match import Form, Matcher, Meaning, RawHit
from processors.normalize import FIELD_SEPARATOR, SENTENCE_MARKS
from processors.rules import (
    Evidence,
    Mention,
    Proximity,
    Rule,
    RuleSet,
    Verdict,
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
_BETWEEN_FIELDS = f"\n{FIELD_SEPARATOR}\n"
_SENTENCE_END = re.compile(f"[{re.escape(SENTENCE_MARKS)}\\n](?:(?<=\\n)|(?=\\s|\\Z))")
"""A newline, or . ! ? ؟ ؛ … before whitespace or the end of the text."""
_WORD = re.compile(r"[^ ]+")  # in word text, where every separator is a space
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


def _fields(article: ArticleText) -> tuple[list[FieldName], list[str]]:
    """The article's non-empty fields: names and texts."""
    names: list[FieldName] = []
    texts: list[str] = []
    for name in FIELDS:
        value = getattr(article, name)
        if value:
            names.append(name)
            texts.append(value)
    return names, texts


def _joined(texts: list[str]) -> str:
    return "\n" + _BETWEEN_FIELDS.join(texts) + "\n"


def joined(article: ArticleText) -> str:
    """The article's fields as the engine joins them for its one scan."""
    return _joined(_fields(article)[1])


def _bases(texts: list[str]) -> list[int]:
    """Where each field starts in :func:`_joined` text."""
    bases = []
    pos = 1
    for value in texts:
        bases.append(pos)
        pos += len(value) + len(_BETWEEN_FIELDS)
    return bases


class _Doc:
    """An article's fields joined into one text, normalised and scanned in one pass: a newline
    first and last, and ``"\\n\\x1f\\n"`` between fields. The newlines are sentence ends and
    make the word text start and end with a space, as the automaton's keys do; the unit
    separator between them (:data:`~processors.normalize.FIELD_SEPARATOR`) is a word no term
    holds, so no multi-word term matches across two fields."""

    __slots__ = ("__dict__", "bases", "matcher", "names", "norm", "resolved", "text", "texts")

    def __init__(
        self, names: list[FieldName], texts: list[str], text: str, matcher: Matcher
    ) -> None:
        self.names = names
        self.texts = texts
        self.bases = _bases(texts)  # where each field starts in ``text``
        self.text = text
        self.matcher = matcher
        self.norm = matcher.prepare(text)
        self.resolved = False
        """Whether overlaps of same-meaning forms have been resolved (see :class:`Form`)."""

    @cached_property
    def sentence_ends(self) -> list[int]:
        """Offsets just past each sentence end (:data:`_SENTENCE_END`)."""
        return [m.end() for m in _SENTENCE_END.finditer(self.text)]

    @cached_property
    def word_starts(self) -> list[int]:
        return [m.start() for m in _WORD.finditer(self.norm.text)]

    def field_of(self, offset: int) -> int:
        """Index of the field holding original offset ``offset``."""
        return bisect.bisect_right(self.bases, offset) - 1

    def match(self, end: int, length: int, meanings: Sequence[Meaning]) -> list[Match]:
        """A raw hit (``end``, padded form ``length``) as matches of ``meanings``: field,
        offsets in the field, snippet."""
        start, stop = self.norm.span_to_original(end - length + 2, end)
        i = self.field_of(start)
        base, text = self.bases[i], self.texts[i]
        start, stop = start - base, stop - base
        lo = max(0, start - SNIPPET_CHARS)
        snippet = " ".join(text[lo : stop + SNIPPET_CHARS].split())
        term = text[start:stop]
        # Validated construction: with pydantic 2 it costs less than model_construct.
        return [
            Match(
                term=term,
                denotes=m.term.denotes,
                field=self.names[i],
                start=start,
                end=stop,
                snippet=snippet,
            )
            for m in meanings
        ]


@dataclass  # not frozen: a frozen dataclass's __init__ costs 3 µs a call
class Classification:
    id: str
    language: str
    countries: tuple[str, ...]
    blocs: tuple[str, ...]
    pairs: tuple[str, ...]
    pair_counts: dict[str, int]
    topics: tuple[str, ...]
    fired: tuple[Verdict, ...]
    """The verdicts of the rules that fired, in rule order."""
    country_counts: dict[str, int]
    """Mentions per country."""
    steps: _Steps = field(repr=False)
    """The Python steps over the article: what they gathered, or, when the native core
    decided, a promise to run them for what it does not report (matches, and the evidence
    behind verdicts of rules that did not fire). Most articles raise no alert and nobody
    asks."""

    @cached_property
    def verdicts(self) -> tuple[Verdict, ...]:
        """Every rule's verdict, fired or not, in rule order."""
        return self.steps.verdicts(self.fired)

    @cached_property
    def matches(self) -> tuple[Match, ...]:
        """Every matched term with field, original offsets and snippet; built on first use
        (most articles raise no alert and nobody asks)."""
        return self.matches_where(lambda denotes: True)

    def matches_where(self, wanted: Callable[[str], bool]) -> tuple[Match, ...]:
        """The matches whose meaning (``country:IQ``, ``topic:trade`` ...) passes ``wanted``,
        at most :data:`MAX_MATCHES`; only those are built."""
        out: list[Match] = []
        doc, hits = self._settled
        for end, form in hits:
            meanings = [m for m in form.meanings if wanted(m.term.denotes)]
            if meanings:
                out.extend(doc.match(end, form.length, meanings))
                if len(out) >= MAX_MATCHES:
                    break
        return tuple(out[:MAX_MATCHES])

    @cached_property
    def _settled(self) -> tuple[_Doc, list[RawHit]]:
        """The text and its hits with every overlap resolved, worked out once however many
        alerts ask."""
        return self.steps.gathered().settled()

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
        native: bool | None = None,
    ) -> None:
        """``native``: run the native core (:mod:`processors.core`); None: when it is built
        and not turned off (``NEWSRADAR_ENGINE=python``); True: it must be built."""
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
        use = native_core.wanted() if native is None else native
        self.core = (
            native_core.build(self.matcher, rules.rules, self.pair_proximity) if use else None
        )
        if native and self.core is None:
            raise ValueError(
                "the native core is not built (scripts/bootstrap.sh builds it where cargo is "
                "installed), or a term has a letter outside Windows-1256"
            )

    @classmethod
    def default(cls, rules_path: Path | None = None, *, native: bool | None = None) -> Engine:
        terms = gazetteer_terms() + topic_terms()
        countries = {t.denotes[8:] for t in terms if t.denotes.startswith("country:")}
        rules = RuleSet.load(rules_path, known_countries=countries)
        return cls(rules, terms=terms, native=native)

    def classify(self, article: ArticleText, *, explain: bool = False) -> Classification:
        """What ``article`` is about and which rules fire. The native core, when there is one,
        decides; with ``explain`` (every match will be asked for, as ``newsradar classify``
        does) the Python steps run, which keep what matches need. Matches, and reasons for
        verdicts, of an article the core decided are worked out in Python when asked for."""
        steps = _Steps(self, article, _language(article))
        if self.core is not None and not explain:
            fields = (article.title, article.summary, article.content)
            found = self.core.analyse(fields, _BETWEEN_FIELDS, steps.language)
            if found is not None:
                return self._found(article.id, found, steps)
        return self._decided(article.id, steps, steps.gathered())

    def _gather(self, names: list[FieldName], texts: list[str], language: str) -> _Gathered:
        """The Python steps: normalise, scan, resolve, gather the evidence."""
        doc = _Doc(names, texts, _joined(texts), self.matcher)
        raw_hits = self.matcher.scan(doc.norm.text)
        forms = {form for _, form in raw_hits}
        if not forms.isdisjoint(self.matcher.careful_forms):
            raw_hits = self.matcher.resolve(raw_hits, doc.norm)
            forms = {form for _, form in raw_hits}
            doc.resolved = True
        elif not forms.isdisjoint(self.matcher.exact_forms):
            raw_hits = self.matcher.check_case(raw_hits, doc.norm)
            forms = {form for _, form in raw_hits}
        codes: set[str] = set()
        topics: set[str] = set()
        blocs: set[str] = set()
        keywords: dict[str, set[str]] = {}
        for form in forms:
            if form.countries:
                codes |= form.countries
            if form.topics:
                topics |= form.topics
            if form.blocs:
                blocs |= form.blocs
            for key, kw_text in form.keywords:
                keywords.setdefault(key, set()).add(kw_text)
        evidence = (
            self._locate(doc, raw_hits, language, topics, keywords, locate=len(codes) > 1)
            if codes
            else Evidence(language, topics, keywords)
        )
        return _Gathered(codes, blocs, evidence, doc, raw_hits)

    def _decided(self, article_id: str, steps: _Steps, gathered: _Gathered) -> Classification:
        """The result of the Python steps."""
        codes, evidence = gathered.codes, gathered.evidence
        counts = self._pair_counts(evidence) if len(codes) > 1 else {}
        pair_counts = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
        verdicts = (Verdict.of(rule, evidence) for rule in self.rules.rules)
        return Classification(
            article_id,
            evidence.language,
            tuple(sorted(codes)),
            tuple(sorted(gathered.blocs)),
            tuple(sorted(pair_counts)),
            pair_counts,
            tuple(sorted(evidence.topics)),
            tuple(v for v in verdicts if v.fired),
            evidence.counts,
            steps,
        )

    def _found(self, article_id: str, found: native_core.Found, steps: _Steps) -> Classification:
        """The result of the native core."""
        countries, blocs, topics, pairs, pair_counts, counts, decided = found
        fired: tuple[Verdict, ...] = ()
        if decided:
            rules, evidence = self.rules.rules, steps.evidence
            fired = tuple([Verdict(rules[i], True, score, evidence) for i, score in decided])
        return Classification(
            article_id, steps.language, countries, blocs, pairs, pair_counts, topics, fired,
            counts, steps,
        )  # fmt: skip

    def _locate(
        self,
        doc: _Doc,
        raw: list[RawHit],
        language: str,
        topics: set[str],
        keywords: dict[str, set[str]],
        *,
        locate: bool,
    ) -> Evidence:
        """The evidence with country mentions counted and, with ``locate`` (two countries or
        more), placed in sentences (and words, when a rule counts words). A name inside or
        overlapping a longer one of the same country ("Iraq" in "Iraq's") is the same mention,
        as :meth:`Matcher.resolve` has it."""
        spans: list[tuple[int, int, Form]] = []  # (leading space, trailing space, form)
        for end, form in [hit for hit in raw if hit[1].countries]:
            start = end - form.length + 1
            # Hits come by end: an earlier hit starting at or after this one lies inside it.
            while spans and spans[-1][0] >= start:
                spans.pop()
            if spans and spans[-1][1] > start:
                continue  # inside the previous hit, or overlapping it: the leftmost wins
            spans.append((start, end, form))
        counts: dict[str, int] = {}
        if not locate:
            # Sentences and words matter only between two countries or more: most articles
            # mention one or none, and skip that work.
            for _, _, form in spans:
                for code in form.countries:
                    counts[code] = counts.get(code, 0) + 1
            return Evidence(language, topics, keywords, counts=counts)
        # Sentences are numbered across the article; none spans two fields.
        moved = bool(doc.norm.breaks)
        to_original = doc.norm.to_original
        sentence_ends = doc.sentence_ends
        places: dict[str, set[int]] = {}
        mentions: list[Mention] = []
        for start, _, form in spans:
            offset = to_original(start + 1) if moved else start + 1
            sentence = bisect.bisect_right(sentence_ends, offset)
            for code in form.countries:
                counts[code] = counts.get(code, 0) + 1
                if code in places:
                    places[code].add(sentence)
                else:
                    places[code] = {sentence}
            if self._words_needed:
                name = doc.names[doc.field_of(offset)]
                word = bisect.bisect_right(doc.word_starts, start)
                mentions.extend(Mention(code, name, word) for code in form.countries)
        return Evidence(language, topics, keywords, counts=counts, places=places, mentions=mentions)

    def _pair_counts(self, evidence: Evidence) -> dict[str, int]:
        counts: dict[str, int] = {}
        for a, b in combinations(sorted(evidence.counts), 2):
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
            kept = result.matches_where(_relevant_to(rule, result.topics))
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


class _Gathered(NamedTuple):
    """What the Python steps gather from an article."""

    codes: set[str]
    blocs: set[str]
    evidence: Evidence
    doc: _Doc
    hits: list[RawHit]

    def settled(self) -> tuple[_Doc, list[RawHit]]:
        """The text and its hits with every overlap resolved (the engine resolves them only
        where a careful form occurs: see :class:`~processors.match.Form`)."""
        doc = self.doc
        return doc, self.hits if doc.resolved else doc.matcher.resolve(self.hits, doc.norm)


class _Steps:
    """The Python steps over an article: run already, or run when first needed (the native
    core decided, and something it does not report is asked for)."""

    __slots__ = ("_gathered", "article", "engine", "language")

    def __init__(self, engine: Engine, article: ArticleText, language: str) -> None:
        self.engine, self.article, self.language = engine, article, language
        self._gathered: _Gathered | None = None

    def gathered(self) -> _Gathered:
        if self._gathered is None:
            self._gathered = self.engine._gather(*_fields(self.article), self.language)
        return self._gathered

    def evidence(self) -> Evidence:
        return self.gathered().evidence

    def verdicts(self, fired: tuple[Verdict, ...]) -> tuple[Verdict, ...]:
        """Every rule's verdict, from those that fired."""
        by_rule = {v.rule.id: v for v in fired}
        return tuple(
            by_rule.get(rule.id) or Verdict(rule, False, 0.0, self.evidence)
            for rule in self.engine.rules.rules
        )


def _relevant_to(rule: Rule, topics: Sequence[str]) -> Callable[[str], bool]:
    """Whether a match (by what it denotes) belongs in an alert of ``rule``: the rule's
    countries, the article's topics, the rule's own keywords."""
    relevant = {f"country:{c}" for c in rule.country_codes} | {f"topic:{t}" for t in topics}
    own = f"keyword:{rule.id}:"
    return lambda denotes: denotes in relevant or denotes.startswith(own)


def _language(article: ArticleText) -> str:
    """The article's language hint (ISO 639-1), else a detection from its text."""
    code = _hinted(article.language) if article.language else ""
    if code:
        return code
    sample = " ".join((article.title, article.summary, article.content[:2000]))
    if not sample.strip():
        return ""
    from newsradar.language import detect

    return detect(sample)


@lru_cache(maxsize=512)
def _hinted(hint: str) -> str:
    """``"en-GB"``, ``"ar_IQ"`` -> ``"en"``, ``"ar"`` (the few hints feeds use, read once)."""
    return hint.strip().lower().replace("_", "-").split("-")[0][:3]
