"""Declarative alert rules: what must hold for an article to raise an alert, and its score.

Rules live in a YAML (or TOML) file, ``data/rules.yaml`` by default; the file's header
documents every key. Loading validates the whole file and reports each problem as
``rules[0] (iraq-russia).countries.all: 'XX' is not a country code of the gazetteer``.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from newsradar.datafile import DataSyntaxError, parse_data
from processors.errors import RuleFileError
from processors.terms import DATA, TOPICS

if TYPE_CHECKING:
    from processors.relevance import Relation, Relevance

_ARABIC = re.compile(r"[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CountryCondition(_Model):
    all: tuple[str, ...] = ()
    any: tuple[str, ...] = ()


class TopicCondition(_Model):
    all: tuple[str, ...] = ()
    any: tuple[str, ...] = ()

    @field_validator("all", "any")
    @classmethod
    def _known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [t for t in value if t not in TOPICS]
        if unknown:
            raise ValueError(f"unknown topics {unknown}; the vocabulary is {', '.join(TOPICS)}")
        return value


class KeywordCondition(_Model):
    """Extra terms, written like topic terms (``TEXT`` or ``TEXT|CLASS``), any language."""

    all: tuple[str, ...] = ()
    any: tuple[str, ...] = ()
    none: tuple[str, ...] = ()


class Proximity(_Model):
    unit: Literal["sentence", "words"] = "sentence"
    distance: int = Field(default=0, ge=0, le=1000)
    """For ``words``: at most this many words apart."""


class RelationCondition(_Model):
    min: float = Field(default=0.0, ge=0)
    """Each pair of ``pairs`` needs relation evidence weighing at least this much: sentences
    that put the two in relation (processors/relevance.py), not names that merely co-occur."""


class SalienceCondition(_Model):
    min: float = Field(default=0.0, ge=0, le=1)
    """Each country of ``countries.all`` and ``pairs`` must be at least this central to the
    article (0 to 1: title, lead, share of mentions, spread over paragraphs)."""


class ContextCondition(_Model):
    none: tuple[str, ...] = ()
    """Contexts (``sports``, ``entertainment``: processors/data/relevance.yaml) in which the
    rule never fires."""
    weigh: tuple[str, ...] = ()
    """Contexts that lower the score by ``weights.context`` each."""

    @field_validator("none", "weigh")
    @classmethod
    def _known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        from processors.relevance import default_model

        known = default_model().contexts
        unknown = [c for c in value if c not in known]
        if unknown:
            raise ValueError(f"unknown contexts {unknown}; the contexts are {', '.join(known)}")
        return value


class Weights(_Model):
    pair: float = Field(default=2.0, ge=0)
    topic: float = Field(default=1.0, ge=0)
    keyword: float = Field(default=1.0, ge=0)
    country: float = Field(default=0.0, ge=0)
    relation: float = Field(default=0.0, ge=0)
    """Times the relation evidence of each pair (at most 5)."""
    salience: float = Field(default=0.0, ge=0)
    """Times the salience of the least central required country."""
    context: float = Field(default=0.0, ge=0)
    """Taken off for each context of ``contexts.weigh`` the article is in."""


class Rule(_Model):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")
    version: int = Field(default=1, ge=1)
    description: str = ""
    countries: CountryCondition = CountryCondition()
    pairs: tuple[tuple[str, str], ...] = ()
    proximity: Proximity = Proximity()
    topics: TopicCondition = TopicCondition()
    keywords: KeywordCondition = KeywordCondition()
    relation: RelationCondition = RelationCondition()
    salience: SalienceCondition = SalienceCondition()
    contexts: ContextCondition = ContextCondition()
    languages: tuple[str, ...] = ()
    weights: Weights = Weights()
    threshold: float = Field(default=0.0, ge=0)

    @cached_property
    def topic_set(self) -> frozenset[str]:
        """The topics the rule names (scored when present)."""
        return frozenset(self.topics.any) | frozenset(self.topics.all)

    @cached_property
    def keyword_keys(self) -> tuple[str, str, str]:
        """How the engine files this rule's ``all``, ``any`` and ``none`` keywords."""
        return f"{self.id}:all", f"{self.id}:any", f"{self.id}:none"

    @cached_property
    def keyword_texts(self) -> frozenset[str]:
        """The texts of ``keywords.all``, as the engine reports matched keywords."""
        return frozenset(spec.partition("|")[0].strip() for spec in self.keywords.all)

    @cached_property
    def country_codes(self) -> frozenset[str]:
        codes = set(self.countries.all) | set(self.countries.any)
        for a, b in self.pairs:
            codes |= {a, b}
        return frozenset(codes)

    @cached_property
    def salient_codes(self) -> tuple[str, ...]:
        """The countries whose salience the rule reads: ``countries.all`` and the pairs'."""
        codes = dict.fromkeys(self.countries.all)
        for a, b in self.pairs:
            codes.update(dict.fromkeys((a, b)))
        return tuple(codes)

    @cached_property
    def decision(self) -> _Decision:
        return _Decision(self)


