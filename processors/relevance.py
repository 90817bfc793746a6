"""The relevance model: which country mentions count, how central each country is to an article,
and which of its sentences put two countries in relation.

An alert an analyst trusts needs more than two names in one sentence. Read on real news, most
articles that name Iraq and Russia together are about something else: one country is the story
and the other a place, a border or the old territory of a militant group; both react, each on
its own, to a third country; a list of allies; a World Cup; a "related news" line; a word that
only looks like a country. This module gives rules what tells those apart, each piece
explainable:

- **Mentions** (:func:`country_mentions`): a country is mentioned by the article's own words,
  not by a dateline, byline or related-news line (``boilerplate`` in
  ``data/relevance.yaml``); a person's short name (a surname that is also a demonym, another
  official's name) stands for their country only where the article also names them in full.
- **Salience** (:meth:`Relevance.salience`): how central a country is, from 0 to 1: named in
  the title, in the lead, its share of the article's country mentions, its spread over
  paragraphs.
- **Relation evidence** (:meth:`Relevance.relation`): the sentences that put two countries in
  relation, each with the kind of evidence and the cues that make it: a bilateral construction
  ("between Iraq and Russia", "العلاقات العراقية الروسية", "Iraqi-Russian"); one side's
  officials meeting, visiting, calling the other's; a deal or a dispute between them; one side
  acting on the other (supplying, supporting, handing over); one side's company or embassy in
  the other. Not: both in an enumeration of three countries or more; two clauses about separate
  events ("Moscow condemned ..., while Baghdad said ..."); both acted on by a third country
  ("Iran's ties with Russia and Iraq"); two reactions side by side ("Russia and Iraq welcomed
  the deal"); a city, or a capital that is only the venue; names far apart.
- **Contexts** (:func:`contexts`): sports and entertainment, from the feed's own categories or
  the article's words, weigh an article down for rules that say so.

The vocabulary, weights and patterns are data (``data/relevance.yaml``); this module is the one
place the decisions are written.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from processors.document import WORD, Document
from processors.errors import DataFileError
from processors.lazy import lazy
from processors.match import Form, Hit, PlacedHit
from processors.normalize import fold
from processors.terms import Language, Term, load_yaml, parse_term

if TYPE_CHECKING:
    from processors.rules import WordMention

CUES = ("between", "bilateral", "meeting", "dealing", "directed", "actor", "contrast")
EVIDENCE_KINDS = ("bilateral", "meeting", "dealing", "directed", "actor")
"""Kinds of relation evidence, strongest first."""
_PLACE_PROCLITICS = ("ب", "ل", "وب", "ول", "فب", "فل", "بال", "لل", "وبال", "ولل", "فبال", "فلل")
_GLUE = re.compile(r"[\s,،/\-–—]*(?:(?:and|or|&|و|أو|او)\s*)?[\s,،/\-–—]*", re.IGNORECASE)
"""What may stand between two names of one list: commas, slashes, dashes, "and", "or"."""


@dataclass(frozen=True)
class ContextSpec:
    name: str
    min_terms: int
    min_distinct: int
    categories: frozenset[str]
    """Folded feed categories that put an article in the context."""


@dataclass(frozen=True)
class RelevanceModel:
    """``data/relevance.yaml``, read and checked."""

    terms: tuple[Term, ...]
    """The cue (``cue:NAME``) and context (``context:NAME``) terms, for the matcher."""
    contexts: Mapping[str, ContextSpec]
    places: frozenset[str]
    venues: frozenset[str]
    salience: Mapping[str, float]
    relation: Mapping[str, float]
    boilerplate: re.Pattern[str] | None
    strongest: float
    """The weight of the strongest kind of relation evidence."""

    @classmethod
    def load(cls, path: Path | str = "relevance.yaml") -> RelevanceModel:
        data = load_yaml(path, "relevance file")
        try:
            terms = _terms(data["cues"], "cue", path, known=CUES)
            specs: dict[str, ContextSpec] = {}
            for name, entry in (data.get("contexts") or {}).items():
                terms += _terms({name: entry}, "context", path)
                specs[name] = ContextSpec(
                    name,
                    int(entry.get("min_terms", 3)),
                    int(entry.get("min_distinct", 2)),
                    frozenset(fold(str(c)).strip() for c in entry.get("categories", [])),
                )
            places, venues = (
                frozenset(fold(str(w)) for lang in ("en", "ar") for w in data[key].get(lang, []))
                for key in ("places", "venues")
            )
            salience = {k: float(data["salience"][k]) for k in _SALIENCE_KEYS}
            relation = {k: float(data["relation"][k]) for k in _RELATION_KEYS}
            patterns = [
                str(p)
                for group in ("datelines", "bylines", "related")
                for p in (data.get("boilerplate") or {}).get(group, [])
            ]
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise DataFileError(f"{path}: relevance file lacks or misshapes {exc}") from None
        try:
            boilerplate = (
                re.compile(r"[ \t]*(?:" + "|".join(f"(?:{p})" for p in patterns) + ")", re.M)
                if patterns
                else None
            )
        except re.error as exc:
            raise DataFileError(f"{path}: a boilerplate pattern is not a regex: {exc}") from None
        strongest = max(relation[k] for k in EVIDENCE_KINDS)
        return cls(tuple(terms), specs, places, venues, salience, relation, boilerplate, strongest)


_SALIENCE_KEYS = ("title", "lead", "share", "spread", "lead_sentences")
_RELATION_KEYS = (
    *EVIDENCE_KINDS,
    "title_factor",
    "lead_factor",
    "max_words_apart",
    "actor_max_words",
)


def _terms(
    section: Mapping[str, Any], kind: str, path: Path | str, known: Sequence[str] = ()
) -> list[Term]:
    out: list[Term] = []
    for name, entry in section.items():
        if known and name not in known:
            raise DataFileError(f"{path}: unknown cue {name!r}; the cues are {', '.join(known)}")
        languages: tuple[Language, ...] = ("en", "ar")
        for language in languages:
            for spec in entry.get(language, []):
                out.append(
                    parse_term(
                        str(spec),
                        denotes=f"{kind}:{name}",
                        language=language,
                        default_class="name",
                    )
                )
    return out


@lru_cache(maxsize=1)
def default_model() -> RelevanceModel:
    return RelevanceModel.load()


# --- mentions ------------------------------------------------------------------------------------


class Mention(NamedTuple):
    """A country named by the article: where (in the text, and in its fields, sentences and
    paragraphs), and how (``name``, ``demonym``, ``leader`` ...)."""

    code: str
    start: int
    end: int
    sense: str
    base: str
    """The country term written there, folded (``العراق`` for ``بالعراق``)."""
    field: int
    sentence: int
    paragraph: int


_mention = partial(tuple.__new__, Mention)
"""``Mention`` from a tuple of its fields, without the Python-level ``__new__`` of a named tuple
(the engine makes one per mention)."""

BOILERPLATE_REACH = 200
"""How far from a line's start boilerplate reaches (a dateline, a byline, a related-news
line): a name further in is the article's own."""


