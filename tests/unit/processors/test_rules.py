from __future__ import annotations

from pathlib import Path

import pytest

from processors.classify import ArticleText, Engine
from processors.errors import RuleFileError
from processors.rules import RuleSet


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
