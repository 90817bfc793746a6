"""The engine's native core, when it is built: one call per article normalises and scans it
and returns its hits, as :meth:`processors.match.Matcher.hits` otherwise does in Python. The core
only reads and scans; every decision is the engine's, in Python.

The core (``processors/native``: the aho-corasick crate and pyo3) is an optional extension,
``newsradar-native``; ``scripts/bootstrap.sh`` builds it where ``cargo`` is installed. Without
it, or with ``NEWSRADAR_ENGINE=python``, the engine scans in Python, with the same hits
(``tests/unit/processors/test_core.py`` holds the two to it). The core reads the one-byte
alphabet only, so a vocabulary with letters outside Windows-1256 is scanned in Python, as is an
article whose text has a character outside it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Protocol

from processors.match import Form, Hit, Matcher, PlacedHit
from processors.normalize import byte_alphabet, scan_bytes

NativeHits = tuple[
    list[Hit], list[tuple[int, list[int]]], list[int], list[tuple[int, int, int, int]]
]


class Native(Protocol):
    def hits(self, fields: Sequence[str], separator: str) -> NativeHits | None:
        """The article's fields, the non-empty ones read as joined by ``separator`` with a
        newline first and last -> its hits (original ``[start, end)`` and the pattern's form);
        for each hit whose case removed some of its form's meanings, its index and the
        positions of the meanings left; its sentence ends; and for each hit of a form that may
        name a country, its index, field, sentence and paragraph. None when a character is
        outside Windows-1256 or cannot be folded here."""

    def scan(self, text: bytes) -> list[tuple[int, int]]:
        """The bare scan of normalised one-byte text: (trailing-space offset, pattern)."""


class Core:
    """The native core over a matcher's vocabulary, answering in the matcher's forms."""

    def __init__(self, native: Native) -> None:
        self.native = native

    def hits(
        self, fields: Sequence[str], separator: str
    ) -> tuple[list[Hit], list[int], list[PlacedHit]] | None:
        """The article's hits, as :meth:`~processors.match.Matcher.hits` gives them, its
        sentence ends and its placed named hits, as :class:`~processors.document.Document`
        has them; or None."""
        found = self.native.hits(fields, separator)
        if found is None:
            return None
        hits, filtered, ends, placed = found
        for i, kept in filtered:  # rare: a name that matches only as written ("US", "us")
            start, end, form = hits[i]
            meanings = tuple(form.meanings[j] for j in kept)
            hits[i] = (start, end, Form.of(form.length, meanings, form.careful, exact=False))
        named = [(*hits[i], field, sentence, paragraph) for i, field, sentence, paragraph in placed]
        return hits, ends, named

    def scan(self, text: bytes) -> list[tuple[int, int]]:
        return self.native.scan(text)


def wanted() -> bool:
    """Whether the native core is to be used (``NEWSRADAR_ENGINE=python`` turns it off)."""
    return os.environ.get("NEWSRADAR_ENGINE", "").strip().lower() != "python"


def available() -> bool:
    try:
        import newsradar_native  # noqa: F401
    except ImportError:
        return False
    return True


def build(matcher: Matcher) -> Core | None:
    """A core over ``matcher``'s vocabulary, or None when it is not installed or the matcher
    scans Unicode (a term has a letter outside the one-byte alphabet)."""
    if not matcher.one_byte:
        return None
    try:
        from newsradar_native import Core as NativeCore
    except ImportError:
        return None
    patterns: list[bytes] = []
    careful: list[bool] = []
    exact: list[list[bytes | None]] = []
    forms: list[Form] = []
    for key, form in matcher.entries():
        patterns.append(key.encode("latin-1"))
        careful.append(form.careful)
        # A case-exact meaning as the core compares it with the article's bytes (empty, which
        # never matches, with a character no text the core reads has).
        exact.append(
            [(scan_bytes(m.term.text) or b"") if m.term.case_exact else None for m in form.meanings]
        )
        forms.append(form)
    named = [form.named for form in forms]
    native: Native = NativeCore(patterns, forms, named, careful, exact, byte_alphabet())
    return Core(native)