def keyword_language(text: str) -> Literal["ar", "en"]:
    return "ar" if _ARABIC.search(text) else "en"


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    source: str = "default rules"

    @classmethod
    def load(cls, path: Path | None = None, *, known_countries: Collection[str] = ()) -> RuleSet:
        """Read and validate a rule file (default: the packaged rules)."""
        name = str(path) if path else "processors/data/rules.yaml"
        try:
            text = (
                path.read_text(encoding="utf-8")
                if path
                else (DATA / "rules.yaml").read_text(encoding="utf-8")
            )
        except (OSError, UnicodeDecodeError) as exc:
            raise RuleFileError(f"{name}: cannot read rule file: {exc}") from None
        try:
            data: Any = parse_data(text, name)
        except DataSyntaxError as exc:
            raise RuleFileError(f"{name}: rule file is not valid YAML/TOML: {exc}") from None
        if not isinstance(data, Mapping) or not isinstance(data.get("rules"), list):
            raise RuleFileError(f"{name}: a rule file holds a list under the key `rules`")
        return cls.from_data(data["rules"], source=name, known_countries=known_countries)

    @classmethod
    def from_data(
        cls, items: Sequence[Any], *, source: str, known_countries: Collection[str] = ()
    ) -> RuleSet:
        problems: list[str] = []
        rules: list[Rule] = []
        seen: set[str] = set()
        for i, item in enumerate(items):
            rid = item.get("id", "?") if isinstance(item, Mapping) else "?"
            where = f"{source}: rules[{i}] ({rid})"
            if rid in seen:
                problems.append(f"{where}.id: duplicate rule id; ids must be unique")
            seen.add(rid)
            try:
                rule = Rule.model_validate(item)
            except ValidationError as exc:
                for err in exc.errors():
                    loc = ".".join(str(p) for p in err["loc"]) or "(rule)"
                    got = err.get("input")
                    shown = "" if isinstance(got, Mapping) else f" = {got!r}"
                    problems.append(f"{where}.{loc}{shown}: {err['msg']}")
                continue
            if known_countries:
                for code in sorted(rule.country_codes - set(known_countries)):
                    problems.append(
                        f"{where}: {code!r} is not a country code of the gazetteer "
                        "(ISO 3166-1 alpha-2, e.g. IQ, RU)"
                    )
            rules.append(rule)
        if problems:
            raise RuleFileError("\n".join(problems))
        return cls(tuple(rules), source)


# --- evaluation ----------------------------------------------------------------------------------


class WordMention(NamedTuple):
    """A country mention located for word distances."""

    code: str
    field: str
    word: int


