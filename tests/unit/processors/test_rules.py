from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import example, find, given, settings
from hypothesis import strategies as st

from processors.classify import ArticleText, Engine
from processors.errors import RuleFileError
from processors.rules import (
    CountryCondition,
    Evidence,
    KeywordCondition,
    Proximity,
    Rule,
    RuleSet,
    TopicCondition,
    Verdict,
    Weights,
    WordMention,
    _judge,
)


def write(tmp_path: Path, text: str, name: str = "rules.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_invalid_rules_name_rule_key_and_allowed_values(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "rules:\n"
        "  - id: Bad Id\n"
        "  - id: ok\n    topics: {any: [weather]}\n    treshold: 2\n"
        "  - id: ok\n    countries: {all: [XX]}\n",
    )
    with pytest.raises(RuleFileError) as info:
        RuleSet.load(path, known_countries={"IQ", "RU"})
    lines = str(info.value).splitlines()
    assert any("rules[0] (Bad Id).id = 'Bad Id': String should match pattern" in ln for ln in lines)
    assert any(
        "rules[1] (ok).topics.any" in ln and "unknown topics ['weather']" in ln for ln in lines
    )
    assert any("rules[1] (ok).treshold = 2: Extra inputs are not permitted" in ln for ln in lines)
    assert any("rules[2] (ok).id: duplicate rule id" in ln for ln in lines)
    assert any("rules[2] (ok): 'XX' is not a country code" in ln for ln in lines)


def test_rule_file_must_hold_a_list(tmp_path: Path) -> None:
    with pytest.raises(RuleFileError, match="a rule file holds a list under the key `rules`"):
        RuleSet.load(write(tmp_path, "rule: 1\n"))
    with pytest.raises(RuleFileError, match="not valid YAML/TOML"):
        RuleSet.load(write(tmp_path, "rules = [", "r.toml"))


def engine_with(tmp_path: Path, rules: str) -> Engine:
    return Engine.default(write(tmp_path, rules))


def test_keywords_all_any_none_and_threshold(tmp_path: Path) -> None:
    engine = engine_with(
        tmp_path,
        "rules:\n"
        "  - id: wheat\n"
        "    countries: {any: [IQ]}\n"
        "    keywords: {all: [wheat], any: [shipment, قمح], none: [football]}\n"
        "    weights: {keyword: 1.0, pair: 0, topic: 0}\n"
        "    threshold: 1\n",
    )

    def fired(text: str) -> list[str]:
        return [v.rule.id for v in engine.classify(ArticleText(id="x", title=text)).fired]

    assert fired("Iraq buys wheat shipments") == ["wheat"]
    assert fired("Iraq buys wheat") == []  # no `any` keyword: score 0 < 1
    assert fired("Iraq buys wheat shipments after football final") == []  # `none` present
    assert fired("Egypt buys wheat shipments") == []  # country condition


def test_word_proximity(tmp_path: Path) -> None:
    engine = engine_with(
        tmp_path,
        "rules:\n  - id: near\n    pairs: [[IQ, RU]]\n    proximity: {unit: words, distance: 3}\n",
    )
    near = engine.classify(ArticleText(id="a", title="Iraq and Russia met"))
    far = engine.classify(ArticleText(id="b", title="Iraq said many many things about Russia"))
    assert [v.rule.id for v in near.fired] == ["near"]
    assert far.fired == ()
    assert far.verdicts[0].reasons == ("IQ and RU never within one words",)


def test_a_keyword_outside_the_one_byte_alphabet_is_still_found(tmp_path: Path) -> None:
    """A Cyrillic keyword makes the matcher scan Unicode word text instead of cp1256 bytes."""
    engine = engine_with(
        tmp_path,
        "rules:\n"
        "  - id: ru-press\n"
        "    countries: {any: [IQ]}\n"
        "    keywords: {any: [Москва]}\n"
        "    weights: {keyword: 1.0, pair: 0, topic: 0}\n"
        "    threshold: 1\n",
    )
    assert not engine.matcher.one_byte
    hit = engine.classify(ArticleText(id="x", title="Iraq: «МОСКВА» said, and Baghdad agreed"))
    assert [v.rule.id for v in hit.fired] == ["ru-press"]
    assert [(m.term, m.denotes) for m in hit.matches] == [
        ("Iraq", "country:IQ"),
        ("МОСКВА", "keyword:ru-press:any"),
        ("Baghdad", "country:IQ"),
    ]
    # Another Cyrillic word of the same length is not the keyword.
    miss = engine.classify(ArticleText(id="y", title="Iraq: «Донецк» said"))
    assert miss.fired == ()


