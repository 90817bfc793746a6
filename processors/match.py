"""Find every term in a text at once: a multi-pattern automaton over word-bounded forms.

All surface forms of all terms go into one Aho-Corasick automaton (pyahocorasick). The text is
normalised (:mod:`processors.normalize`) and then every character that is not a letter or digit
becomes a space, one for one, so offsets do not move. Each form is stored padded with a space
on both sides, so a form can only match a whole word sequence: a name inside another word never
matches, and no match needs a boundary check in Python. Of overlapping matches the leftmost
longest wins, so "Papua New Guinea" beats "Guinea" and روسيا البيضاء beats روسيا.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import ahocorasick

from processors.normalize import Normalized, normalize
from processors.terms import Morphology, Term


@lru_cache(maxsize=1)
def _boundary_table() -> list[str]:
    return [chr(c) if chr(c).isalnum() else " " for c in range(0x10000)]


def word_text(normalized: str) -> str:
    """``normalized`` with every non-alphanumeric character replaced by a space (same length)."""
    return normalized.translate(_boundary_table())


@dataclass(frozen=True, slots=True)
class Hit:
    """A match: normalised ``[start, end)``, original ``[orig_start, orig_end)``, and terms."""

    start: int
    end: int
    orig_start: int
    orig_end: int
    terms: tuple[Term, ...]


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
            self._automaton.add_word(key, (len(key), tuple(bucket)))
        self._automaton.make_automaton()
        self.form_count = len(forms)

    def scan(self, words: str) -> list[tuple[int, int, tuple[Term, ...]]]:
        """Raw matches in word text: normalised ``(start, end, terms)``, overlapping."""
        return [
            (end - length + 1, end - 1, terms)
            for end, (length, terms) in self._automaton.iter(f" {words} ")
        ]

    def find(self, text: str | Normalized) -> list[Hit]:
        """Leftmost-longest, non-overlapping matches in ``text``, mapped back to the original."""
        norm = text if isinstance(text, Normalized) else normalize(text)
        raw = self.scan(word_text(norm.text))
        if not raw:
            return []
        raw.sort(key=lambda m: (m[0], m[0] - m[1]))
        hits: list[Hit] = []
        last_end = -1
        for start, end, terms in raw:
            if start < last_end:
                continue
            o_start, o_end = norm.span_to_original(start, end)
            kept = tuple(t for t in terms if not t.case_exact or _exact(t, norm.original, o_start))
            if not kept:
                continue
            hits.append(Hit(start, end, o_start, o_end, kept))
            last_end = end
        return hits


def _exact(term: Term, original: str, start: int) -> bool:
    """Case-exact terms (``US``, ``Turkey``) match only as written, whatever suffix follows."""
    return original.startswith(term.text, start)
