"""The detection engine: which countries an article is about, which pairs, topics and rules.

A plain library: the faust agents call it per event, ``newsradar classify`` calls it per line,
tests call it directly. Build one :class:`Engine` (it compiles the whole vocabulary into one
automaton, ~0.5 s) and share it.

Per article: the fields are joined and scanned once for every term (countries, people, topics,
rule keywords, relevance cues), by the native core when it is built (it only scans) and
otherwise by :meth:`~processors.match.Matcher.hits`; everything after the scan is Python and
written once: which mentions count, salience and relations (:mod:`processors.relevance`), and
the rules (:mod:`processors.rules`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from itertools import combinations
from pathlib import Path

from newsradar.schemas import Alert, Article, Match, RelationEvidence, alert_id
from processors import core as native_core
from processors.document import BETWEEN_FIELDS, FIELDS, Document, FieldName
from processors.document import joined as _joined
from processors.lazy import lazy
from processors.match import Hit, Matcher, leftmost_longest
from processors.relevance import (
    Relation,
    Relevance,
    RelevanceModel,
    Salience,
    country_mentions,
    default_model,
)
from processors.relevance import contexts as _contexts
from processors.rules import Evidence, Proximity, Rule, RuleSet, Verdict, keyword_language
from processors.rules import cooccurrences as _cooccurrences
from processors.terms import (
    Morphology,
    Term,
    default_morphology,
    gazetteer_terms,
    parse_term,
    topic_terms,
)

SNIPPET_CHARS = 60
MAX_MATCHES = 200
_MATCHED_KINDS = ("country", "alias", "bloc", "topic", "keyword")
"""Meanings an article's matches report (cues and contexts are the engine's own)."""


@dataclass(frozen=True)
class ArticleText:
    """The part of an article the engine reads."""

    id: str
    title: str = ""
    summary: str = ""
    content: str = ""
    language: str = ""
    url: str = ""
    categories: tuple[str, ...] = ()
    """The feed's own categories for the entry (``<category>``)."""

    @classmethod
    def of(cls, article: Article) -> ArticleText:
        return cls(
            id=article.id,
            title=article.title,
            summary=article.summary,
            content=article.content,
            language=article.language,
            url=article.url,
            categories=article.categories,
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


def joined(article: ArticleText) -> str:
    """The article's fields as the engine joins them for its one scan."""
    return _joined(_fields(article)[1])


@dataclass  # not frozen: a frozen dataclass's __init__ costs 3 µs a call
class Classification:
    id: str
    language: str
    countries: tuple[str, ...]
    blocs: tuple[str, ...]
    pairs: tuple[str, ...]
    pair_counts: dict[str, int]
    """Pairs of countries named in one sentence, with how many sentences, most first."""
    topics: tuple[str, ...]
    fired: tuple[Verdict, ...]
    """The verdicts of the rules that fired, in rule order."""
    country_counts: dict[str, int]
    """Mentions per country."""
    contexts: frozenset[str]
    evidence: Evidence = field(repr=False)
    doc: Document = field(repr=False)
    rules: tuple[Rule, ...] = field(repr=False)

    @lazy
    def verdicts(self) -> tuple[Verdict, ...]:
        """Every rule's verdict, fired or not, in rule order."""
        by_rule = {v.rule.id: v for v in self.fired}
        return tuple(
            by_rule.get(rule.id) or Verdict(rule, False, 0.0, self.evidence) for rule in self.rules
        )

    @lazy
    def matches(self) -> tuple[Match, ...]:
        """Every matched term with field, original offsets and snippet; built on first use
        (most articles raise no alert and nobody asks)."""
        return self.matches_where(lambda denotes: True)

    def matches_where(self, wanted: Callable[[str], bool]) -> tuple[Match, ...]:
        """The matches whose meaning (``country:IQ``, ``topic:trade`` ...) passes ``wanted``,
        at most :data:`MAX_MATCHES`; only those are built."""
        out: list[Match] = []
        doc = self.doc
        mentioned = self._mentioned
        for hit in self._resolved:
            start, _, form = hit
            denotes = [
                reported
                for m in form.meanings
                if m.kind in _MATCHED_KINDS
                for reported in [_reported(m.term.denotes)]
                if wanted(reported)
                and (m.kind not in ("country", "alias") or (start, reported) in mentioned)
            ]
            if denotes:
                out.extend(_matches(doc, hit, denotes))
                if len(out) >= MAX_MATCHES:
                    break
        return tuple(out[:MAX_MATCHES])

    @lazy
    def _resolved(self) -> list[Hit]:
        """The hits with every overlap resolved, leftmost longest (the engine resolves them
        only where a form that means something else is involved)."""
        return leftmost_longest(self.doc.hits)

    @lazy
    def _mentioned(self) -> frozenset[tuple[int, str]]:
        """Where each country mention starts, and ``country:CODE``: a country hit that is no
        mention (in a dateline; a short name the article never gave in full) is no match
        either."""
        relevance = self.evidence.relevance
        if relevance is None:
            return frozenset()
        return frozenset((m.start, f"country:{m.code}") for m in relevance.mentions)

    def salience(self) -> dict[str, Salience]:
        """Every country's salience, most central first."""
        relevance = self.evidence.relevance
        if relevance is None:
            return {}
        found = [relevance.salience(code) for code in self.countries]
        return {s.code: s for s in sorted(found, key=lambda s: (-s.score, s.code))}

    def relations(self) -> dict[str, Relation]:
        """Relation scores and evidence of every pair named in one sentence."""
        out: dict[str, Relation] = {}
        for pair in self.pairs:
            a, _, b = pair.partition("-")
            out[pair] = self.evidence.relation(a, b)
        return out

    def to_json(self) -> dict[str, object]:
        """The ``newsradar classify`` output line."""
        relations = self.relations()
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
            "contexts": sorted(self.contexts),
            "salience": {code: s.to_json() for code, s in self.salience().items()},
            "relations": {pair: relation.to_json() for pair, relation in relations.items()},
        }


