"""Terms and their surface forms: the vocabulary the matcher scans for.

A :class:`Term` is one entry of a data file (a country name, a demonym, a topic keyword) with a
word class. :class:`Morphology` (``data/morphology.yaml``) expands it into every surface form
the class allows, normalised, so that the matcher finds ``وبالعراق`` and ``Iraq's`` without a
stemmer touching the text.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from newsradar.datafile import DataSyntaxError, parse_yaml
from processors.errors import DataFileError
from processors.normalize import fold

Language = Literal["ar", "en"]
DATA = resources.files("processors") / "data"


def load_yaml(path: Path | str, what: str) -> dict[str, Any]:
    """A YAML mapping from a file path, or a packaged data file name (``data/NAME``)."""
    source = DATA / path if isinstance(path, str) else path
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataFileError(f"{path}: cannot read {what}: {exc}") from None
    try:
        data = parse_yaml(text)
    except DataSyntaxError as exc:
        raise DataFileError(f"{path}: {what} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise DataFileError(f"{path}: {what} must be a mapping at the top level")
    return data


@dataclass(frozen=True, slots=True)
class Term:
    """One vocabulary entry: what it says, what it stands for, and how it may inflect."""

    text: str
    denotes: str
    """``country:IQ``, ``bloc:EU``, ``topic:trade`` or ``keyword:RULE:GROUP``."""
    language: Language
    word_class: str
    case_exact: bool = False
    sense: str = ""
    """How a country term names its country: ``name``, ``demonym``, ``capital``, ``city``,
    ``leader``, ``institution``, ``company``; empty for other terms."""
    person: str = ""
    """The person (``people`` id of the gazetteer) a leader's name or alias stands for."""


@dataclass(frozen=True, slots=True)
class WordClass:
    suffixes: tuple[str, ...]
    strip: str = ""
    article: Literal["none", "optional"] = "none"
    prefixes: tuple[str, ...] = ("",)
    """Letters before the stem (an Arabic verb's ي ت ن), inside any proclitic."""


