"""Find every term in a text at once: a multi-pattern automaton over word-bounded forms.

All surface forms of all terms go into one Aho-Corasick automaton (pyahocorasick). The text is
normalised with every character that is not a letter or digit turned into a space, one for one
(:func:`processors.normalize.normalize` with ``words=True``, a single ``str.translate``), so
offsets do not move. Each form is stored padded with a space on both sides, so a form can only
match a whole word sequence: a name inside another word never matches, and no match needs a
boundary check in Python. Of overlapping matches the leftmost longest wins, so "Papua New
Guinea" beats "Guinea" and روسيا البيضاء beats روسيا.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import ahocorasick

from processors.normalize import Normalized, fold, normalize
from processors.terms import Morphology, Term


def word_text(text: str) -> str:
    """``text`` normalised for matching, without the offset map (for terms and benchmarks)."""
    return normalize(text, words=True).text


@dataclass(frozen=True, slots=True)
class Meaning:
    """What a matched form stands for, split once at build time: ``country``/``IQ``."""

    kind: str
    what: str
    term: Term


@dataclass(frozen=True, slots=True)
class Hit:
    """A match: normalised ``[start, end)``, original ``[orig_start, orig_end)``, meanings."""

    start: int
    end: int
    orig_start: int
    orig_end: int
    meanings: tuple[Meaning, ...]

    @property
    def terms(self) -> tuple[Term, ...]:
        return tuple(m.term for m in self.meanings)


class Matcher:
    """Scans text for a fixed vocabulary; build once, share across threads and events."""

    def __init__(self, terms: Iterable[Term], morphology: Morphology) -> None:
        forms: dict[str, list[Term]] = {}
        for term in terms:
            for form, _ in morphology.surface_forms(term):
                key = word_text(form).strip()
                if key:
                    bucket = forms.setdefault(f" {key} ", [])
                    # One entry per meaning: two terms of one country sharing a form (a
                    # name and an inflected demonym) would otherwise report it twice.
                    same = next((t for t in bucket if t.denotes == term.denotes), None)
                    if same is None:
                        bucket.append(term)
                    elif same.case_exact and not term.case_exact:
                        bucket[bucket.index(same)] = term
        self._automaton = ahocorasick.Automaton()
        for key, bucket in forms.items():
            meanings = tuple(Meaning(*_split(t.denotes), t) for t in bucket)
            exact = any(t.case_exact for t in bucket)
            self._automaton.add_word(key, (len(key), meanings, exact))
        self._automaton.make_automaton()
        self.form_count = len(forms)

    def scan(self, words: str) -> list[tuple[int, int, tuple[Meaning, ...], bool]]:
        """Raw matches in word text: ``(start, end, meanings, has_case_exact)``, overlapping."""
        return [
            (end - length + 1, end - 1, meanings, exact)
            for end, (length, meanings, exact) in self._automaton.iter(f" {words} ")
        ]

    def find(self, text: str | Normalized) -> list[Hit]:
        """Leftmost-longest, non-overlapping matches, mapped back to the original text.

        ``text`` is raw text, or the result of ``normalize(raw, words=True)``.
        """
        norm = text if isinstance(text, Normalized) else normalize(text, words=True)
        raw = self.scan(norm.text)
        if not raw:
            return []
        if len(raw) > 1:
            raw.sort(key=lambda m: (m[0], m[0] - m[1]))
        hits: list[Hit] = []
        last_end = -1
        span = norm.span_to_original
        for start, end, meanings, exact in raw:
            if start < last_end:
                continue
            o_start, o_end = span(start, end)
            kept = meanings
            if exact:
                kept = tuple(
                    m
                    for m in meanings
                    if not m.term.case_exact or norm.original.startswith(m.term.text, o_start)
                )
                if not kept:
                    continue
            hits.append(Hit(start, end, o_start, o_end, kept))
            last_end = end
        return hits


__all__ = ["Hit", "Matcher", "Meaning", "fold", "word_text"]


def _split(denotes: str) -> tuple[str, str]:
    kind, _, what = denotes.partition(":")
    return kind, what
