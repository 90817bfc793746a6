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
import codecs
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

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


FIELD_SEPARATOR = "\x1f"
"""ASCII's unit separator. Word text keeps it as a "word" of its own, which no term contains:
between two fields of an article it stops a multi-word term from matching across them (the
end of a title and the start of the text)."""


@lru_cache(maxsize=1)
def _word_translate_table() -> list[str | None]:
    """Normalisation and word boundaries in one table: every character that is not a letter or
    digit after folding becomes a space, except :data:`FIELD_SEPARATOR`. Replacement lengths are
    those of the plain table, so the offset map is the same."""
    table = list(_translate_table())
    for code, replacement in enumerate(table):
        if replacement:
            table[code] = "".join(
                c if c.isalnum() or c == FIELD_SEPARATOR else " " for c in replacement
            )
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
    breaks: tuple[int, ...]  # normalised positions where the shift changes
    shifts: tuple[int, ...]  # original - normalised, from that position on

    def to_original(self, index: int) -> int:
        """Original offset of normalised offset ``index`` (``len(text)`` maps to the end)."""
        if index >= len(self.text):
            return len(self.original)
        i = bisect.bisect_right(self.breaks, index) - 1
        return index + (self.shifts[i] if i >= 0 else 0)

    def span_to_original(self, start: int, end: int) -> tuple[int, int]:
        """Original ``[start, end)`` covering normalised ``[start, end)``."""
        if not self.breaks:
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
    normalized = text.translate(_word_translate_table() if words else _translate_table())
    return _mapped(normalized, text)


def _mapped(normalized: str, text: str) -> Normalized:
    """``normalized`` with the offset map back to ``text``, its source."""
    if len(normalized) == len(text) and not _irregular().search(text):
        return Normalized(normalized, text, (), ())
    table = _table()
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


# --- scan text: word text in a one-byte alphabet -------------------------------------------------
#
# ``str.translate`` looks every character up through a Python object (about 50 ns each), which
# costs more than the automaton's whole scan. Arabic and English news fits Windows-1256 (Arabic
# letters and marks, Latin, the usual punctuation), and Python encodes and decodes it in C. So
# the matcher's text is made as: encode to cp1256, fold and word-map each byte with
# ``bytes.translate`` (marks and tatweel deleted), decode as Latin-1 (one character per byte).
# The result is not readable text but a string in a private alphabet, with the same offsets as
# ``normalize(text, words=True)``; the matcher's keys are written in the same alphabet
# (:func:`scan_key`). Text with a character outside cp1256 (another script, "…") takes the
# ``str.translate`` path and is then written in the same alphabet, any letter that cp1256 lacks
# becoming "\x01" (a letter no key contains).

SENTENCE_MARKS = ".!?؟؛…"
"""Characters that end a sentence before whitespace or the end of the text (a newline always
does); all in the one-byte alphabet."""
SENTENCE_CLOSERS = "\"'”’»)]"
"""Quotes and brackets that close on a sentence mark and belong to its sentence (“it is
over.”); all in the one-byte alphabet."""

_CODEPAGE = "cp1256"
_OTHER_LETTER = "newsradar-other-letter"


def _other_letter(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    return "\x01" * (exc.end - exc.start), exc.end


codecs.register_error(_OTHER_LETTER, _other_letter)


_UNSUPPORTED = 0x00
"""What the byte table maps a byte to when its folding takes more than one byte (and NUL,
which would otherwise be taken for it): a text holding it takes the ``str.translate`` path."""

_BYTE_TABLES: tuple[bytes, bytes, re.Pattern[bytes]] | None = None


def _byte_tables() -> tuple[bytes, bytes, re.Pattern[bytes]]:
    """``bytes.translate`` table and deletions for cp1256 bytes, and a pattern finding the
    deleted bytes (for the offset map); built once."""
    global _BYTE_TABLES  # noqa: PLW0603 - a cache filled on first use, like lru_cache but cheaper to read
    words = _word_translate_table()
    table = bytearray(range(256))
    delete = bytearray()
    for byte in range(256):
        try:
            char = bytes([byte]).decode(_CODEPAGE)
        except UnicodeDecodeError:
            table[byte] = _UNSUPPORTED
            continue
        replacement = words[ord(char)]
        if replacement is None:
            delete.append(byte)
            continue
        try:
            encoded = replacement.encode(_CODEPAGE)
        except UnicodeEncodeError:
            encoded = b""
        table[byte] = encoded[0] if len(encoded) == 1 else _UNSUPPORTED
    table[_UNSUPPORTED] = _UNSUPPORTED
    deleted = re.compile(b"[" + b"".join(re.escape(bytes([b])) for b in delete) + b"]")
    _BYTE_TABLES = bytes(table), bytes(delete), deleted
    return _BYTE_TABLES


class ByteAlphabet(NamedTuple):
    """The one-byte alphabet as the engine's native core folds text with it."""

    table: bytes
    """Fold table: byte -> byte, :data:`_UNSUPPORTED` where folding takes more than one byte."""
    delete: bytes
    """Bytes folding removes (marks, tatweel)."""
    unsupported: int
    encode: list[tuple[int, int]]
    """Code point -> byte, for every character of the code page."""
    spaces: bytes
    """Bytes whose character is whitespace."""
    marks: bytes
    """:data:`SENTENCE_MARKS` in bytes."""
    closers: bytes
    """:data:`SENTENCE_CLOSERS` in bytes."""


def byte_alphabet() -> ByteAlphabet:
    table, delete, _ = _BYTE_TABLES or _byte_tables()
    chars = [(b, bytes([b]).decode(_CODEPAGE, "replace")) for b in range(256)]
    return ByteAlphabet(
        table,
        delete,
        _UNSUPPORTED,
        encode=[(ord(c), b) for b, c in chars if c != "\ufffd"],
        spaces=bytes(b for b, c in chars if c.isspace()),
        marks=SENTENCE_MARKS.encode(_CODEPAGE),
        closers=SENTENCE_CLOSERS.encode(_CODEPAGE),
    )


def scan_bytes(text: str) -> bytes | None:
    """``text`` in Windows-1256, one byte per character, or None if it has a character
    outside it."""
    try:
        # ASCII is a subset of cp1256, and encoding it is a copy.
        return text.encode("ascii") if text.isascii() else text.encode(_CODEPAGE)
    except UnicodeEncodeError:
        return None


def scan_text(text: str) -> Normalized:
    """``normalize(text, words=True)`` written in the matcher's one-byte alphabet (see above):
    same length, same offset map."""
    table, delete, deleted = _BYTE_TABLES or _byte_tables()
    raw = scan_bytes(text)
    if raw is not None:
        out = raw.translate(table, delete)
        if _UNSUPPORTED not in out:
            if len(out) == len(raw):  # nothing deleted: no offset moved
                return Normalized(out.decode("latin-1"), text, (), ())
            # One byte per character, so byte offsets are character offsets: after the k-th
            # deleted character, normalised offsets are k + 1 behind the original ones.
            breaks: list[int] = []
            shifts: list[int] = []
            for k, m in enumerate(deleted.finditer(raw)):
                breaks.append(m.start() - k)
                shifts.append(k + 1)
            return Normalized(out.decode("latin-1"), text, tuple(breaks), tuple(shifts))
    words = text.translate(_word_translate_table())
    return _mapped(words.encode(_CODEPAGE, _OTHER_LETTER).decode("latin-1"), text)


def scan_key(form: str) -> str | None:
    """A term's surface form in the one-byte alphabet (no padding); None if it has a letter
    the alphabet lacks."""
    key = scan_text(form).text.strip(" ")
    return None if "\x01" in key else key