def country_mentions(
    hits: Sequence[PlacedHit], text: str, boilerplate: re.Pattern[str] | None
) -> list[Mention]:
    """The article's country mentions among ``hits`` (those whose form may name a country,
    placed: :attr:`~processors.document.Document.named`), in order: a hit inside or
    overlapping the previous one is the same mention ("Iraq" in "Iraq's"); a hit in the
    boilerplate that ``boilerplate`` (anchored at a line's start) finds
    at the start of its line (a dateline, byline, related-news line) is none; a person's short
    name stands for their country where the article names them in full (a title often gives
    the short name first), and otherwise for whatever else the form means (السوداني, a
    Sudanese)."""
    named: set[str] | None = None  # the people named in full, looked up at the first alias
    out: list[Mention] = []
    last_end = -1
    lines: dict[int, int] = {}  # paragraph -> where its line's boilerplate ends (-1: none)
    for start, end, form, field, sentence, paragraph in hits:
        if start < last_end:
            continue
        if boilerplate is not None:
            until = lines.get(paragraph)
            if until is None:
                line = text.rfind("\n", 0, start) + 1
                found = boilerplate.match(text, line, line + BOILERPLATE_REACH)
                until = lines[paragraph] = found.end() if found else -1
            if start < until:
                continue
        codes: Iterable[str] = form.countries
        sense = form.sense
        if form.aliases:
            if named is None:
                named = {person for hit in hits for person in hit[2].persons}
            resolved = [code for code, person in form.aliases if person in named]
            if resolved:
                codes, sense = resolved, "leader"
        last_end = end
        for code in codes:
            out.append(_mention((code, start, end, sense, form.base, field, sentence, paragraph)))
    return out


