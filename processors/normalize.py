"""Text normalisation for matching, with a map back to the original text.

What it folds (the same function is applied to gazetteer terms and to article text):

- Unicode compatibility forms (NFKC: presentation forms, ligatures, full-width letters);
- diacritics: Arabic harakat, shadda, sukun, superscript alef, Quranic marks; Latin accents;
- tatweel (ـ), zero-width and bidi control characters: removed;
- Arabic letter variants: أ إ آ ٱ -> ا, ى -> ي, ة -> ه, ؤ -> و, ئ -> ي, and the Persian/Urdu
  letters used on Arabic-script sites: ی ې -> ي, ک گ -> ك, ۀ ە ہ -> ه;
- Latin case (casefold), typographic apostrophes -> ', dashes -> -;
- optionally (``words=True``, for matching) every other non-alphanumeric character -> space.

The work is one ``str.translate`` over a table built once (about 0.3 s, at first use), so it
runs at C speed. The offset map is computed only for the characters whose replacement is not
exactly one character, and :meth:`Normalized.to_original` answers by binary search.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

_REMOVE = (
    "\u0640"  # tatweel
    "\u200b\u200c\u200d\u200e\u200f\u2060\ufeff\u061c\u00ad"  # zero-width, soft hyphen, ALM
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"  # bidi embeddings and isolates
)
_LETTER_FOLDS = {
    "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ٲ": "ا", "ٳ": "ا",
    "ى": "ي", "ی": "ي", "ې": "ي", "ے": "ي", "ئ": "ي",
    "ة": "ه", "ۀ": "ه", "ە": "ه", "ہ": "ه", "ۃ": "ه",
    "ؤ": "و",
    "ک": "ك", "ڪ": "ك", "گ": "ك",
    "\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u2032": "'",
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
}  # fmt: skip


def _fold_char(ch: str) -> str:
    if ch in _REMOVE:
        return ""
    if ch in _LETTER_FOLDS:
        return _LETTER_FOLDS[ch]
    out = []
    for part in unicodedata.normalize("NFKD", ch):
        if unicodedata.category(part) == "Mn":  # combining marks: harakat, accents
            continue
        out.append(_LETTER_FOLDS.get(part, part))
    folded = unicodedata.normalize("NFC", "".join(out)).casefold()
    # Folding may expose letters that fold again (NFKD of a presentation form -> أ -> ا).
    return "".join(_LETTER_FOLDS.get(c, c) for c in folded if c not in _REMOVE)


@lru_cache(maxsize=1)
def _table() -> dict[int, str]:
    """Every BMP character whose normal form differs from itself."""
    table: dict[int, str] = {}
    for code in range(0x10000):
        if 0xD800 <= code <= 0xDFFF:
            continue
        ch = chr(code)
        folded = _fold_char(ch)
        if folded != ch:
            table[code] = folded
    return table


@lru_cache(maxsize=1)
def _translate_table() -> list[str | None]:
    """The table as a list indexed by code point: ``str.translate`` looks a list up about three
    times faster than a dict. Code points past the BMP raise IndexError, which translate reads
    as "unchanged"."""
    table: list[str | None] = [
        chr(c) if not 0xD800 <= c <= 0xDFFF else None for c in range(0x10000)
    ]
    for code, replacement in _table().items():
        table[code] = replacement or None
    return table


@lru_cache(maxsize=1)
def _word_translate_table() -> list[str | None]:
    """Normalisation and word boundaries in one table: every character that is not a letter or
    digit after folding becomes a space. Replacement lengths are those of the plain table, so
    the offset map is the same."""
    table = list(_translate_table())
    for code, replacement in enumerate(table):
        if replacement:
            table[code] = "".join(c if c.isalnum() else " " for c in replacement)
    return table


@lru_cache(maxsize=1)
def _irregular() -> re.Pattern[str]:
    """Characters whose replacement is not exactly one character (removed or expanded)."""
    chars = [chr(c) for c, rep in _table().items() if len(rep) != 1]
    return re.compile("[" + "".join(re.escape(c) for c in chars) + "]")


@dataclass(frozen=True, slots=True)
class Normalized:
    """Normalised text and the way back: ``to_original(i)`` is where character ``i`` came from."""

    text: str
    original: str
    _breaks: tuple[int, ...]  # normalised positions where the shift changes
    _shifts: tuple[int, ...]  # original - normalised, from that position on

    def to_original(self, index: int) -> int:
        """Original offset of normalised offset ``index`` (``len(text)`` maps to the end)."""
        if index >= len(self.text):
            return len(self.original)
        i = bisect.bisect_right(self._breaks, index) - 1
        return index + (self._shifts[i] if i >= 0 else 0)

    def span_to_original(self, start: int, end: int) -> tuple[int, int]:
        """Original ``[start, end)`` covering normalised ``[start, end)``."""
        if not self._breaks:
            return start, end
        if end <= start:
            o = self.to_original(start)
            return o, o
        return self.to_original(start), self.to_original(end - 1) + 1


def fold(text: str) -> str:
    """The normalised text alone (for terms, and wherever offsets are not needed)."""
    return text.translate(_translate_table())


def normalize(text: str, *, words: bool = False) -> Normalized:
    """Normalise ``text`` keeping a map from normalised offsets to original offsets.

    With ``words``, every character that is not a letter or digit also becomes a space (one
    for one): the text the matcher scans, made in the same single pass.
    """
    table = _table()
    normalized = text.translate(_word_translate_table() if words else _translate_table())
    if len(normalized) == len(text) and not _irregular().search(text):
        return Normalized(normalized, text, (), ())
    breaks: list[int] = []
    shifts: list[int] = []
    orig_pos = 0
    norm_pos = 0
    for m in _irregular().finditer(text):
        # Characters between irregular ones map one to one.
        norm_pos += m.start() - orig_pos
        orig_pos = m.start()
        replacement = table[ord(m.group())]
        # Each character of the expansion maps back to the one original character.
        for k in range(len(replacement)):
            breaks.append(norm_pos + k)
            shifts.append(orig_pos - norm_pos - k)
        norm_pos += len(replacement)
        orig_pos += 1
        breaks.append(norm_pos)
        shifts.append(orig_pos - norm_pos)
    return Normalized(normalized, text, tuple(breaks), tuple(shifts))
