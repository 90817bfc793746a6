"""How newsradar folds text, the one definition the detection engine and the alert stores share.

The processors match folded text (:mod:`processors.normalize` builds its offset map and its
matcher alphabets on these tables); the stores index and query folded text, so that a search
finds what the engine would: a hamza form, a taa marbuta or a harakat away from the query.

What it folds:

- Unicode compatibility forms (NFKC: presentation forms, ligatures, full-width letters);
- diacritics: Arabic harakat, shadda, sukun, superscript alef, Quranic marks; Latin accents;
- tatweel (ـ), zero-width and bidi control characters: removed;
- Arabic letter variants: أ إ آ ٱ -> ا, ى -> ي, ة -> ه, ؤ -> و, ئ -> ي, and the Persian/Urdu
  letters used on Arabic-script sites: ی ې -> ي, ک گ -> ك, ۀ ە ہ -> ه;
- Latin case (casefold), typographic apostrophes -> ', dashes -> -.

The work is one ``str.translate`` over a table built once (about 0.3 s, at first use), so it
runs at C speed.
"""

from __future__ import annotations

import unicodedata
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
def fold_table() -> dict[int, str]:
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
def translate_table() -> list[str | None]:
    """The table as a list indexed by code point: ``str.translate`` looks a list up about three
    times faster than a dict. Code points past the BMP raise IndexError, which translate reads
    as "unchanged"."""
    table: list[str | None] = [
        chr(c) if not 0xD800 <= c <= 0xDFFF else None for c in range(0x10000)
    ]
    for code, replacement in fold_table().items():
        table[code] = replacement or None
    return table


def fold(text: str) -> str:
    """The folded text (for terms, search text and queries, wherever offsets are not needed)."""
    return text.translate(translate_table())