# --- contexts ------------------------------------------------------------------------------------


def contexts(
    model: RelevanceModel, counts: Mapping[str, int], distinct: Mapping[str, int],
    categories: Iterable[str],
) -> frozenset[str]:  # fmt: skip
    """The contexts an article is in: by its feed's categories, or by how often (``counts``)
    and how variously (``distinct``) its words signal them."""
    folded = {fold(c).strip() for c in categories}
    return frozenset(
        name
        for name, spec in model.contexts.items()
        if not folded.isdisjoint(spec.categories)
        or (counts.get(name, 0) >= spec.min_terms and distinct.get(name, 0) >= spec.min_distinct)
    )


# --- salience and relations ----------------------------------------------------------------------


@dataclass(frozen=True)
class Salience:
    """How central a country is to an article (``score``, 0 to 1), and from what."""

    code: str
    score: float
    title: bool
    lead: bool
    share: float
    """Its share of the article's country mentions."""
    spread: float
    """The share of the article's paragraphs that name it."""

    def to_json(self) -> dict[str, object]:
        return {
            "score": self.score,
            "title": self.title,
            "lead": self.lead,
            "share": round(self.share, 3),
            "spread": round(self.spread, 3),
        }


@dataclass(frozen=True)
class RelationSentence:
    """A sentence that puts two countries in relation."""

    field: str
    start: int
    end: int
    """The sentence's ``[start, end)`` in its field."""
    text: str
    kind: str
    """The strongest evidence in it: ``bilateral``, ``meeting``, ``dealing``, ``directed``
    or ``actor``."""
    cues: tuple[str, ...]
    """The words that make it so, as written."""
    weight: float

    def to_json(self) -> dict[str, object]:
        return {
            "field": self.field,
            "start": self.start,
            "end": self.end,
            "kind": self.kind,
            "cues": list(self.cues),
            "weight": self.weight,
            "sentence": self.text,
        }


@dataclass(frozen=True)
class Relation:
    """The evidence that an article relates two countries: its sentences, strongest first,
    and their summed weight (``score``)."""

    pair: str
    score: float
    sentences: tuple[RelationSentence, ...] = ()
    cooccurrences: int = 0
    """Sentences that name both, related or not."""
    complete: bool = True
    """Whether every sentence naming both was read (see :meth:`Relevance.relation`)."""

    def to_json(self) -> dict[str, object]:
        return {
            "score": self.score,
            "cooccurrences": self.cooccurrences,
            "evidence": [s.to_json() for s in self.sentences],
        }


