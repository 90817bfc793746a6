"""Declarative alert rules: what must hold for an article to raise an alert, and its score.

Rules live in a YAML (or TOML) file, ``data/rules.yaml`` by default; the file's header
documents every key. Loading validates the whole file and reports each problem as
``rules[0] (iraq-russia).countries.all: 'XX' is not a country code of the gazetteer``.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from processors.errors import RuleFileError
from processors.terms import DATA, TOPICS

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


class Weights(_Model):
    pair: float = Field(default=2.0, ge=0)
    topic: float = Field(default=1.0, ge=0)
    keyword: float = Field(default=1.0, ge=0)
    country: float = Field(default=0.0, ge=0)


class Rule(_Model):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")
    version: int = Field(default=1, ge=1)
    description: str = ""
    countries: CountryCondition = CountryCondition()
    pairs: tuple[tuple[str, str], ...] = ()
    proximity: Proximity = Proximity()
    topics: TopicCondition = TopicCondition()
    keywords: KeywordCondition = KeywordCondition()
    languages: tuple[str, ...] = ()
    weights: Weights = Weights()
    threshold: float = Field(default=0.0, ge=0)

    @cached_property
    def country_codes(self) -> frozenset[str]:
        codes = set(self.countries.all) | set(self.countries.any)
        for a, b in self.pairs:
            codes |= {a, b}
        return frozenset(codes)


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
            text = path.read_text(encoding="utf-8") if path else (DATA / "rules.yaml").read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise RuleFileError(f"{name}: cannot read rule file: {exc}") from None
        try:
            data: Any = tomllib.loads(text) if name.endswith(".toml") else yaml.safe_load(text)
        except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
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


@dataclass(frozen=True, slots=True)
class Mention:
    """A country mention located for proximity checks."""

    code: str
    field: str
    sentence: int
    word: int


@dataclass
class Evidence:
    """What the engine found in one article, as rules need it."""

    language: str
    mentions: list[Mention]
    topics: set[str]
    keywords: dict[str, set[str]] = field(default_factory=dict)
    """``"RULE:GROUP"`` -> the keyword texts that matched."""

    def countries(self) -> set[str]:
        return {m.code for m in self.mentions}


@dataclass(frozen=True)
class Verdict:
    rule: Rule
    fired: bool
    score: float
    reasons: tuple[str, ...]


def cooccurrences(evidence: Evidence, a: str, b: str, proximity: Proximity) -> int:
    """How many sentences (or word windows) hold both ``a`` and ``b``."""
    if proximity.unit == "sentence":
        places_a = {(m.field, m.sentence) for m in evidence.mentions if m.code == a}
        places_b = {(m.field, m.sentence) for m in evidence.mentions if m.code == b}
        return len(places_a & places_b)
    count = 0
    for ma in (m for m in evidence.mentions if m.code == a):
        count += any(
            mb.code == b and mb.field == ma.field and abs(mb.word - ma.word) <= proximity.distance
            for mb in evidence.mentions
        )
    return count


def evaluate(rule: Rule, evidence: Evidence) -> Verdict:
    reasons: list[str] = []
    failed: list[str] = []
    countries = evidence.countries()
    if rule.languages and evidence.language not in rule.languages:
        failed.append(f"language {evidence.language or '?'} not in {list(rule.languages)}")
    missing = [c for c in rule.countries.all if c not in countries]
    if missing:
        failed.append(f"countries missing: {missing}")
    if rule.countries.any and not countries & set(rule.countries.any):
        failed.append(f"none of countries {list(rule.countries.any)}")
    score = 0.0
    for a, b in rule.pairs:
        n = cooccurrences(evidence, a, b, rule.proximity)
        if n == 0:
            failed.append(f"{a} and {b} never within one {rule.proximity.unit}")
        else:
            reasons.append(f"{a}-{b} together {n}x")
            score += rule.weights.pair * min(n, 5)
    topic_missing = [t for t in rule.topics.all if t not in evidence.topics]
    if topic_missing:
        failed.append(f"topics missing: {topic_missing}")
    if rule.topics.any and not evidence.topics & set(rule.topics.any):
        failed.append(f"none of topics {list(rule.topics.any)}")
    relevant_topics = evidence.topics & (set(rule.topics.any) | set(rule.topics.all))
    if relevant_topics:
        reasons.append(f"topics {sorted(relevant_topics)}")
        score += rule.weights.topic * len(relevant_topics)
    kw = evidence.keywords
    kw_all = kw.get(f"{rule.id}:all", set())
    wanted = {spec.partition("|")[0].strip() for spec in rule.keywords.all}
    if wanted - kw_all:
        failed.append("not all `keywords.all` present")
    kw_none = kw.get(f"{rule.id}:none", set())
    if kw_none:
        failed.append(f"excluded keywords present: {sorted(kw_none)}")
    kw_any = kw.get(f"{rule.id}:any", set())
    if rule.keywords.any and not kw_any:
        failed.append("none of `keywords.any` present")
    score += rule.weights.keyword * len(kw_any)
    if rule.weights.country:
        mentions = sum(1 for m in evidence.mentions if m.code in rule.country_codes)
        score += rule.weights.country * min(mentions, 5)
    if not failed and score < rule.threshold:
        failed.append(f"score {score:g} below threshold {rule.threshold:g}")
    return Verdict(rule, not failed, round(score, 3), tuple(failed if failed else reasons))