# Rules that use every condition, for the decision's fast path against the full judgement.
JUDGED = [
    Rule(id="default", countries=CountryCondition(all=("IQ", "RU")), pairs=(("IQ", "RU"),),
         topics=TopicCondition(any=("trade", "energy")), weights=Weights(country=0.2),
         threshold=3.0),
    Rule(id="kw", countries=CountryCondition(any=("IQ", "SY")), languages=("ar",),
         keywords=KeywordCondition(all=("wheat",), any=("ship", "قمح|noun"), none=("football",)),
         topics=TopicCondition(all=("trade",)), weights=Weights(keyword=1.5, topic=0.5),
         threshold=3.0),
    Rule(id="any-kw", countries=CountryCondition(any=("RU",)), languages=("ar",),
         keywords=KeywordCondition(any=("ship",)), weights=Weights(keyword=0.0), threshold=0.0),
    Rule(id="near", pairs=(("IQ", "RU"), ("IQ", "SY")), threshold=0.0,
         proximity=Proximity(unit="words", distance=3)),
]  # fmt: skip
CODES = st.sampled_from(["IQ", "RU", "SY"])


@st.composite
def evidence(draw: st.DrawFn) -> Evidence:
    counts = draw(st.dictionaries(CODES, st.integers(1, 7)))
    places = {c: draw(st.sets(st.integers(0, 4), min_size=1)) for c in counts}
    mentions = [
        WordMention(c, draw(st.sampled_from(["title", "content"])), draw(st.integers(0, 12)))
        for c in counts
        for _ in range(draw(st.integers(1, 3)))
    ]
    keys = st.sampled_from(["kw:all", "kw:any", "kw:none", "any-kw:any"])
    keywords = draw(st.dictionaries(keys, st.sets(st.sampled_from(["wheat", "ship", "قمح"]))))
    return Evidence(
        draw(st.sampled_from(["ar", "en"])),
        draw(st.sets(st.sampled_from(["trade", "energy", "health"]))),
        keywords,
        counts=counts,
        places=places,
        mentions=mentions,
    )


def kw_evidence(**keywords: set[str]) -> Evidence:
    """Evidence meeting every condition of the "kw" rule but its keywords."""
    return Evidence("ar", {"trade"}, keywords, counts={"IQ": 1}, places={"IQ": {0}})


@settings(max_examples=500)
@given(evidence())
# Rarely drawn: all of "kw"'s conditions met but its threshold (one `any` keyword scores 2.0 of
# 3.0), or but an excluded keyword.
@example(kw_evidence(**{"kw:all": {"wheat"}, "kw:any": {"ship"}}))
@example(kw_evidence(**{"kw:all": {"wheat"}, "kw:any": {"ship", "قمح"}, "kw:none": {"ship"}}))
@example(kw_evidence(**{"kw:all": {"wheat"}, "kw:any": {"ship", "قمح"}}))
def test_the_decision_is_the_full_judgement_without_reasons(ev: Evidence) -> None:
    for rule in JUDGED:
        fired, score, _ = _judge(rule, ev, explain=True)
        assert rule.decision(ev) == ((True, score) if fired else (False, 0.0))
        verdict = Verdict.of(rule, ev)
        assert (verdict.fired, verdict.score) == (fired, score)


def test_the_judged_rules_fire_and_fail() -> None:
    """The property above sees both outcomes of every rule."""
    for rule in JUDGED:
        find(evidence(), lambda ev, r=rule: r.decision(ev)[0])
        find(evidence(), lambda ev, r=rule: not r.decision(ev)[0])