class Relevance:
    """Salience and relation evidence of one article, each worked out when first asked for
    (most articles name fewer than two countries, and no rule asks)."""

    def __init__(
        self,
        model: RelevanceModel,
        doc: Document,
        mentions: list[Mention],
        cue_hits: list[Hit],
    ) -> None:
        self.model = model
        self.doc = doc
        self.mentions = mentions
        self.cue_hits = cue_hits
        self._relations: dict[tuple[str, str], Relation] = {}

    def word_mentions(self) -> list[WordMention]:
        """Mentions with their field's name and word number, for rules that count words
        between countries."""
        from processors.rules import WordMention

        doc = self.doc
        return [
            WordMention(m.code, doc.names[m.field], doc.word_of(m.start)) for m in self.mentions
        ]

    @lazy
    def places(self) -> dict[str, set[int]]:
        """Country -> the sentences that name it."""
        out: dict[str, set[int]] = {}
        for m in self.mentions:
            sentences = out.get(m.code)
            if sentences is None:
                out[m.code] = {m.sentence}
            else:
                sentences.add(m.sentence)
        return out

    @lazy
    def _lead_sentences(self) -> frozenset[int]:
        """The lead: the summary, else the first sentences of the text (never the title)."""
        doc = self.doc
        names = doc.names
        if "summary" in names:
            base = doc.bases[names.index("summary")]
            end = base + len(doc.texts[names.index("summary")])
            return frozenset(range(doc.sentence_of(base), doc.sentence_of(end - 1) + 1))
        if "content" not in names:
            return frozenset()
        first = doc.sentence_of(doc.bases[names.index("content")])
        return frozenset(range(first, first + int(self.model.salience["lead_sentences"])))

    def salience(self, code: str) -> Salience:
        """How central ``code`` is to the article (0 when it is not named)."""
        return self._saliences.get(code) or Salience(code, 0.0, False, False, 0.0, 0.0)

    @lazy
    def _saliences(self) -> dict[str, Salience]:
        """Every named country's salience, worked out in one pass over the mentions."""
        weights = self.model.salience
        doc = self.doc
        title_field = doc.names.index("title") if "title" in doc.names else -1
        lead_sentences = self._lead_sentences
        counts: dict[str, int] = {}
        titled: set[str] = set()
        led: set[str] = set()
        paragraphs: dict[str, set[int]] = {}
        for m in self.mentions:
            code = m.code
            counts[code] = counts.get(code, 0) + 1
            if m.field == title_field:
                titled.add(code)
            else:
                paragraphs.setdefault(code, set()).add(m.paragraph)
            if m.sentence in lead_sentences:
                led.add(code)
        total = len(self.mentions)
        lines = max(doc.paragraphs - (title_field >= 0), 1)
        w_title, w_lead = weights["title"], weights["lead"]
        w_share, w_spread = weights["share"], weights["spread"]
        out = {}
        for code, count in counts.items():
            title, lead = code in titled, code in led
            share = count / total
            spread = len(paragraphs.get(code, ())) / lines
            score = (
                w_title * title
                + w_lead * lead
                + w_share * min(1.0, 2 * share)
                + w_spread * min(1.0, spread)
            )
            out[code] = Salience(code, round(score, 3), title, lead, share, spread)
        return out

    def relation(self, a: str, b: str, *, enough: float | None = None) -> Relation:
        """The sentences relating ``a`` and ``b`` (either order). With ``enough``, sentences
        are read strongest place first (title, lead, the rest) and reading stops once their
        weight reaches it: a rule whose score counts at most that much needs no more (the
        relation is then ``complete=False``)."""
        key = (a, b) if a <= b else (b, a)
        known = self._relations.get(key)
        if known is not None and (known.complete or (enough is not None and known.score >= enough)):
            return known
        places = self.places
        both = sorted(places.get(a, set()) & places.get(b, set()))
        if enough is not None:
            both.sort(key=self._place_rank)
        found: list[RelationSentence] = []
        total = 0.0
        complete = True
        for i, number in enumerate(both):
            sentence = self._sentence(number, *key)
            if sentence is None:
                continue
            found.append(sentence)
            total += sentence.weight
            if enough is not None and total >= enough and i < len(both) - 1:
                complete = False
                break
        found.sort(key=lambda s: -s.weight)
        score = round(sum(s.weight for s in found), 3)
        result = Relation(f"{key[0]}-{key[1]}", score, tuple(found), len(both), complete)
        self._relations[key] = result
        return result

    def _place_rank(self, sentence: int) -> int:
        """0 for a sentence of the title, 1 of the lead, 2 for the rest."""
        if sentence <= self._last_title_sentence:
            return 0
        return 1 if sentence in self._lead_sentences else 2

    @lazy
    def _last_title_sentence(self) -> int:
        doc = self.doc
        if not doc.names or doc.names[0] != "title":
            return -1
        return doc.sentence_of(doc.bases[0] + len(doc.texts[0]) - 1)

    @lazy
    def _by_sentence(self) -> dict[int, list[Mention]]:
        out: dict[int, list[Mention]] = {}
        for m in self.mentions:
            out.setdefault(m.sentence, []).append(m)
        return out

    @lazy
    def _cue_starts(self) -> list[int]:
        return [h[0] for h in self.cue_hits]

    def _cues_in(self, lo: int, hi: int) -> list[Hit]:
        starts = self._cue_starts
        return self.cue_hits[bisect.bisect_left(starts, lo) : bisect.bisect_left(starts, hi)]

    # The evidence in one sentence -------------------------------------------------------------

    def _sentence(self, number: int, a: str, b: str) -> RelationSentence | None:
        doc, model = self.doc, self.model
        lo, hi = doc.sentence_span(number)
        sentence = _Sentence(doc, self._by_sentence[number], self._cues_in(lo, hi), lo, hi)
        max_apart = int(model.relation["max_words_apart"])
        strongest = model.strongest
        best: tuple[float, str, tuple[tuple[int, int], ...]] | None = None
        mentions = sentence.mentions
        for i, first in enumerate(mentions):
            if first.code not in (a, b):
                continue
            other = b if first.code == a else a
            for second in mentions[i + 1 :]:
                if second.code != other or first.start == second.start:
                    continue
                if sentence.clause(first.start) != sentence.clause(second.start):
                    continue
                if sentence.word_of(second.start) - sentence.word_of(first.end) > max_apart:
                    break  # the next ones are further still
                found = self._evidence(sentence, first, second)
                if found is None:
                    continue
                kind, cues = found
                weight = model.relation[kind]
                if best is None or weight > best[0]:
                    best = (weight, kind, tuple((h[0], h[1]) for h in cues))
                    if weight >= strongest:
                        break
            if best is not None and best[0] >= strongest:
                break
        if best is None:
            return None
        weight, kind, why = best
        field_index = doc.field_of(lo)
        name = doc.names[field_index]
        if name == "title":
            weight *= model.relation["title_factor"]
        elif number in self._lead_sentences:
            weight *= model.relation["lead_factor"]
        base = doc.bases[field_index]
        return RelationSentence(
            name,
            lo - base,
            hi - base,
            doc.text[lo:hi],
            kind,
            tuple(dict.fromkeys(doc.text[start:end] for start, end in why)),
            round(weight, 3),
        )

    def _evidence(  # noqa: PLR0911 - one return per kind of evidence
        self, s: _Sentence, first: Mention, second: Mention
    ) -> tuple[str, tuple[Hit, ...]] | None:
        """The strongest kind of evidence relating two mentions of one clause (``first``
        before ``second``), with the cues that make it, or None."""
        if s.enumerated(first) or s.enumerated(second):
            return None  # "Egypt, Iran, Iraq, Turkey and Russia"; "Iraq $105m, Russia $95m ..."
        doc = self.doc
        w_first, w_second = s.word_of(first.start), s.word_of(second.end) - 1
        if not (self._party(s, first) and self._party(s, second)):
            # "the Sochi meeting", "talks in Moscow" between two others: a place, no party.
            return self._actor(s, first, second, w_first, w_second)
        if s.run(first) == s.run(second):
            # Side by side. "between Iraq and Russia", "بين بغداد وموسكو":
            before = s.cues_near("between", first.start, w_first - 2, w_first)
            if before:
                return "bilateral", before
            # "العلاقات العراقية الروسية", "Iraqi-Russian", "Russia-Iraq":
            gap = doc.text[first.end : second.start]
            if _ADJOINED.fullmatch(gap) and (
                first.sense == second.sense == "demonym" or "-" in gap
            ):
                return "bilateral", s.cues_near("bilateral", first.start, w_first - 3, w_second + 3)
            # "Iraq and Russia signed ...", but not "Iran's ties with Russia and Iraq", "the
            # Iranian envoys to Iraq and Russia": a third country before them is the actor.
            if s.third_country_before(first):
                return None
            # What they do together is the nearest verb or noun: "Iraq and Russia signed an
            # agreement", not "Russia and Iraq welcomed the agreement" (two reactions).
            nearest = s.nearest_cue(
                ("meeting", "dealing", "directed"), first.start, w_first, w_second, 6
            )
            if nearest is None or not nearest[2].cues & {"meeting", "dealing"}:
                return None
            kind = "meeting" if "meeting" in nearest[2].cues else "dealing"
            return kind, (nearest,)
        if s.others_between(first, second):
            return None  # what the sentence relates each of them to is the country between
        # "Russia's relations with Iraq", "علاقات روسيا مع العراق":
        if w_second - w_first <= 8:
            inside = s.cues_near("bilateral", first.start, w_first + 1, w_second - 1)
            if inside:
                return "bilateral", inside
        # One side's officials meeting, calling, dealing with the other's, or acting on them.
        for kind in ("meeting", "dealing", "directed"):
            near = s.cues_near(kind, first.start, w_first - 6, w_second + 6)
            if near:
                return kind, near
        return self._actor(s, first, second, w_first, w_second)

    def _actor(
        self, s: _Sentence, first: Mention, second: Mention, w_first: int, w_second: int
    ) -> tuple[str, tuple[Hit, ...]] | None:
        """An actor of one side in the other: "the Russian embassy in Baghdad", "Gazprom Neft
        ... deposits in Iraq", "في محافظة البصرة ... شركة لوك أويل الروسية"."""
        if w_second - w_first > self.model.relation["actor_max_words"]:
            return None
        for actor, place in ((first, second), (second, first)):
            if actor.sense == "city" or s.listed(place):
                continue
            if actor.sense in _ACTING_SENSES:
                acting: tuple[Hit, ...] = ((actor.start, actor.end, _NO_FORM),)
            else:
                w_actor = s.word_of(actor.start)
                acting = s.cues_near("actor", actor.start, w_actor - 4, w_actor + 4)
            if acting and self._placed_in(place):
                return "actor", acting
        return None

    def _party(self, s: _Sentence, m: Mention) -> bool:
        """Whether ``m`` can be a party to what the sentence tells: a city other than the
        capital is a place; a capital "in" which two others meet is the venue."""
        if m.sense == "city":
            return False
        if m.sense == "capital" and self._preceded_by(m, self.model.venues):
            return not s.third_country(m)
        return True

    def _placed_in(self, mention: Mention) -> bool:
        """Whether the text places something in the mentioned country: "in Baghdad", "to
        Moscow", "in the province of Basra", بالعراق، "في محافظة البصرة"."""
        if mention.sense != "demonym" and _proclitic(self.doc.text, mention) in _PLACE_PROCLITICS:
            return True  # written onto the name: بالعراق، لروسيا
        return self._preceded_by(mention, self.model.places, count=3)

    def _preceded_by(self, mention: Mention, words: frozenset[str], *, count: int = 1) -> bool:
        """Whether one of the ``count`` words before ``mention`` is one of ``words``."""
        before = self.doc.text[max(0, mention.start - 16 * count) : mention.start]
        return any(fold(w) in words for w in WORD.findall(before)[-count:])