def _reported(denotes: str) -> str:
    """What a match reports a meaning as: a person's short name as their country."""
    if denotes.startswith("alias:"):
        return "country:" + denotes.split(":")[1]
    return denotes


def _matches(doc: Document, hit: Hit, denotes: list[str]) -> list[Match]:
    """A hit as matches of ``denotes``: field, offsets in the field, snippet."""
    i = doc.field_of(hit[0])
    base, text = doc.bases[i], doc.texts[i]
    start, stop = hit[0] - base, hit[1] - base
    lo = max(0, start - SNIPPET_CHARS)
    snippet = " ".join(text[lo : stop + SNIPPET_CHARS].split())
    term = text[start:stop]
    # Validated construction: with pydantic 2 it costs less than model_construct.
    return [
        Match(term=term, denotes=d, field=doc.names[i], start=start, end=stop, snippet=snippet)
        for d in dict.fromkeys(denotes)
    ]


class Engine:
    def __init__(
        self,
        rules: RuleSet,
        *,
        terms: Sequence[Term] | None = None,
        morphology: Morphology | None = None,
        pair_proximity: Proximity | None = None,
        relevance: RelevanceModel | None = None,
        native: bool | None = None,
    ) -> None:
        """``native``: scan with the native core (:mod:`processors.core`); None: when it is
        built and not turned off (``NEWSRADAR_ENGINE=python``); True: it must be built."""
        self.rules = rules
        self.morphology = morphology or default_morphology()
        self.relevance = relevance or default_model()
        vocabulary = list(terms) if terms is not None else gazetteer_terms() + topic_terms()
        self.countries = {t.denotes[8:] for t in vocabulary if t.denotes.startswith("country:")}
        vocabulary += self.relevance.terms
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
        use = native_core.wanted() if native is None else native
        self.core = native_core.build(self.matcher) if use else None
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

    def classify(self, article: ArticleText) -> Classification:
        """What ``article`` is about and which rules fire."""
        names, texts = _fields(article)
        text = _joined(texts)
        found = None
        if self.core is not None:
            found = self.core.hits(
                (article.title, article.summary, article.content), BETWEEN_FIELDS
            )
        if found is None:
            doc = Document(names, texts, text, self.matcher.hits(text))
        else:
            hits, ends, named = found
            doc = Document(names, texts, text, hits, sentence_ends=ends, named=named)
        evidence, blocs = self._evidence(doc, _language(article), article.categories)
        counts = evidence.counts
        pair_counts = self._pair_counts(evidence) if len(counts) > 1 else {}
        fired = []
        for rule in self.rules.rules:
            decided, score = rule.decision(evidence)
            if decided:
                fired.append(Verdict(rule, True, score, evidence))
        return Classification(
            article.id,
            evidence.language,
            tuple(sorted(counts)),
            tuple(sorted(blocs)),
            tuple(sorted(pair_counts)),
            pair_counts,
            tuple(sorted(evidence.topics)),
            tuple(fired),
            counts,
            evidence.contexts,
            evidence,
            doc,
            self.rules.rules,
        )

    def _evidence(
        self, doc: Document, language: str, categories: Sequence[str]
    ) -> tuple[Evidence, set[str]]:
        """What rules read of the article, and the blocs it names."""
        hits = doc.hits
        forms = {form for _, _, form in hits}
        topics: set[str] = set()
        blocs: set[str] = set()
        keywords: dict[str, set[str]] = {}
        signals: dict[str, int] = {}
        distinct: dict[str, int] = {}
        for form in forms:
            if not form.aggregated:
                continue
            if form.topics:
                topics |= form.topics
            if form.blocs:
                blocs |= form.blocs
            for key, kw_text in form.keywords:
                keywords.setdefault(key, set()).add(kw_text)
            for context in form.contexts:
                distinct[context] = distinct.get(context, 0) + 1
        if distinct:
            for _, _, form in hits:
                for context in form.contexts:
                    signals[context] = signals.get(context, 0) + 1
        contexts = _contexts(self.relevance, signals, distinct, categories)
        named = doc.named
        cues = [h for h in hits if h[2].cues]
        if not (named or cues):
            return Evidence(language, topics, keywords, contexts=contexts), blocs
        pattern = self.relevance.boilerplate
        mentions = country_mentions(named, doc.text, pattern) if named else []
        counts: dict[str, int] = {}
        for m in mentions:
            counts[m.code] = counts.get(m.code, 0) + 1
        relevance = Relevance(self.relevance, doc, mentions, cues)
        # Sentences matter only between two countries or more: most articles name one or none.
        places = relevance.places if len(counts) > 1 else {}
        evidence = Evidence(
            language,
            topics,
            keywords,
            counts=counts,
            places=places,
            contexts=contexts,
            relevance=relevance,
        )
        return evidence, blocs

    def _pair_counts(self, evidence: Evidence) -> dict[str, int]:
        counts: dict[str, int] = {}
        for a, b in combinations(sorted(evidence.counts), 2):
            n = _cooccurrences(evidence, a, b, self.pair_proximity)
            if n:
                counts[f"{a}-{b}"] = n
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def alerts(
        self,
        article: Article,
        result: Classification | None = None,
        enqueued_at: datetime | None = None,
    ) -> list[Alert]:
        """One alert per rule that fires on ``article``; ids are stable per (rule, article).
        The alert's explanation leads with the sentences that relate its pairs."""
        result = result or self.classify(ArticleText.of(article))
        alerts = []
        for verdict in result.fired:
            rule = verdict.rule
            kept = result.matches_where(_relevant_to(rule, result.topics))
            relations = [
                RelationEvidence(
                    pair=relation.pair,
                    score=relation.score,
                    kind=top.kind,
                    field=top.field,
                    start=top.start,
                    end=top.end,
                    sentence=top.text,
                    cues=top.cues,
                )
                for a, b in rule.pairs
                for relation in [result.evidence.relation(a, b)]
                for top in relation.sentences[:3]
            ]
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
                    relations=tuple(relations),
                    reasons=verdict.reasons,
                    article_enqueued_at=enqueued_at,
                )
            )
        return alerts


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
