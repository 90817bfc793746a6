"""The engine's native core, when it is built: one call per article normalises, scans,
aggregates and decides the rules in Rust, as :meth:`processors.classify.Engine.classify`
otherwise does in Python.

The core (``processors/native``: the aho-corasick crate and pyo3) is an optional extension,
``newsradar-native``; ``scripts/bootstrap.sh`` builds it where ``cargo`` is installed. Without
it, or with ``NEWSRADAR_ENGINE=python``, the engine runs the Python steps, with the same output
(``tests/unit/processors/test_core.py`` holds the two to it). The core reads the one-byte
alphabet only, so a vocabulary with letters outside Windows-1256 runs in Python, as does an
article whose text has a character outside it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Protocol

from processors.match import Matcher
from processors.normalize import byte_alphabet, scan_bytes
from processors.rules import Proximity, Rule

KINDS = {"country": 0, "topic": 1, "bloc": 2, "keyword": 3}

Found = tuple[
    tuple[str, ...],  # countries, in order
    tuple[str, ...],  # blocs, in order
    tuple[str, ...],  # topics, in order
    tuple[str, ...],  # pairs "AA-BB", in order
    dict[str, int],  # pair -> co-occurrences, most first
    dict[str, int],  # mentions per country
    list[tuple[int, float]],  # (rule index, score) of each rule that fires
]


class Core(Protocol):
    def analyse(self, fields: Sequence[str], separator: str, language: str) -> Found | None:
        """The article's fields, the non-empty ones read as joined by ``separator`` with a
        newline first and last, and its language; None when a character is outside
        Windows-1256 or cannot be folded here."""

    def scan(self, text: bytes) -> list[tuple[int, int]]:
        """The bare scan of normalised one-byte text: (trailing-space offset, pattern)."""


def wanted() -> bool:
    """Whether the native core is to be used (``NEWSRADAR_ENGINE=python`` turns it off)."""
    return os.environ.get("NEWSRADAR_ENGINE", "").strip().lower() != "python"


def available() -> bool:
    try:
        import newsradar_native  # noqa: F401
    except ImportError:
        return False
    return True


def build(matcher: Matcher, rules: Sequence[Rule], pair_proximity: Proximity) -> Core | None:
    """A core over ``matcher``'s vocabulary deciding ``rules`` (pairs within
    ``pair_proximity``), or None when it is not installed or the matcher scans Unicode (a term
    has a letter outside the one-byte alphabet)."""
    if not matcher.one_byte:
        return None
    try:
        from newsradar_native import Core as NativeCore
    except ImportError:
        return None
    patterns: list[bytes] = []
    careful: list[bool] = []
    pattern_meanings: list[list[int]] = []
    meanings: list[tuple[int, str, str, bytes | None]] = []
    for key, form in matcher.entries():
        patterns.append(key.encode("latin-1"))
        careful.append(form.careful)
        ids = []
        for m in form.meanings:
            kind = KINDS.get(m.kind)
            if kind is None:
                continue
            # A case-exact term as the core compares it with the article's bytes (empty, which
            # never matches, with a character no text the core reads has).
            exact = (scan_bytes(m.term.text) or b"") if m.term.case_exact else None
            ids.append(len(meanings))
            meanings.append((kind, m.what, m.term.text, exact))
        pattern_meanings.append(ids)
    decisions = [rule.decision for rule in rules]  # the conditions as the Python steps read them
    core: Core = NativeCore(
        patterns, careful, pattern_meanings, meanings, byte_alphabet(), decisions, pair_proximity
    )
    return core
