"""The native core (processors/native) against the Python steps it stands in for: the same
classification, matches included, for every kind of text."""

from __future__ import annotations

import json
import sys
from functools import cache
from pathlib import Path

import pytest
from hypothesis import example, find, given, settings
from hypothesis import strategies as st

from processors.classify import ArticleText, Engine
from tests.conftest import REPO, native_engine, reference_text
from tests.unit.test_properties import CP1256, ENGINE, PIECES, nested_texts, texts

DEMO = REPO / "newsradar" / "demo" / "articles.jsonl"
# Case-exact names among plain words and sentence ends, with no overlapping form nearby: the
# core's path for texts where only case needs checking.
PLAIN = ["us", "US", "Iraq", "Russia", "Syria", "talks", "oil", ".", "!", "\n", "؟", "،", "—"]
plain_texts = st.lists(st.sampled_from(PLAIN), max_size=30).map(" ".join)


def same_output(native: Engine, python: Engine, article: ArticleText) -> None:
    got, want = native.classify(article), python.classify(article)
    assert got.to_json() == want.to_json()
    assert got.country_counts == want.country_counts
    assert [(v.rule.id, v.fired, v.score) for v in got.verdicts] == [
        (v.rule.id, v.fired, v.score) for v in want.verdicts
    ]


@settings(deadline=None, max_examples=300)
@given(
    st.one_of(texts, nested_texts, plain_texts, st.text(alphabet=CP1256)),
    st.one_of(texts, nested_texts, plain_texts),
    st.sampled_from(["", "ar", "en-GB", "ar_IQ"]),
)
def test_the_native_core_decides_as_the_python_steps(
    native: Engine, title: str, content: str, lang: str
) -> None:
    article = ArticleText(id="p", title=title, content=content, language=lang)
    same_output(native, ENGINE, article)


def test_the_core_is_what_decides(native: Engine) -> None:
    """The comparisons above compare two paths: the core does answer for ordinary text."""
    assert native.core is not None
    assert native.core.analyse(["Iraq and Russia"], "\n\x1f\n", "en") is not None


def test_reference_and_demo_articles(native: Engine) -> None:
    title, body = reference_text()
    reference = ArticleText(id="ref", title=title, content=body)
    same_output(native, ENGINE, reference)
    assert [v.rule.id for v in native.classify(reference).fired] == ["iraq-russia"]
    for line in DEMO.read_text(encoding="utf-8").splitlines():
        a = json.loads(line)
        fields = {k: a.get(k, "") for k in ("title", "summary", "content", "language")}
        same_output(native, ENGINE, ArticleText(id=a["id"], **fields))


def test_names_that_match_only_as_written(native: Engine) -> None:
    for text in ["tell us more", "Iraq told us. US and Iraq talks", "US-Iraq"]:
        same_output(native, ENGINE, ArticleText(id="u", content=text, language="en"))
    assert native.classify(ArticleText(id="u", content="Iraq told us")).countries == ("IQ",)


def test_text_outside_windows_1256_takes_the_python_steps(native: Engine) -> None:
    assert native.core is not None
    assert native.core.analyse(["Россия и Ирак: Iraq, Russia"], "\n\x1f\n", "en") is None
    same_output(native, ENGINE, ArticleText(id="c", title="Россия и Ирак: Iraq and Russia talks"))


# Rules using every condition, and texts that meet and miss them.
EVERY_CONDITION = Path(__file__).parent / "data" / "rules-every-condition.yaml"
RULE_WORDS = [*PIECES, "Syria", "Damascus", "سوريا", "wheat", "ship", "ships", "قمح", "القمح",
              "football", "terrorism", "الإرهاب", "election", "Iraq", "Russia", "trade"]  # fmt: skip
rule_texts = st.lists(
    st.tuples(st.sampled_from(RULE_WORDS), st.sampled_from([" ", " ", ", ", ". ", "\n"])),
    max_size=40,
).map(lambda parts: "".join(word + sep for word, sep in parts))
rule_articles = st.builds(
    lambda title, content, lang: ArticleText(id="r", title=title, content=content, language=lang),
    rule_texts,
    rule_texts,
    st.sampled_from(["ar", "en"]),
)


@cache
def every_condition() -> tuple[Engine, Engine]:
    """Engines deciding :data:`EVERY_CONDITION`: with the native core, and the Python steps."""
    return native_engine(EVERY_CONDITION), Engine.default(EVERY_CONDITION, native=False)


@settings(deadline=None, max_examples=400)
@given(rule_articles)
# Rarely drawn: every condition of "keywords" met, with and without its excluded keyword, and
# in the other language; "any-keyword" met but for the language.
@example(ArticleText(id="r", title="Iraq wheat ship قمح trade", content="", language="ar"))
@example(ArticleText(id="r", title="Iraq wheat ship قمح trade", content="football", language="ar"))
@example(ArticleText(id="r", title="Iraq wheat ship قمح trade", content="", language="en"))
@example(ArticleText(id="r", title="Russia ship", content="", language="ar"))
def test_every_condition_of_the_rule_language_decides_as_in_python(article: ArticleText) -> None:
    native, python = every_condition()
    same_output(native, python, article)


def test_those_rules_fire_and_fail() -> None:
    """The property above sees every rule fire, and fail."""
    native, _ = every_condition()
    for rule in native.rules.rules:

        def fires(article: ArticleText, rule_id: str = rule.id) -> bool:
            return rule_id in [v.rule.id for v in native.classify(article).fired]

        find(rule_articles, fires, settings=settings(max_examples=2000, deadline=None))
        find(rule_articles, lambda a, f=fires: not f(a), settings=settings(deadline=None))


def test_word_proximity_and_pairs_within_words(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "rules:\n  - id: near\n    pairs: [[IQ, RU]]\n    proximity: {unit: words, distance: 3}\n"
    )
    native, python = native_engine(rules), Engine.default(rules, native=False)
    for title, content in [
        ("Iraq and Russia met", ""),
        ("Iraq said many many things about Russia", "Russia. Iraq!"),
        ("Moscow", "Baghdad and the Kremlin.\nIraq, Russia and Syria"),
    ]:
        same_output(native, python, ArticleText(id="w", title=title, content=content))
    fired = native.classify(ArticleText(id="a", title="Iraq and Russia met")).fired
    assert [v.rule.id for v in fired] == ["near"]


def test_newsradar_engine_python_turns_the_core_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSRADAR_ENGINE", "python")
    assert Engine.default().core is None


def test_asking_for_a_core_that_is_not_built_says_how_to_build_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "newsradar_native", None)  # import fails
    assert Engine.default().core is None
    with pytest.raises(ValueError, match=r"native core is not built \(scripts/bootstrap.sh"):
        Engine.default(native=True)
