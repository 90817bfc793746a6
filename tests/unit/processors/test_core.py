"""The native core (processors/native) against the Python scan it stands in for: the same hits,
and so the same classification, for every kind of text."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from processors.classify import ArticleText, Engine, _fields, joined
from processors.document import BETWEEN_FIELDS, Document
from tests.conftest import REPO, native_engine, reference_text
from tests.unit.test_properties import CP1256, ENGINE, nested_texts, texts

DEMO = REPO / "newsradar" / "demo" / "articles.jsonl"
# Case-exact names among plain words and sentence ends, with no overlapping form nearby: the
# core's path for texts where only case needs checking.
PLAIN = ["us", "US", "Iraq", "Russia", "Syria", "talks", "oil", ".", "!", "\n", "؟", "،", "—",
         '"', "”", "’", "»", ")", "]", "…", "\xa0"]  # fmt: skip
plain_texts = st.lists(st.sampled_from(PLAIN), max_size=30).map(" ".join)


def same_hits(native: Engine, article: ArticleText) -> None:
    """The core's hits are the Python scan's, and so is everything decided from them."""
    assert native.core is not None
    fields = (article.title, article.summary, article.content)
    found = native.core.hits(fields, BETWEEN_FIELDS)
    if found is not None:
        got, ends, named = found
        names, texts = _fields(article)
        text = joined(article)
        want = ENGINE.matcher.hits(text)
        assert [(s, e, [m.term.denotes for m in f.meanings]) for s, e, f in got] == [
            (s, e, [m.term.denotes for m in f.meanings]) for s, e, f in want
        ]
        python = Document(names, texts, text, want)
        assert ends == python.sentence_ends
        assert [(s, e, fld, sen, par) for s, e, _, fld, sen, par in named] == [
            (s, e, fld, sen, par) for s, e, _, fld, sen, par in python.named
        ]
    mine, theirs = native.classify(article), ENGINE.classify(article)
    assert mine.to_json() == theirs.to_json()
    assert mine.country_counts == theirs.country_counts
    assert [(v.rule.id, v.fired, v.score) for v in mine.verdicts] == [
        (v.rule.id, v.fired, v.score) for v in theirs.verdicts
    ]


@settings(deadline=None, max_examples=300)
@given(
    st.one_of(texts, nested_texts, plain_texts, st.text(alphabet=CP1256)),
    st.one_of(texts, nested_texts, plain_texts),
    st.sampled_from(["", "ar", "en-GB", "ar_IQ"]),
)
def test_the_native_core_scans_as_the_python_steps(
    native: Engine, title: str, content: str, lang: str
) -> None:
    same_hits(native, ArticleText(id="p", title=title, content=content, language=lang))


def test_the_core_is_what_scans(native: Engine) -> None:
    """The comparisons above compare two paths: the core does answer for ordinary text."""
    assert native.core is not None
    assert native.core.hits(["Iraq and Russia"], BETWEEN_FIELDS)


def test_reference_and_demo_articles(native: Engine) -> None:
    title, body = reference_text()
    reference = ArticleText(id="ref", title=title, content=body)
    same_hits(native, reference)
    assert [v.rule.id for v in native.classify(reference).fired] == ["iraq-russia"]
    for line in DEMO.read_text(encoding="utf-8").splitlines():
        a = json.loads(line)
        fields = {k: a.get(k, "") for k in ("title", "summary", "content", "language")}
        same_hits(native, ArticleText(id=a["id"], **fields))


def test_names_that_match_only_as_written(native: Engine) -> None:
    for text in ["tell us more", "Iraq told us. US and Iraq talks", "US-Iraq"]:
        same_hits(native, ArticleText(id="u", content=text, language="en"))
    assert native.classify(ArticleText(id="u", content="Iraq told us")).countries == ("IQ",)


def test_text_outside_windows_1256_takes_the_python_steps(native: Engine) -> None:
    assert native.core is not None
    assert native.core.hits(["Россия и Ирак: Iraq, Russia"], BETWEEN_FIELDS) is None
    same_hits(native, ArticleText(id="c", title="Россия и Ирак: Iraq and Russia talks"))


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
        article = ArticleText(id="w", title=title, content=content)
        assert native.classify(article).to_json() == python.classify(article).to_json()
    fired = native.classify(ArticleText(id="a", title="Iraq and Russia met")).fired
    assert [v.rule.id for v in fired] == ["near"]
    far = native.classify(ArticleText(id="a", title="Iraq said many many things about Russia"))
    assert far.fired == ()


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
