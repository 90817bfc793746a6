"""Language identification for articles that arrive without a language hint.

py3langid ships its model inside the package (no download at run time). Arabic-script text is
told apart (ar, fa, ur, ps) by the model, not by script alone.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

NEWS_LANGUAGES = (
    "ar", "en", "fa", "ur", "ps", "ku", "tr", "he", "fr", "de", "es", "it", "pt", "nl", "ru",
    "uk", "pl", "zh", "ja", "ko", "hi", "bn", "id", "ms", "sw", "el", "sv", "da", "no", "fi",
)  # fmt: skip


@lru_cache(maxsize=1)
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE)
    # Restricting the candidates to languages news feeds are written in keeps short English
    # headlines from being read as pidgins or minor languages.
    identifier.set_languages(list(NEWS_LANGUAGES))
    return identifier


def detect(text: str) -> str:
    """ISO 639-1 code of ``text``'s language, or ``""`` if there is nothing to go on."""
    if not text.strip():
        return ""
    language, _ = _identifier().classify(text)
    return str(language)
