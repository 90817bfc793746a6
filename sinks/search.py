"""Search over stored alerts: what is indexed of an alert and how a query is read, one
definition for the SQLite store (FTS5) and the PostgreSQL store (a ``tsvector``).

An alert's search text is its article title, the matched terms with their snippets and the
sentences that relate its countries, folded as the detection engine folds text
(:mod:`newsradar.folding`) and split into words (runs of letters and digits); each Arabic word
that starts with an article or conjunction (``sinks/data/search.yaml``) is indexed both as
written and light-stemmed (one of them taken off). A query is read the same way, and an alert
matches when, for every query word, the word or its stem is one of the alert's indexed words
or the start of one: "russia" finds "Russian", الحكومة الروسيّة finds الحكومه الروسيه,
العراق finds والعراق, وزراء finds الوزراء (stemmed وزراء) and the other way round. Nothing in a
query is syntax: quotes, operators and asterisks are not letters, so they separate words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from newsradar.datafile import DataSyntaxError, parse_yaml
from newsradar.errors import ConfigError
from newsradar.folding import fold, translate_table
from newsradar.schemas import Alert

DATA = Path(__file__).parent / "data" / "search.yaml"
MAX_WORD = 100
"""Longer words are neither indexed nor searched (PostgreSQL refuses lexemes over 2 KB)."""
MAX_QUERY_WORDS = 16
"""More words than this in a query are refused (each is an index lookup)."""
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_ARABIC = re.compile(r"[\u0600-\u06ff]")


@dataclass(frozen=True)
class Stemming:
    prefixes: tuple[str, ...]
    min_stem: int
    min_word_for_waw: int


@lru_cache(maxsize=1)
def stemming() -> Stemming:
    try:
        data = parse_yaml(DATA.read_text(encoding="utf-8"))
        prefixes = tuple(sorted((fold(p) for p in data["prefixes"]), key=len, reverse=True))
        return Stemming(prefixes, int(data["min_stem"]), int(data["min_word_for_waw"]))
    except (OSError, DataSyntaxError, KeyError, TypeError, ValueError) as exc:
        raise ConfigError(
            f"{DATA}: not a valid search data file ({exc}); reinstall newsradar"
        ) from None


@lru_cache(maxsize=1 << 16)  # news repeats its words: most lookups are hits
def stem(word: str) -> str:
    """``word`` (folded) without one leading Arabic article or conjunction."""
    if not _ARABIC.match(word):
        return word
    rules = stemming()
    for prefix in rules.prefixes:
        if not word.startswith(prefix) or len(word) - len(prefix) < rules.min_stem:
            continue
        if prefix == "و" and len(word) < rules.min_word_for_waw:
            continue
        return word[len(prefix) :]
    return word


@lru_cache(maxsize=1)
def _word_table() -> list[str | None]:
    """The engine's folding with every character that is not a letter or digit (after folding)
    made a space: one ``str.translate`` splits text into words at C speed."""
    return [
        None if replacement is None else "".join(c if c.isalnum() else " " for c in replacement)
        for replacement in translate_table()  # None: deleted (marks, tatweel) or a surrogate
    ]


def _split(text: str) -> list[str]:
    """Folded words, long ones included."""
    if not text.isascii():
        text = _ASTRAL.sub(" ", text)  # past the table (emoji, rare scripts): separators
    return text.translate(_word_table()).split()


def words(text: str) -> list[str]:
    """The words of ``text``: folded, split at anything but letters and digits; a "word"
    longer than :data:`MAX_WORD` characters (a run of digits, an encoded blob) is not one."""
    return [w for w in _split(text) if len(w) <= MAX_WORD]


def forms(word: str) -> tuple[str, ...]:
    """What a (folded) word is indexed and searched as: itself, and its stem if that differs."""
    stemmed = stem(word)
    return (word,) if stemmed == word else (word, stemmed)


def alert_text(alert: Alert) -> str:
    """What the stores index of ``alert``: the distinct forms of its words, space-separated (a
    search asks whether a word occurs, not how often)."""
    parts = [alert.article_title]
    for match in alert.matches:
        parts += (match.term, match.snippet)
    parts += (relation.sentence for relation in alert.relations)
    # Snippets overlap: folding (a Python lookup per character) only each distinct
    # whitespace-separated token once gives the same words, as folding maps characters alone.
    tokens = dict.fromkeys(" ".join(dict.fromkeys(parts)).split())
    distinct = dict.fromkeys(_split(" ".join(tokens)))
    return " ".join(dict.fromkeys(f for w in distinct if len(w) <= MAX_WORD for f in forms(w)))


class BadQuery(ValueError):
    """A search query with no word in it, or too many."""


def query_words(query: str) -> list[tuple[str, ...]]:
    """The forms of each distinct word of a query, in order; :class:`BadQuery` if there are no
    words or more than :data:`MAX_QUERY_WORDS`."""
    found = [forms(w) for w in dict.fromkeys(words(query))]
    if not found:
        raise BadQuery("the search has no word in it (letters or digits)")
    if len(found) > MAX_QUERY_WORDS:
        raise BadQuery(f"the search has {len(found)} words; at most {MAX_QUERY_WORDS} are read")
    return found


def fts5_query(query: str) -> str:
    """The query as SQLite FTS5 syntax: for every word, one of its forms, as a quoted prefix,
    must occur (the forms hold only letters and digits: nothing to escape)."""
    return " AND ".join(
        "(" + " OR ".join(f'"{f}"*' for f in group) + ")" for group in query_words(query)
    )


def tsquery(query: str) -> str:
    """The query as a PostgreSQL ``tsquery`` literal (for ``::tsquery``, which applies no
    parser or dictionary): for every word, one of its forms, as a prefix, must occur."""
    return " & ".join(
        "(" + " | ".join(f"'{f}':*" for f in group) + ")" for group in query_words(query)
    )


COUNTRY = re.compile(r"[A-Z]{2}")


@dataclass(frozen=True)
class AlertFilter:
    """Which stored alerts a reader wants; every store reads it the same way."""

    rule: str | None = None
    country: str | None = None
    """ISO 3166-1 alpha-2, upper case."""
    language: str | None = None
    query: str | None = None
    """Search words (see the module docstring)."""
    unread: bool = False
    starred: bool = False
    since: datetime | None = None
    """Alerts created at or after this time."""

    def __post_init__(self) -> None:
        if self.country is not None and not COUNTRY.fullmatch(self.country):
            raise BadQuery(f"country {self.country!r} is not a two-letter code, e.g. IQ")
        if self.query is not None:
            query_words(self.query)  # refused here, before any store reads it


class StoredAlert(NamedTuple):
    """An alert as a reader of the store sees it: its cursor (the rowid: it grows with every
    new alert) and its triage state."""

    cursor: int
    alert: Alert
    read: bool
    starred: bool
