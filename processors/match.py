"""Find every term in a text at once: a multi-pattern automaton over word-bounded forms.

All surface forms of all terms go into one Aho-Corasick automaton (pyahocorasick). The text is
normalised with every character that is not a letter or digit turned into a space, one for one
(:func:`processors.normalize.normalize` with ``words=True``, a single pass), so offsets do not
move. Each form is stored padded with a space on both sides, so a form can only match a whole
word sequence: a name inside another word never matches, and no match needs a boundary check
in Python. Of overlapping matches the leftmost longest wins, so "Papua New Guinea" beats
"Guinea" and روسيا البيضاء beats روسيا.

Everything a form stands for (countries, topics, blocs, rule keywords) is worked out once, at
build time, into its :class:`Form`, so the engine's work per match is a set lookup. Overlaps
are possible only between forms that contain, or run into, one another, and they change the
outcome only when the two mean different things: such forms are marked ``careful``, forms that
match only as written (``case_exact``) ``exact``, and only a text where one of them occurs pays
for resolving overlaps or checking case (:meth:`Matcher.resolve`, :meth:`Matcher.check_case`).
The text is scanned in a one-byte alphabet (:func:`processors.normalize.scan_text`) unless a
term has a letter outside it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import ahocorasick

from processors.errors import DataFileError
from processors.normalize import (
    FIELD_SEPARATOR,
    Normalized,
    fold,
    normalize,
    scan_key,
    scan_text,
)
from processors.terms import Morphology, Term


def word_text(text: str) -> str:
    """``text`` normalised for matching, without the offset map (the matcher's keys when it
    scans Unicode word text)."""
    return normalize(text, words=True).text


@dataclass(frozen=True, slots=True)
class Meaning:
    """What a matched form stands for, split once at build time: ``country``/``IQ``."""

    kind: str
    what: str
    term: Term


@dataclass(frozen=True, slots=True, eq=False)
class Form:
    """One surface form in the automaton (padded: ``" al iraq "``) and what it stands for.

    Compared and hashed by identity: the engine collects the distinct forms of a text in a set.
    """

    length: int
    """Length of the padded key; a raw hit ending at ``end`` starts at ``end - length + 2``."""
    meanings: tuple[Meaning, ...]
    countries: frozenset[str]
    topics: frozenset[str]
    blocs: frozenset[str]
    keywords: tuple[tuple[str, str], ...]
    """``("RULE:GROUP", keyword text)`` for every rule keyword the form is."""
    careful: bool
    """May overlap another form that means something else: see :meth:`Matcher.resolve`.
    (A form holding another of the same meaning, " iraq s " and " iraq ", is not careful: both
    hits say the same, and the engine counts them as one mention.)"""
    exact: bool
    """Some meaning matches only as written (``case_exact``): see :meth:`Matcher.resolve`."""
    aliases: tuple[tuple[str, str], ...] = ()
    """``(country, person)`` for every person's short name the form is: it stands for the
    country only once the article has named the person in full."""
    persons: frozenset[str] = frozenset()
    """The people whose full name the form is."""
    cues: frozenset[str] = frozenset()
    """Relevance cues (``between``, ``meeting`` ...: processors/data/relevance.yaml)."""
    contexts: frozenset[str] = frozenset()
    """Contexts the form signals (``sports`` ...)."""
    sense: str = ""
    """How the form names its country (``name``, ``demonym``, ``leader`` ...)."""
    base: str = ""
    """The country term the form inflects, folded (``العراق`` for ``بالعراق``)."""
    named: bool = False
    """Whether the form may name a country (a country's name, or a person's short name)."""
    aggregated: bool = False
    """Whether the form adds to what an article is about as a whole (topics, blocs, rule
    keywords, contexts)."""

    @classmethod
    def of(cls, length: int, meanings: tuple[Meaning, ...], careful: bool, exact: bool) -> Form:
        def what(kind: str) -> frozenset[str]:
            return _shared(m.what for m in meanings if m.kind == kind)

        keywords = tuple((m.what, m.term.text) for m in meanings if m.kind == "keyword")
        aliases = tuple(
            (code, person)
            for m in meanings
            if m.kind == "alias"
            for code, _, person in [m.what.partition(":")]
        )
        countries = what("country")
        cues = what("cue")
        topics = what("topic")
        contexts = what("context")
        blocs = what("bloc")
        country = next((m.term for m in meanings if m.kind in ("country", "alias")), None)
        return cls(
            length,
            meanings,
            countries,
            topics,
            blocs,
            keywords,
            careful,
            exact,
            aliases,
            _shared(m.term.person for m in meanings if m.kind == "country" and m.term.person),
            cues,
            contexts,
            country.sense if country else "",
            fold(country.text) if country else "",
            bool(countries or aliases),
            bool(topics or keywords or contexts or blocs),
        )


_SETS: dict[frozenset[str], frozenset[str]] = {}


def _shared(items: Iterable[str]) -> frozenset[str]:
    """``frozenset(items)``, one object for equal sets: tens of thousands of forms each hold
    half a dozen sets, nearly all empty or one country (a third of the engine's memory)."""
    found = frozenset(items)
    return _SETS.setdefault(found, found)


RawHit = tuple[int, Form]
"""What the automaton reports: index of the form's trailing space in the word text, and form."""


Hit = tuple[int, int, Form]
"""A term found in a text: original ``[start, end)`` and what it stands for. A plain tuple
(the engine makes dozens per article, and the native core makes them in Rust)."""
PlacedHit = tuple[int, int, Form, int, int, int]
"""A hit with the field, sentence and paragraph it is in (numbered across the article)."""


class Matcher:
    """Scans text for a fixed vocabulary; build once, share across threads and events."""

    def __init__(self, terms: Iterable[Term], morphology: Morphology) -> None:
        surface = [(term, form) for term in terms for form in morphology.surface_forms(term)]
        # Scan in the one-byte alphabet (fast) unless a term has a letter it lacks.
        coded = [scan_key(form) for _, form in surface]
        self.one_byte = None not in coded
        keys = coded if self.one_byte else [word_text(form).strip(" ") for _, form in surface]
        forms: dict[str, list[Term]] = {}
        for (term, _), key in zip(surface, keys, strict=True):
            if key and FIELD_SEPARATOR in key:
                raise DataFileError(
                    f"term {term.text!r} ({term.denotes}) holds the control character U+001F; "
                    "remove it from the data file"
                )
            if key:
                bucket = forms.setdefault(f" {key} ", [])
                # One entry per meaning: two terms of one country sharing a form (a
                # name and an inflected demonym) would otherwise report it twice.
                same = next((t for t in bucket if t.denotes == term.denotes), None)
                if same is None:
                    bucket.append(term)
                elif same.case_exact and not term.case_exact:
                    bucket[bucket.index(same)] = term
        overlapping = _overlapping(forms)
        self._forms: dict[str, Form] = {}
        careful: set[Form] = set()
        exact: set[Form] = set()
        for key, bucket in forms.items():
            meanings = tuple(Meaning(*_split(t.denotes), t) for t in bucket)
            case_exact = any(t.case_exact for t in bucket)
            form = Form.of(len(key), meanings, key in overlapping, case_exact)
            self._forms[key] = form
            if form.careful:
                careful.add(form)
            elif form.exact:
                exact.add(form)
        self._automaton: ahocorasick.Automaton | None = None
        # As sets, so that "does this text hold one?" is one C-level set operation.
        self.careful_forms = frozenset(careful)
        self.exact_forms = frozenset(exact)
        self.form_count = len(forms)

    def entries(self) -> list[tuple[str, Form]]:
        """Every padded key (in the scan alphabet) with its form."""
        return list(self._forms.items())

    @property
    def automaton(self) -> ahocorasick.Automaton:
        """The automaton of every key, built on first use: with the native core, only an
        article outside Windows-1256 needs it (it holds its own copy of every key)."""
        if self._automaton is None:
            automaton = ahocorasick.Automaton()
            for key, form in self._forms.items():
                automaton.add_word(key, form)
            automaton.make_automaton()
            self._automaton = automaton
        return self._automaton

    def prepare(self, text: str) -> Normalized:
        """``text`` as :meth:`scan` reads it: word text, in the matcher's alphabet."""
        return scan_text(text) if self.one_byte else normalize(text, words=True)

    def scan(self, words: str) -> list[RawHit]:
        """Raw, possibly overlapping hits in word text padded with a space at both ends."""
        return list(self.automaton.iter(words))

    def resolve(self, raw: list[RawHit], norm: Normalized) -> list[RawHit]:
        """Leftmost-longest, non-overlapping hits, keeping only the meanings that match as
        written (``case_exact`` terms are checked against the original text)."""
        if len(raw) > 1:
            raw = sorted(raw, key=lambda h: (h[0] - h[1].length, -h[1].length))
        kept: list[RawHit] = []
        last_end = -1
        for end, form in raw:
            start = end - form.length + 1  # the leading space
            if start < last_end:
                continue
            meanings = [
                m
                for m in form.meanings
                if not m.term.case_exact
                or norm.original.startswith(m.term.text, norm.to_original(start + 1))
            ]
            if not meanings:
                continue
            if len(meanings) < len(form.meanings):
                form_ = Form.of(form.length, tuple(meanings), form.careful, exact=False)
                kept.append((end, form_))
            else:
                kept.append((end, form))
            last_end = end
        return kept

    def check_case(self, raw: list[RawHit], norm: Normalized) -> list[RawHit]:
        """``raw`` without the meanings that match only as written and are not written so
        (for texts where no careful form occurs: nothing to resolve but case)."""
        if not any(form.exact for _, form in raw):
            return raw
        kept: list[RawHit] = []
        for end, form in raw:
            if form.exact:
                kept.extend(self.resolve([(end, form)], norm))
            else:
                kept.append((end, form))
        return kept

    def hits(self, text: str) -> list[Hit]:
        """The hits of ``text`` (which must start and end with a space or newline): overlaps
        resolved where a careful form occurs, case checked, in original offsets, ordered by
        start, the longest first."""
        norm = self.prepare(text)
        raw = self.scan(norm.text)
        forms = {form for _, form in raw}
        if not forms.isdisjoint(self.careful_forms):
            raw = self.resolve(raw, norm)
        elif not forms.isdisjoint(self.exact_forms):
            raw = self.check_case(raw, norm)
        span = norm.span_to_original
        out = [(*span(end - form.length + 2, end), form) for end, form in raw]
        out.sort(key=_by_start_longest_first)
        return out

    def find(self, text: str) -> list[Hit]:
        """Leftmost-longest, non-overlapping matches in ``text``."""
        padded = f" {text} "
        norm = self.prepare(padded)
        hits = []
        for end, form in self.resolve(self.scan(norm.text), norm):
            start, stop = norm.span_to_original(end - form.length + 2, end)
            hits.append((start - 1, stop - 1, form))
        return hits


def _by_start_longest_first(hit: Hit) -> tuple[int, int]:
    return hit[0], -hit[1]


def leftmost_longest(hits: list[Hit]) -> list[Hit]:
    """``hits`` (ordered by start, the longest first) without those overlapping an earlier
    kept one: what :meth:`Matcher.find` reports."""
    kept: list[Hit] = []
    last_end = -1
    for hit in hits:
        if hit[0] >= last_end:
            kept.append(hit)
            last_end = hit[1]
    return kept


__all__ = ["Form", "Hit", "Matcher", "Meaning", "RawHit", "fold", "word_text"]


def _split(denotes: str) -> tuple[str, str]:
    kind, _, what = denotes.partition(":")
    return kind, what


def _overlapping(forms: dict[str, list[Term]]) -> set[str]:
    """Padded keys whose overlaps need resolving: keys containing another key that means
    something else (" papua new guinea " holds " guinea "), and keys whose first words end
    another key and that mean something else (" york city " after " new york ")."""

    def meanings(key: str) -> set[tuple[str, str]]:
        # A keyword counts by its text, so "oil" inside "oil exports" says something else.
        return {(t.denotes, t.text if t.denotes.startswith("keyword:") else "") for t in forms[key]}

    keys = set(forms)
    starting: dict[str, set[str]] = {}  # first words of multi-word keys -> those keys
    for key in keys:
        words = key[1:-1].split(" ")
        for n in range(1, len(words)):
            starting.setdefault(" " + " ".join(words[:n]) + " ", set()).add(key)
    out = set()
    for key in keys:
        words = key[1:-1].split(" ")
        for i in range(len(words)):
            for j in range(i + 1, len(words) + 1):
                if (i, j) == (0, len(words)):
                    continue
                part = " " + " ".join(words[i:j]) + " "
                if part in keys and not meanings(part) <= meanings(key):
                    out.add(key)
                if j == len(words) and i > 0 and part in starting:
                    # The key running on loses to this one, which matters if it means
                    # something else; mark it, as both must occur for the overlap to matter.
                    out |= {k for k in starting[part] if not meanings(k) <= meanings(key)}
    return out