_ADJOINED = re.compile(r"\s*(?:[-–—/]\s*)?")
"""Two names written straight one after the other, or joined by a hyphen."""
_ACTING_SENSES = ("company", "institution")
"""Mentions that are actors by themselves: a company, an institution of the state."""
_NO_FORM = Form.of(0, (), careful=False, exact=False)
"""The form of an actor that is a mention, not a cue, when it is given as a cue."""
_LIST_GAP_WORDS = 5


class _Sentence:
    """One sentence's mentions and cues, cut into clauses at contrast words (while, بينما)
    and semicolons, with its runs of names (side by side, joined by commas, "and", "or") and
    its enumerations (three countries or more, each a few words from the next with a comma or
    "and" between: "Iraq bought $105m, Russia $95m, India ...")."""

    def __init__(
        self, doc: Document, mentions: list[Mention], cues: list[Hit], lo: int, hi: int
    ) -> None:
        self.doc = doc
        self.mentions = mentions
        text = doc.text
        self.text, self.lo = text, lo
        cuts = [h[0] for h in cues if "contrast" in h[2].cues]
        if text.find(";", lo, hi) >= 0 or text.find("؛", lo, hi) >= 0:
            cuts += [m.start() for m in _SEMICOLON.finditer(text, lo, hi)]
        self.cuts = sorted(cuts)
        self.cues: dict[str, list[tuple[int, int, Hit]]] = {}
        """Cue kind -> (word, clause, hit) of each cue of that kind."""
        for h in cues:
            placed = (self.word_of(h[0]), self.clause(h[0]), h)
            for kind in h[2].cues:
                self.cues.setdefault(kind, []).append(placed)
        self._run: dict[int, int] = {}
        self._listed: dict[int, int] = {}
        run = listed = 0
        previous: Mention | None = None
        for m in mentions:
            if previous is not None and previous.start != m.start:
                gap = text[previous.end : m.start]
                if not _GLUE.fullmatch(gap):
                    run += 1
                    marked = _LIST_MARK.search(gap) or _conjoined(text, m)
                    if len(gap.split()) > _LIST_GAP_WORDS or not marked:
                        listed += 1
            self._run[m.start] = run
            self._listed[m.start] = listed
            previous = m
        self._listed_codes: dict[int, set[str]] = {}
        for m in mentions:
            self._listed_codes.setdefault(self._listed[m.start], set()).add(m.code)

    def clause(self, offset: int) -> int:
        return bisect.bisect_right(self.cuts, offset)

    def word_of(self, offset: int) -> int:
        """Number of the sentence's word at (or after) ``offset``: the spaces before it (a
        sentence holds no newline, and news text separates words by one space)."""
        return self.text.count(" ", self.lo, offset)

    def run(self, m: Mention) -> int:
        return self._run[m.start]

    def listed(self, m: Mention) -> bool:
        """Whether ``m`` is side by side with another country ("in Iraq and Syria")."""
        run = self._run[m.start]
        return any(self._run[o.start] == run and o.code != m.code for o in self.mentions)

    def enumerated(self, m: Mention) -> bool:
        """Whether ``m`` is one of an enumeration of three countries or more."""
        return len(self._listed_codes[self._listed[m.start]]) >= 3

    def others_between(self, first: Mention, second: Mention) -> bool:
        """Whether another country is named between the two, not in a list with either."""
        ends = {self._run[first.start], self._run[second.start]}
        return any(
            self._run[m.start] not in ends
            for m in self.mentions
            if first.start < m.start < second.start and m.code not in (first.code, second.code)
        )

    def third_country(self, m: Mention) -> bool:
        """Whether the sentence names a country other than ``m``'s and the pair's other."""
        return len({o.code for o in self.mentions}) > 2

    def third_country_before(self, m: Mention) -> bool:
        """Whether another country is named earlier in ``m``'s clause."""
        clause = self.clause(m.start)
        return any(
            o.start < m.start and self._run[o.start] != self._run[m.start]
            and self.clause(o.start) == clause
            for o in self.mentions
        )  # fmt: skip

    def nearest_cue(
        self, kinds: Sequence[str], at: int, w_from: int, w_to: int, slack: int
    ) -> Hit | None:
        """The cue of one of ``kinds`` in the clause of ``at`` nearest to words ``w_from`` to
        ``w_to``, at most ``slack`` words out."""
        clause = self.clause(at)
        best: tuple[int, int, Hit] | None = None
        for kind in kinds:
            for word, where, h in self.cues.get(kind, ()):
                if where != clause or not w_from - slack <= word <= w_to + slack:
                    continue
                distance = max(w_from - word, word - w_to, 0)
                if best is None or (distance, h[0]) < best[:2]:
                    best = (distance, h[0], h)
        return best[2] if best else None

    def cues_near(self, kind: str, at: int, w_from: int, w_to: int) -> tuple[Hit, ...]:
        """Cues of ``kind`` in the clause of offset ``at``, from word ``w_from`` to
        ``w_to``."""
        clause = self.clause(at)
        return tuple(
            h
            for word, where, h in self.cues.get(kind, ())
            if where == clause and w_from <= word <= w_to
        )


def _proclitic(text: str, m: Mention) -> str:
    """What is written onto the name before its term, folded: "وب" in وبالعراق (the article
    ال, which the term may hold, is the term's)."""
    surface = fold(text[m.start : m.end])
    at = surface.find(m.base) if m.base else -1
    return surface[:at] if at > 0 else ""


def _conjoined(text: str, m: Mention) -> bool:
    """Whether the Arabic "and" (و) is written onto the name: وروسيا."""
    return _proclitic(text, m).startswith("و")


_SEMICOLON = re.compile("[;؛]")
_LIST_MARK = re.compile(r"[,،;؛]|\b(?:and|or)\b|(?:^|\s)(?:و|أو|او)(?:\s|$)")
"""What separates the items of a list: a comma, "and", "or"."""
