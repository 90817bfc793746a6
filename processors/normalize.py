"""Text normalisation for matching, with a map back to the original text.

What it folds is :mod:`newsradar.folding` (shared with the alert stores' search), applied to
gazetteer terms and to article text alike; optionally (``words=True``, for matching) every other
non-alphanumeric character also becomes a space.

The work is one ``str.translate`` over the shared table, so it runs at C speed. The offset
map is computed only for the characters whose replacement is not exactly one character, and
:meth:`Normalized.to_original` answers by binary search.
"""

from __future__ import annotations

import bisect
import codecs
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

# Re-exported: the engine folds its terms and its text with the shared function.
from newsradar.folding import fold as fold  # noqa: PLC0414
from newsradar.folding import fold_table, translate_table

FIELD_SEPARATOR = "\x1f"
"""ASCII's unit separator. Word text keeps it as a "word" of its own, which no term contains:
between two fields of an article it stops a multi-word term from matching across them (the
end of a title and the start of the text)."""


@lru_cache(maxsize=1)
def _word_translate_table() -> list[str | None]:
    """Normalisation and word boundaries in one table: every character that is not a letter or
    digit after folding becomes a space, except :data:`FIELD_SEPARATOR`. Replacement lengths are
    those of the plain table, so the offset map is the same."""
    table = list(translate_table())
    for code, replacement in enumerate(table):
        if replacement:
            table[code] = "".join(
                c if c.isalnum() or c == FIELD_SEPARATOR else " " for c in replacement
            )
    return table


@lru_cache(maxsize=1)
def _irregular() -> re.Pattern[str]:
    """Characters whose replacement is not exactly one character (removed or expanded)."""
    chars = [chr(c) for c, rep in fold_table().items() if len(rep) != 1]
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


def normalize(text: str, *, words: bool = False) -> Normalized:
    """Normalise ``text`` keeping a map from normalised offsets to original offsets.

    With ``words``, every character that is not a letter or digit also becomes a space (one
    for one): the text the matcher scans, made in the same single pass.
    """
    normalized = text.translate(_word_translate_table() if words else translate_table())
    return _mapped(normalized, text)


def _mapped(normalized: str, text: str) -> Normalized:
    """``normalized`` with the offset map back to ``text``, its source."""
    if len(normalized) == len(text) and not _irregular().search(text):
        return Normalized(normalized, text, (), ())
    table = fold_table()
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
