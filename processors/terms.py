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

import yaml

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
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
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


@dataclass(frozen=True, slots=True)
class WordClass:
    suffixes: tuple[str, ...]
    strip: str = ""
    article: Literal["none", "optional"] = "none"


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

    def surface_forms(self, term: Term) -> Iterator[tuple[str, str]]:
        """Pairs of (normalised form, suffix as written) for every form ``term`` may take."""
        wc = self.word_class(term.language, term.word_class)
        base = fold(term.text)
        if wc.strip and base.endswith(wc.strip):
            base = base[: -len(wc.strip)]
        stems = [base + s for s in wc.suffixes]
        if term.language == "en":
            for stem, suffix in zip(stems, wc.suffixes, strict=True):
                yield stem, suffix
            return
        for stem in stems:
            if stem.startswith("ال"):
                bare = stem[2:]
                for p in self.article_proclitics:
                    yield p + bare, ""
            else:
                for p in self.proclitics:
                    yield p + stem, ""
                if wc.article == "optional":
                    for p in self.article_proclitics:
                        yield p + stem, ""


def parse_term(spec: str, *, denotes: str, language: Language, default_class: str) -> Term:
    """``TEXT`` or ``TEXT|CLASS`` from a data file."""
    text, _, word_class = spec.partition("|")
    text = text.strip()
    if not text:
        raise DataFileError(f"empty term for {denotes} ({language})")
    return Term(text, denotes, language, word_class.strip() or default_class)


# --- the packaged vocabulary ---------------------------------------------------------------------

_GAZETTEER_FIELDS: Mapping[str, tuple[Language, str]] = {
    "en": ("en", "name"),
    "ar": ("ar", "name"),
    "dem_en": ("en", "demonym"),
    "dem_ar": ("ar", "nisba"),
    "cap_en": ("en", "name"),
    "cap_ar": ("ar", "name"),
    "lead_en": ("en", "name"),
    "lead_ar": ("ar", "name"),
    "inst_en": ("en", "name"),
    "inst_ar": ("ar", "name"),
}


def gazetteer_terms(path: Path | str = "gazetteer.yaml") -> list[Term]:
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
            case_exact = {str(t) for t in entry.get("case_en", [])}
            for field, (language, word_class) in _GAZETTEER_FIELDS.items():
                for text in entry.get(field, []):
                    terms.append(
                        Term(
                            str(text),
                            f"{kind}:{code}",
                            language,
                            word_class,
                            case_exact=str(text) in case_exact,
                        )
                    )
    return terms


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