class Evidence:
    """What the engine found in one article, as rules need it."""

    def __init__(
        self,
        language: str,
        topics: set[str],
        keywords: dict[str, set[str]] | None = None,
        *,
        counts: dict[str, int] | None = None,
        places: dict[str, set[int]] | None = None,
        mentions: list[WordMention] | None = None,
        contexts: frozenset[str] = frozenset(),
        relevance: Relevance | None = None,
    ) -> None:
        self.language = language
        self.topics = topics
        self.keywords = keywords or {}
        """``"RULE:GROUP"`` -> the keyword texts that matched."""
        self.counts = counts or {}
        """Mentions per country."""
        self.places = places or {}
        """Country -> the sentences (numbered across the article) that mention it; filled
        when two countries or more are mentioned."""
        self._mentions = mentions
        self.contexts = contexts
        """The contexts the article is in (``sports`` ...)."""
        self.relevance = relevance
        """Salience and relation evidence, worked out when asked for; None in evidence made
        by hand, which then has neither."""

    @property
    def mentions(self) -> list[WordMention]:
        """Mentions with field and word, for rules that count words between countries."""
        if self._mentions is None:
            self._mentions = self.relevance.word_mentions() if self.relevance else []
        return self._mentions

    def relation(self, a: str, b: str, *, enough: float | None = None) -> Relation:
        if self.relevance is None:
            from processors.relevance import Relation

            return Relation(f"{min(a, b)}-{max(a, b)}", 0.0)
        return self.relevance.relation(a, b, enough=enough)

    def salience(self, code: str) -> float:
        return self.relevance.salience(code).score if self.relevance else 0.0


def cooccurrences(evidence: Evidence, a: str, b: str, proximity: Proximity) -> int:
    """How many sentences (or word windows) hold both ``a`` and ``b``."""
    if a not in evidence.counts or b not in evidence.counts:
        return 0
    if proximity.unit == "sentence":
        places = evidence.places
        return len(places[a] & places[b]) if a in places and b in places else 0
    count = 0
    for ma in (m for m in evidence.mentions if m.code == a):
        count += any(
            mb.code == b and mb.field == ma.field and abs(mb.word - ma.word) <= proximity.distance
            for mb in evidence.mentions
        )
    return count


class Verdict:
    """Whether ``rule`` fires, its score and, on demand, why (or why not)."""

    def __init__(self, rule: Rule, fired: bool, score: float | None, evidence: Evidence) -> None:
        """``score``: the score when the rule fired, if the decision worked it out whole. Any
        other score, and the reasons, are worked out from ``evidence`` when asked for."""
        self.rule = rule
        self.fired = fired
        self._score = score
        self._evidence = evidence

    @classmethod
    def of(cls, rule: Rule, evidence: Evidence) -> Verdict:
        """The decision alone: it stops at the first failed condition."""
        fired, score = rule.decision(evidence)
        return cls(rule, fired, score, evidence)

    @cached_property
    def _explained(self) -> tuple[bool, float, tuple[str, ...]]:
        return _judge(self.rule, self._evidence, explain=True)

    @property
    def score(self) -> float:
        return self._score if self.fired and self._score is not None else self._explained[1]

    @property
    def reasons(self) -> tuple[str, ...]:
        return self._explained[2]

    def __repr__(self) -> str:
        return f"Verdict({self.rule.id!r}, fired={self.fired}, score={self.score:g})"


def evaluate(rule: Rule, evidence: Evidence) -> Verdict:
    return Verdict.of(rule, evidence)


_NOT_FIRED = (False, 0.0, (), True)
RELATION_CAP = 5.0
"""How much relation evidence a rule's score counts at most."""
_NO = (False, 0.0)
_NOTHING: frozenset[str] = frozenset()


