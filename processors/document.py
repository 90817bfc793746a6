"""An article as the engine reads it: its fields joined into one text, the hits of the scan in
that text, and its structure (fields, paragraphs, sentences, words, and the lines that are not the
article's own words), each worked out on first use.

The fields are joined with a newline first and last and ``"\\n\\x1f\\n"`` between them: the
newlines are sentence and paragraph ends, and the unit separator between them
(:data:`~processors.normalize.FIELD_SEPARATOR`) is a word no term holds, so no multi-word term
matches across two fields. Every offset here is an offset in that joined text.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from typing import Literal

from processors.lazy import lazy
from processors.match import Hit, PlacedHit
from processors.normalize import FIELD_SEPARATOR, SENTENCE_CLOSERS, SENTENCE_MARKS

FieldName = Literal["title", "summary", "content"]
FIELDS: tuple[FieldName, ...] = ("title", "summary", "content")
BETWEEN_FIELDS = f"\n{FIELD_SEPARATOR}\n"
_SENTENCE_END = re.compile(
    f"\\n|[{re.escape(SENTENCE_MARKS)}][{re.escape(SENTENCE_CLOSERS)}]*(?=\\s|\\Z)"
)
"""A newline, or . ! ? ؟ ؛ … (and the quotes or brackets closing on it) before whitespace or the
end of the text."""
WORD = re.compile(r"[\w\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]+")
"""A word: letters and digits, with the Arabic marks and tatweel written on them."""


def joined(texts: Sequence[str]) -> str:
    """Non-empty field texts as the engine joins them for its one scan."""
    return "\n" + BETWEEN_FIELDS.join(texts) + "\n"


class Document:
    """One article's text and hits. Hits come ordered by start, the longest first."""

    __slots__ = ("__dict__", "bases", "hits", "names", "text", "texts")

    def __init__(
        self,
        names: list[FieldName],
        texts: list[str],
        text: str,
        hits: list[Hit],
        *,
        sentence_ends: list[int] | None = None,
        named: list[PlacedHit] | None = None,
    ) -> None:
        """``sentence_ends`` and ``named``: as :attr:`sentence_ends` and :attr:`named` have
        them, when the scan found them (the native core does)."""
        self.names = names
        self.texts = texts
        self.text = text
        self.hits = hits
        self.bases = _bases(texts)  # where each field starts in ``text``
        if sentence_ends is not None:
            self.__dict__["sentence_ends"] = sentence_ends
        if named is not None:
            self.__dict__["named"] = named

    @lazy
    def named(self) -> list[PlacedHit]:
        """The hits whose form may name a country, each with its field, sentence and
        paragraph."""
        bases, ends, lines = self.bases, self.sentence_ends, self.line_ends
        after, before = bisect.bisect_right, bisect.bisect_left
        return [
            (start, end, form, after(bases, start) - 1, after(ends, start), before(lines, start))
            for start, end, form in self.hits
            if form.named
        ]

    def field_of(self, offset: int) -> int:
        """Index of the field holding ``offset``."""
        return bisect.bisect_right(self.bases, offset) - 1

    @lazy
    def sentence_ends(self) -> list[int]:
        """Offsets just past each sentence end (:data:`_SENTENCE_END`); sentences are numbered
        across the article and none spans two fields."""
        return [m.end() for m in _SENTENCE_END.finditer(self.text)]

    def sentence_of(self, offset: int) -> int:
        return bisect.bisect_right(self.sentence_ends, offset)

    def sentence_span(self, sentence: int) -> tuple[int, int]:
        """``[start, end)`` of sentence number ``sentence``, without surrounding whitespace."""
        ends = self.sentence_ends
        start = ends[sentence - 1] if sentence > 0 else 0
        end = ends[sentence] if sentence < len(ends) else len(self.text)
        span = self.text[start:end]
        kept = span.lstrip()
        start += len(span) - len(kept)
        return start, start + len(kept.rstrip())

    @lazy
    def line_ends(self) -> list[int]:
        """Offsets of every newline: paragraphs are the lines between them."""
        text, out = self.text, []
        at = text.find("\n")
        while at >= 0:
            out.append(at)
            at = text.find("\n", at + 1)
        return out

    @lazy
    def paragraphs(self) -> int:
        """How many lines of the article hold text (the field separators hold none)."""
        return sum(1 for line in self.text.split("\n") if line.strip(f" \t{FIELD_SEPARATOR}"))

    @lazy
    def word_starts(self) -> list[int]:
        return [m.start() for m in WORD.finditer(self.text)]

    def word_of(self, offset: int) -> int:
        """Number of the word at (or after) ``offset``, counted across the article."""
        return bisect.bisect_left(self.word_starts, offset)


def _bases(texts: list[str]) -> list[int]:
    """Where each field starts in :func:`joined` text."""
    bases = []
    pos = 1
    for value in texts:
        bases.append(pos)
        pos += len(value) + len(BETWEEN_FIELDS)
    return bases
