"""Property tests (hypothesis) over the parts that meet untrusted text: normalisation, matching,
classification and feed parsing (mutated versions of the shared feed corpora)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, find, given, settings
from hypothesis import strategies as st

from processors.classify import ArticleText, Engine
from processors.normalize import normalize, scan_text
from processors.relevance import EVIDENCE_KINDS
from producers.errors import FeedError
from producers.normalize import parse_feed
from tests.conftest import SHARED_DATA

ENGINE = Engine.default(native=False)  # the Python steps; the native core is held to them below
# Real terms with the clitics, marks and spellings the engine must see through, plus noise.
PIECES = [
    "العراق", "والعراق", "بالعراق", "للعراق", "العراقية", "العراقيين", "روسيا", "وروسيا",
    "الروسية", "موسكو", "بغداد", "الاستثمار", "الانتخابات", "الإرهاب", "مكافحة الارهاب",
    "Iraq", "Iraq's", "Iraq’s", "Russia", "Russian", "Moscow", "Baghdad", "Kremlin", "arms",
    "investment", "elections", "vaccine", "energy", "oil", "trade", "talks", ".", "،", "\n",
    "\u0640", "\u064e", "\u0651", "\u200b", "\u200f", "\u202b", "ﻻ", "ﺍ", "Ⅻ", "ﬁ", "İ", "ß",
]  # fmt: skip
texts = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=8)), max_size=40).map(" ".join)
# Every character of Windows-1256, the matcher's fast path (harakat and tatweel included).
CP1256 = list(bytes(range(256)).decode("cp1256", "ignore"))
CORPUS = sorted(p for p in (SHARED_DATA / "feeds").rglob("*") if p.is_file())


@given(st.text())
def test_normalisation_is_idempotent(text: str) -> None:
    once = normalize(text, words=True).text
    assert normalize(once, words=True).text == once


@settings(deadline=None)  # the first call loads the language model
@given(texts)
def test_match_offsets_point_into_the_original_text(text: str) -> None:
    result = ENGINE.classify(ArticleText(id="p", title=text[:200], content=text))
    for match in result.matches:
        source = text[:200] if match.field == "title" else text
        assert 0 <= match.start < match.end <= len(source)
        assert source[match.start : match.end] == match.term
        assert match.term in match.snippet or not match.snippet


@settings(deadline=None)
@given(st.text(), st.text(), st.sampled_from(["", "ar", "en", "fa", "xx"]))
def test_the_classifier_never_crashes_on_arbitrary_unicode(
    title: str, content: str, language: str
) -> None:
    result = ENGINE.classify(ArticleText(id="p", title=title, content=content, language=language))
    assert set(result.pairs) <= set(result.pair_counts)
    assert all(m.term for m in result.matches)


def mutate(body: bytes, data: st.DataObject) -> bytes:
    """Truncate, flip bytes, splice in junk or a copy of itself, as a broken server might."""
    kind = data.draw(st.sampled_from(["truncate", "flip", "junk", "splice", "encoding"]))
    if not body:
        return data.draw(st.binary(max_size=64))
    at = data.draw(st.integers(0, len(body) - 1))
    if kind == "truncate":
        return body[:at]
    if kind == "flip":
        return body[:at] + bytes([body[at] ^ data.draw(st.integers(1, 255))]) + body[at + 1 :]
    if kind == "junk":
        return body[:at] + data.draw(st.binary(min_size=1, max_size=32)) + body[at:]
    if kind == "splice":
        other = data.draw(st.integers(0, len(body) - 1))
        return body[:at] + body[other:] + body[at:]
    declared = data.draw(st.sampled_from([b"windows-1256", b"utf-16", b"koi8-r", b"bogus"]))
    return body.replace(b"utf-8", declared, 1).replace(b"UTF-8", declared, 1)


# Sentences that relate Iraq and Russia, or only name them, in pieces the relevance model reads:
# names, demonyms, people, cues, contrast words, lists, datelines.
RELATION_PIECES = [
    "Iraq", "Russia", "Iraqi", "Russian", "Moscow", "Baghdad", "Syria", "Iran", "Lavrov",
    "Sergei Lavrov", "Abadi", "Haider al-Abadi", "Lukoil", "Basra", "العراق", "وروسيا",
    "الروسية", "العراقية", "الروس", "السوداني", "محمد شياع السوداني", "بين", "between",
    "relations", "العلاقات", "met", "signed", "agreement", "supplies", "بحث", "صفقة", "while",
    "بينما", "and", "و", ",", "،", ".", ";", "-", "in", "في", "embassy", "شركة", "\n",
    "BAGHDAD (Reuters) -", "إيلاف من لندن:", "World Cup", "match", "Read more:",
]  # fmt: skip
relation_texts = st.lists(st.sampled_from(RELATION_PIECES), max_size=60).map(" ".join)


@settings(deadline=None, max_examples=300)
@given(relation_texts, relation_texts, st.sampled_from(["ar", "en"]))
def test_relation_evidence_points_into_the_article(title: str, content: str, lang: str) -> None:
    """Whatever the text, relation evidence and salience are consistent: each sentence is the
    field's own text at its offsets, the score is the sum of the sentences' weights, a partial
    reading (what rules read) never says more than the whole, and salience stays in [0, 1]."""
    article = ArticleText(id="r", title=title, content=content, language=lang)
    result = ENGINE.classify(article)
    json.dumps(result.to_json())
    relevance = result.evidence.relevance
    if relevance is None:
        return
    fields = {"title": title, "content": content}
    for code in result.countries:
        assert 0.0 <= relevance.salience(code).score <= 1.0
    for a, b in [("IQ", "RU"), *(tuple(p.split("-")) for p in result.pairs)]:
        partial = relevance.relation(a, b, enough=1.5)
        whole = relevance.relation(a, b)
        assert whole.complete
        assert partial.score <= whole.score
        assert whole.score == round(sum(s.weight for s in whole.sentences), 3)
        for sentence in whole.sentences:
            assert fields[sentence.field][sentence.start : sentence.end] == sentence.text
            assert sentence.kind in EVIDENCE_KINDS
            assert all(cue in sentence.text for cue in sentence.cues)


def test_the_generated_texts_relate_countries() -> None:
    """The property above sees relation evidence of every kind, not only empty relations."""
    for kind in EVIDENCE_KINDS:

        def related(text: str, kind: str = kind) -> bool:
            result = ENGINE.classify(ArticleText(id="r", content=text, language="en"))
            relevance = result.evidence.relevance
            return relevance is not None and any(
                s.kind == kind for s in relevance.relation("IQ", "RU").sentences
            )

        find(relation_texts, related, settings=settings(max_examples=5000, deadline=None))


@pytest.mark.skipif(not CORPUS, reason=f"{SHARED_DATA}/feeds not present (shared test corpus)")
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_feed_parsing_survives_mutated_corpus_feeds(data: st.DataObject) -> None:
    path: Path = data.draw(st.sampled_from(CORPUS))
    body = mutate(path.read_bytes(), data)
    assume(len(body) < 2_000_000)
    try:
        parsed = parse_feed(body, feed_url=f"file://{path}", fetched_at=datetime.now(UTC))
    except FeedError:  # "not a feed": the clean, expected outcome for some mutations
        return
    for article in parsed.articles:
        assert article.id
        assert article.published.tzinfo is not None


def test_the_generated_texts_reach_the_matcher() -> None:
    """The offsets property above is not vacuous: its texts do produce many matches."""
    example = find(
        texts, lambda t: len(ENGINE.classify(ArticleText(id="p", content=t)).matches) >= 5
    )
    assert len(ENGINE.classify(ArticleText(id="p", content=example)).matches) >= 5


# Forms that overlap or nest: the engine resolves overlaps only where a form that means
# something else is involved, and must come out as if it had resolved them all.
NESTED = [
    "Iraq", "Iraq's", "Republic of Iraq", "Republic of Iraq's", "Papua New Guinea", "Guinea",
    "Guinea-Bissau", "Equatorial Guinea", "New", "Niger", "Nigeria", "Congo", "DR Congo",
    "Democratic Republic of the Congo", "North Korea", "Korea", "South Korea", "Kim Jong Un",
    "US", "us", "U.S.", "S-400", "S-400s", "counter-terrorism", "terrorism", "Iraqi parliament",
    "parliament", "روسيا", "روسيا البيضاء", "روسيا الاتحادية", "جمهورية العراق", "العراق",
    "مكافحة الإرهاب", "الإرهاب", "وزير الخارجية", "الخارجية", "مجلس النواب العراقي",
]  # fmt: skip
nested_texts = st.lists(
    st.tuples(st.sampled_from(NESTED), st.sampled_from([" ", " ", ", ", ". ", "-", "\n"])),
    max_size=30,
).map(lambda parts: "".join(a + b for a, b in parts))


@settings(deadline=None)
@given(nested_texts)
def test_the_engine_agrees_with_full_leftmost_longest_resolution(text: str) -> None:
    result = ENGINE.classify(ArticleText(id="p", content=text, language="en"))
    hits = ENGINE.matcher.find(text)  # every overlap resolved, case checked

    def found(kind: str) -> list[str]:
        return sorted({m.what for _, _, form in hits for m in form.meanings if m.kind == kind})

    assert list(result.countries) == found("country")
    assert list(result.topics) == found("topic")
    assert list(result.blocs) == found("bloc")
    assert result.country_counts == dict(
        Counter(m.what for _, _, form in hits for m in form.meanings if m.kind == "country")
    )
    reported = ("country", "bloc", "topic", "keyword")  # not the engine's own cues
    assert [(m.start, m.end, m.denotes) for m in result.matches] == [
        (start, end, m.term.denotes)
        for start, end, form in hits
        for m in form.meanings
        if m.kind in reported
    ][:200]


@given(st.one_of(st.text(), st.text(alphabet=CP1256), texts))
def test_the_scan_alphabet_is_normalisation_byte_for_byte(text: str) -> None:
    """The matcher's one-byte text (cp1256 fast path, or the str.translate path) is the
    normalised word text, letter for letter, with the same offset map."""
    words = normalize(text, words=True)
    scanned = scan_text(text)
    assert (scanned.breaks, scanned.shifts) == (words.breaks, words.shifts)
    assert len(scanned.text) == len(words.text)
    expected = words.text.encode("cp1256", "newsradar-other-letter").decode("latin-1")
    assert scanned.text == expected