class _Decision:
    """A rule's conditions read once into plain values (every article is judged by every rule,
    and walking the pydantic model each time cost a third of the judgement); called, whether
    the rule fires and its score when it does."""

    __slots__ = (
        "contexts_none", "contexts_weigh", "countries_all", "countries_all_set", "countries_any",
        "country_codes", "key_all", "key_any", "key_none", "keyword_texts", "keywords_all",
        "keywords_any", "languages", "pairs", "proximity", "relation_enough", "relation_min",
        "salience_min", "salient_codes", "threshold", "topic_set", "topics_all",
        "topics_all_set", "topics_any", "w_context", "w_country", "w_keyword", "w_pair",
        "w_relation", "w_salience", "w_topic",
    )  # fmt: skip

    def __init__(self, rule: Rule) -> None:
        self.languages = rule.languages
        self.countries_all = rule.countries.all
        self.countries_all_set = frozenset(rule.countries.all)
        self.countries_any = rule.countries.any
        self.topics_all = rule.topics.all
        self.topics_all_set = frozenset(rule.topics.all)
        self.topics_any = rule.topics.any
        self.key_all, self.key_any, self.key_none = rule.keyword_keys
        self.keywords_all = bool(rule.keywords.all)
        self.keywords_any = bool(rule.keywords.any)
        self.keyword_texts = rule.keyword_texts
        self.pairs = rule.pairs
        self.proximity = rule.proximity
        self.topic_set = rule.topic_set
        self.w_pair, self.w_topic = rule.weights.pair, rule.weights.topic
        self.w_keyword, self.w_country = rule.weights.keyword, rule.weights.country
        self.country_codes = tuple(rule.country_codes)
        self.threshold = rule.threshold
        self.relation_min = rule.relation.min
        self.relation_enough = max(rule.relation.min, RELATION_CAP)
        self.salience_min = rule.salience.min
        self.salient_codes = rule.salient_codes
        self.contexts_none = frozenset(rule.contexts.none)
        self.contexts_weigh = frozenset(rule.contexts.weigh)
        self.w_relation, self.w_salience = rule.weights.relation, rule.weights.salience
        self.w_context = rule.weights.context

    def __call__(self, ev: Evidence) -> tuple[bool, float | None]:
        """Whether the rule fires on ``ev``, and its score when it does (None when the
        decision did not need all of it: :attr:`Verdict.score` works it out on demand)."""
        fired, score, _, exact = _check(self, ev, explain=False)
        return (True, score if exact else None) if fired else _NO


def _judge(rule: Rule, ev: Evidence, *, explain: bool) -> tuple[bool, float, tuple[str, ...]]:
    fired, score, reasons, _ = _check(rule.decision, ev, explain=explain)
    return fired, score, reasons


