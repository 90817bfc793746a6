from __future__ import annotations

import json
from datetime import UTC, datetime

from newsradar.schemas import Article
from processors.classify import ArticleText, Engine
from tests.conftest import REPO, run_cli, shared_data_path


def test_reference_article_fires_iraq_russia(engine: Engine) -> None:
    text = shared_data_path("articles", "elaph-iraq-russia.ar.txt").read_text(encoding="utf-8")
    result = engine.classify(ArticleText(id="elaph", content=text))
    assert result.language == "ar"
    assert [v.rule.id for v in result.fired] == ["iraq-russia"]
    assert {"IQ", "RU", "SY"} <= set(result.countries)
    assert next(iter(result.pair_counts)) == "IQ-RU"  # the top-ranked pair
    assert set(result.topics) == {
        "security",
        "elections",
        "investment",
        "defense",
        "trade",
        "health",
        "diplomacy",
    }
    for m in result.matches:
        assert text[m.start : m.end] == m.term
        assert m.term in m.snippet


def test_one_country_or_no_topic_does_not_fire(engine: Engine) -> None:
    only_iraq = engine.classify(ArticleText(id="a", title="Iraq signs oil deal with Total"))
    no_topic = engine.classify(ArticleText(id="b", title="Iraq and Russia", content="A poem."))
    apart = engine.classify(
        ArticleText(id="c", title="Iraq holds elections.", content="Russia hosts a concert.")
    )
    for result in (only_iraq, no_topic, apart):
        assert result.fired == ()


def test_english_bilateral_news_fires(engine: Engine) -> None:
    result = engine.classify(
        ArticleText(
            id="en",
            title="Lavrov meets Iraqi foreign minister in Moscow",
            summary="Russia and Iraq discussed arms deliveries and energy investment.",
        )
    )
    assert [v.rule.id for v in result.fired] == ["iraq-russia"]
    assert {"defense", "energy", "investment", "diplomacy"} <= set(result.topics)


def test_urdu_feed_text_is_read_in_arabic_script(engine: Engine) -> None:
    feed = shared_data_path("feeds", "miniflux", "urdu_UTF8.xml").read_text(encoding="utf-8")
    result = engine.classify(ArticleText(id="urdu", content=feed))
    assert "PK" in result.countries  # پاکستان, with Urdu keheh, folds to the Arabic form


def test_classify_cli_keeps_order_and_reports_bad_lines() -> None:
    lines = [
        {"id": "1", "title": "Iraq and Russia sign arms deal", "summary": "Baghdad and Moscow."},
        "not json",
        {"id": "3", "title": 5},
        {"id": "4", "title": "العراق وروسيا تبحثان الاستثمار", "language": "ar"},
        {"id": "5", "title": "Weather is fine"},
    ]
    stdin = "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n"
    proc = run_cli("classify", stdin=stdin)
    assert proc.returncode == 0, proc.stderr
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [o["id"] for o in out] == ["1", None, "3", "4", "5"]
    assert out[0]["countries"] == ["IQ", "RU"]
    assert out[0]["pairs"] == ["IQ-RU"]
    assert out[0]["rules"] == ["iraq-russia"]
    assert out[0]["language"] == "en"
    assert {
        "term": "Iraq",
        "denotes": "country:IQ",
        "field": "title",
        "start": 0,
        "end": 4,
    }.items() <= out[0]["matches"][0].items()
    assert out[1]["error"].startswith("line 2 is not JSON")
    assert out[2]["error"] == "`title` must be a string"
    assert out[3]["rules"] == ["iraq-russia"]
    assert (out[4]["countries"], out[4]["rules"]) == ([], [])


def test_rules_test_cli_highlights_matches(tmp_path) -> None:  # type: ignore[no-untyped-def]
    text = tmp_path / "a.txt"
    text.write_text("بحث العراق وروسيا التعاون في مكافحة الإرهاب", encoding="utf-8")
    proc = run_cli(
        "rules", "test", str(REPO / "processors/data/rules.yaml"), str(text), "--no-color"
    )
    assert proc.returncode == 0, proc.stderr
    assert "rule iraq-russia v2: FIRED" in proc.stdout
    assert "relation IQ-RU: 1.5 (1 of 1 sentences naming both)" in proc.stdout
    assert "  meeting 1.5 [بحث] بحث العراق وروسيا" in proc.stdout
    assert "salience: IQ 0.65 (title no, lead yes, share 0.50, spread 1.00)" in proc.stdout
    assert "[[العراق|country:IQ]]" in proc.stdout
    assert "[[وروسيا|country:RU]]" in proc.stdout


def test_an_alert_carries_only_the_matches_of_its_rule(engine: Engine) -> None:
    now = datetime.now(UTC)
    article = Article(
        id="a1",
        title="Iraq and Russia sign an oil deal",
        content="Baghdad and Moscow agreed on energy trade. China and the EU said nothing.",
        language="en",
        published=now,
        fetched_at=now,
    )
    result = engine.classify(ArticleText.of(article))
    assert {"CN", "IQ", "RU"} <= set(result.countries)
    (alert,) = engine.alerts(article, result)
    kept = {m.denotes for m in alert.matches}
    assert {"country:IQ", "country:RU", "topic:energy", "topic:trade"} <= kept
    assert not {"country:CN", "bloc:EU"} & kept
    everything = {m.denotes for m in result.matches}
    assert {"country:CN", "bloc:EU"} <= everything  # in the classification, not the alert
    assert [(m.term, m.start) for m in alert.matches if m.term == "Moscow"] == [
        ("Moscow", article.content.index("Moscow"))
    ]


def test_no_term_matches_across_two_fields(engine: Engine) -> None:
    """The engine scans title and text as one string; "Russia" ending the title and "S-400"
    opening the text must not read as the possessive "Russia's" (found by hypothesis)."""
    result = engine.classify(
        ArticleText(id="x", title="Talks with Russia", content="S-400 deliveries to Iraq")
    )
    assert [(m.field, m.term, m.denotes) for m in result.matches] == [
        ("title", "Talks", "topic:diplomacy"),
        ("title", "Russia", "country:RU"),
        ("content", "S-400", "topic:defense"),
        ("content", "Iraq", "country:IQ"),
    ]