@dataclass(frozen=True)
class Morphology:
    proclitics: tuple[str, ...]
    article_proclitics: tuple[str, ...]
    arabic: Mapping[str, WordClass]
    english: Mapping[str, WordClass]

    @classmethod
    def load(cls, path: Path | str = "morphology.yaml") -> Morphology:
        data = load_yaml(path, "morphology file")
        try:
            ar, en = data["arabic"], data["english"]

            def classes(section: Mapping[str, Any]) -> dict[str, WordClass]:
                return {
                    name: WordClass(
                        suffixes=tuple(fold(s) for s in spec["suffixes"]),
                        strip=fold(spec.get("strip", "")),
                        article=spec.get("article", "none"),
                        prefixes=tuple(fold(p) for p in spec.get("prefixes", [""])),
                    )
                    for name, spec in section["classes"].items()
                }

            return cls(
                proclitics=tuple(fold(p) for p in ar["proclitics"]),
                article_proclitics=tuple(fold(p) for p in ar["article_proclitics"]),
                arabic=classes(ar),
                english=classes(en),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise DataFileError(f"{path}: morphology file lacks or misshapes {exc}") from None

    def word_class(self, language: Language, name: str) -> WordClass:
        classes = self.arabic if language == "ar" else self.english
        if name not in classes:
            raise DataFileError(
                f"word class {name!r} is not defined for {language}; "
                f"use one of {', '.join(sorted(classes))}"
            )
        return classes[name]

    def surface_forms(self, term: Term) -> Iterator[str]:
        """Every normalised form ``term`` may take."""
        wc = self.word_class(term.language, term.word_class)
        base = fold(term.text)
        if wc.strip and base.endswith(wc.strip):
            base = base[: -len(wc.strip)]
        stems = [p + base + s for p in wc.prefixes for s in wc.suffixes]
        if term.language == "en":
            yield from stems
            return
        for stem in stems:
            if stem.startswith("ال"):
                bare = stem[2:]
                for p in self.article_proclitics:
                    yield p + bare
            else:
                for p in self.proclitics:
                    yield p + stem
                if wc.article == "optional":
                    for p in self.article_proclitics:
                        yield p + stem


def parse_term(spec: str, *, denotes: str, language: Language, default_class: str) -> Term:
    """``TEXT`` or ``TEXT|CLASS`` from a data file."""
    text, _, word_class = spec.partition("|")
    text = text.strip()
    if not text:
        raise DataFileError(f"empty term for {denotes} ({language})")
    return Term(text, denotes, language, word_class.strip() or default_class)


# --- the packaged vocabulary ---------------------------------------------------------------------

_GAZETTEER_FIELDS: Mapping[str, tuple[Language, str, str]] = {
    # field: (language, word class, sense)
    "en": ("en", "name", "name"),
    "ar": ("ar", "name", "name"),
    "dem_en": ("en", "demonym", "demonym"),
    "dem_ar": ("ar", "nisba", "demonym"),
    "pl_ar": ("ar", "name", "demonym"),
    "cap_en": ("en", "name", "capital"),
    "cap_ar": ("ar", "name", "capital"),
    "city_en": ("en", "name", "city"),
    "city_ar": ("ar", "name", "city"),
    "inst_en": ("en", "name", "institution"),
    "inst_ar": ("ar", "name", "institution"),
    "org_en": ("en", "name", "company"),
    "org_ar": ("ar", "name", "company"),
}
_PERSON_KEYS = {"id", "country", "role", "years", "en", "ar", "short_en", "short_ar", "case_en"}


@dataclass(frozen=True, slots=True)
class Person:
    """A leader or official of the gazetteer, with the role and years that place them."""

    id: str
    country: str
    role: str
    since: int | None
    until: int | None


def _strings(value: object, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        raise DataFileError(f"{where} must be a list of names")
    return [str(v) for v in value]


def gazetteer_terms(path: Path | str = "gazetteer.yaml") -> list[Term]:
    """Every name of the gazetteer as a term: countries and blocs (``country:IQ``), people
    (their full names stand for their country; their short names, ``alias:IQ:PERSON``, only
    once the full name has been read), and phrases that hold a country's name but stand for
    something else (``none:``, so that they win over the name inside them)."""
    data = load_yaml(path, "gazetteer")
    terms: list[Term] = []
    for section, kind in (("countries", "country"), ("blocs", "bloc")):
        for code, entry in (data.get(section) or {}).items():
            if not isinstance(entry, dict):
                raise DataFileError(f"{path}: {section}.{code} must be a mapping")
            unknown = set(entry) - set(_GAZETTEER_FIELDS) - {"case_en"}
            if unknown:
                raise DataFileError(
                    f"{path}: {section}.{code} has unknown keys {sorted(unknown)}; "
                    f"allowed: {', '.join(_GAZETTEER_FIELDS)}, case_en"
                )
            case_exact = set(_strings(entry.get("case_en", []), f"{path}: {section}.{code}"))
            for field, (language, word_class, sense) in _GAZETTEER_FIELDS.items():
                for text in _strings(entry.get(field, []), f"{path}: {section}.{code}.{field}"):
                    terms.append(
                        Term(
                            text,
                            f"{kind}:{code}",
                            language,
                            word_class,
                            case_exact=text in case_exact,
                            sense=sense if kind == "country" else "",
                        )
                    )
    countries = set(data.get("countries") or {})
    entries = _people_entries(data, path)
    for person in _people(entries, path).values():
        entry = entries[person.id]
        case_exact = set(_strings(entry.get("case_en", []), f"{path}: people.{person.id}"))
        for field, language, denotes in (
            ("en", "en", f"country:{person.country}"),
            ("ar", "ar", f"country:{person.country}"),
            ("short_en", "en", f"alias:{person.country}:{person.id}"),
            ("short_ar", "ar", f"alias:{person.country}:{person.id}"),
        ):
            if person.country not in countries:
                raise DataFileError(
                    f"{path}: people.{person.id}.country {person.country!r} is not a country "
                    "of the gazetteer"
                )
            for text in _strings(entry.get(field, []), f"{path}: people.{person.id}.{field}"):
                terms.append(
                    Term(
                        text,
                        denotes,
                        language,
                        "name",
                        case_exact=text in case_exact,
                        sense="leader",
                        person=person.id,
                    )
                )
    others = data.get("not_countries") or {}
    if not isinstance(others, dict):
        raise DataFileError(f"{path}: not_countries must map en/ar to lists of phrases")
    for language in ("en", "ar"):
        for text in _strings(others.get(language, []), f"{path}: not_countries.{language}"):
            terms.append(Term(text, "none:not-a-country", language, "name"))
    return terms


def _people_entries(data: dict[str, Any], path: Path | str) -> dict[str, dict[str, Any]]:
    entries = data.get("people") or []
    if not isinstance(entries, list):
        raise DataFileError(f"{path}: people must be a list")
    out: dict[str, dict[str, Any]] = {}
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            raise DataFileError(f"{path}: people[{i}] must be a mapping with an id")
        unknown = set(entry) - _PERSON_KEYS
        if unknown:
            raise DataFileError(
                f"{path}: people.{entry['id']} has unknown keys {sorted(unknown)}; "
                f"allowed: {', '.join(sorted(_PERSON_KEYS))}"
            )
        if entry["id"] in out:
            raise DataFileError(f"{path}: people.{entry['id']} is listed twice")
        out[entry["id"]] = entry
    return out


def _people(entries: dict[str, dict[str, Any]], path: Path | str) -> dict[str, Person]:
    out: dict[str, Person] = {}
    for pid, entry in entries.items():
        years = entry.get("years") or [None, None]
        if (
            not isinstance(years, list)
            or len(years) != 2
            or not all(y is None or isinstance(y, int) for y in years)
        ):
            raise DataFileError(f"{path}: people.{pid}.years must be [FROM, TO] (TO null: now)")
        if not isinstance(entry.get("country"), str) or not isinstance(entry.get("role"), str):
            raise DataFileError(f"{path}: people.{pid} needs a country code and a role")
        out[pid] = Person(pid, entry["country"], entry["role"], years[0], years[1])
    return out


TOPICS = (
    "investment",
    "elections",
    "security",
    "defense",
    "trade",
    "energy",
    "health",
    "diplomacy",
)


def topic_terms(path: Path | str = "topics.yaml") -> list[Term]:
    data = load_yaml(path, "topic file").get("topics") or {}
    unknown = set(data) - set(TOPICS)
    if unknown:
        raise DataFileError(
            f"{path}: unknown topics {sorted(unknown)}; the vocabulary is {', '.join(TOPICS)}"
        )
    terms = []
    for topic, entry in data.items():
        for language in ("en", "ar"):
            for spec in entry.get(language, []):
                terms.append(
                    parse_term(
                        str(spec), denotes=f"topic:{topic}", language=language, default_class="noun"
                    )
                )
    return terms


@lru_cache(maxsize=1)
def default_morphology() -> Morphology:
    return Morphology.load()