def _check(  # noqa: PLR0911 - one early return per condition
    c: _Decision, ev: Evidence, *, explain: bool
) -> tuple[bool, float, tuple[str, ...], bool]:
    """The rule's conditions in order: whether it fires, the score, the reasons (or what
    failed), and whether the score is exact. Without ``explain`` it returns at the first
    failure (most articles fail the first condition, and nobody reads why) and reads relation
    evidence only as far as the decision needs (the score of a rule that fires may then be a
    lower bound: not exact); with it, every failure and every reason is collected."""
    reasons: list[str] = []
    failed: list[str] = []
    counts = ev.counts
    if c.languages and ev.language not in c.languages:
        if not explain:
            return _NOT_FIRED
        failed.append(f"language {ev.language or '?'} not in {list(c.languages)}")
    if not counts.keys() >= c.countries_all_set:
        if not explain:
            return _NOT_FIRED
        missing = [code for code in c.countries_all if code not in counts]
        failed.append(f"countries missing: {missing}")
    if c.countries_any and not any(code in counts for code in c.countries_any):
        if not explain:
            return _NOT_FIRED
        failed.append(f"none of countries {list(c.countries_any)}")
    topics = ev.topics
    if not topics >= c.topics_all_set:
        if not explain:
            return _NOT_FIRED
        topic_missing = [t for t in c.topics_all if t not in topics]
        failed.append(f"topics missing: {topic_missing}")
    if c.topics_any and topics.isdisjoint(c.topics_any):
        if not explain:
            return _NOT_FIRED
        failed.append(f"none of topics {list(c.topics_any)}")
    kw = ev.keywords
    if c.keywords_all and c.keyword_texts - kw.get(c.key_all, _NOTHING):
        if not explain:
            return _NOT_FIRED
        failed.append("not all `keywords.all` present")
    kw_none = kw.get(c.key_none)
    if kw_none:
        if not explain:
            return _NOT_FIRED
        failed.append(f"excluded keywords present: {sorted(kw_none)}")
    kw_any = kw.get(c.key_any, _NOTHING)
    if c.keywords_any and not kw_any:
        if not explain:
            return _NOT_FIRED
        failed.append("none of `keywords.any` present")
    blocked = ev.contexts & c.contexts_none
    if blocked:
        if not explain:
            return _NOT_FIRED
        failed.append(f"context {', '.join(sorted(blocked))}")
    score = 0.0
    together: list[tuple[str, str, int]] = []
    for a, b in c.pairs:
        n = cooccurrences(ev, a, b, c.proximity)
        if n == 0:
            if not explain:
                return _NOT_FIRED
            failed.append(f"{a} and {b} never within one {c.proximity.unit}")
            continue
        if explain:
            reasons.append(f"{a}-{b} together {n}x")
        score += c.w_pair * min(n, 5)
        together.append((a, b, n))
    if c.salient_codes and (c.salience_min or c.w_salience):
        saliences = {code: ev.salience(code) for code in c.salient_codes}
        lowest = min(saliences.values())
        if lowest < c.salience_min:
            if not explain:
                return _NOT_FIRED
            low = {k: v for k, v in saliences.items() if v < c.salience_min}
            failed.append(f"salience {low} below {c.salience_min:g}")
        elif explain:
            reasons.append(f"salience {saliences}")
        score += c.w_salience * lowest
    weighed = ev.contexts & c.contexts_weigh
    if weighed:
        if explain:
            reasons.append(f"context {', '.join(sorted(weighed))} weighs down")
        score -= c.w_context * len(weighed)
    relevant_topics = topics & c.topic_set
    if relevant_topics:
        if explain:
            reasons.append(f"topics {sorted(relevant_topics)}")
        score += c.w_topic * len(relevant_topics)
    score += c.w_keyword * len(kw_any)
    if c.w_country:
        mentions = sum(counts.get(code, 0) for code in c.country_codes)
        score += c.w_country * min(mentions, 5)
    exact = True
    if c.relation_min or c.w_relation:
        for i, (a, b, n) in enumerate(together):
            # Relation evidence is read last, and only as far as the decision needs: its
            # sentences are the engine's costliest work. The score counts at most
            # RELATION_CAP of it; an explanation reads every sentence.
            enough = None
            if not explain:
                later = (len(together) - i - 1) * RELATION_CAP * c.w_relation
                needed = (c.threshold - score - later) / c.w_relation if c.w_relation else 0.0
                enough = max(c.relation_min, min(needed, RELATION_CAP))
            relation = ev.relation(a, b, enough=enough)
            if relation.score < c.relation_min:
                if not explain:
                    return _NOT_FIRED
                failed.append(
                    f"{a}-{b} relation {relation.score:g} below {c.relation_min:g} "
                    f"(named together {n}x, related in {len(relation.sentences)} sentences)"
                )
                continue
            if explain and relation.sentences:
                top = relation.sentences[0]
                reasons.insert(
                    0,
                    f"{a}-{b} related {relation.score:g} in {len(relation.sentences)} "
                    f"sentences, first {top.kind} ({', '.join(top.cues) or 'side by side'}): "
                    f"{top.text}",
                )
            exact = exact and (relation.complete or relation.score >= RELATION_CAP)
            score += c.w_relation * min(relation.score, RELATION_CAP)
    score = round(score, 3)
    if not failed and score < c.threshold:
        failed.append(f"score {score:g} below threshold {c.threshold:g}")
    return not failed, score, tuple(failed if failed else reasons), exact
