"""Search and triage in the embedded store: Arabic folded as the engine folds it, light
stemming, queries that are never syntax, read/starred kept across redelivery, cursor pages, and
a store made by an older release migrated with its alerts indexed."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from newsradar.folding import fold
from newsradar.schemas import Alert, Match, alert_id
from processors.normalize import fold as engine_fold
from sinks.search import (
    AlertFilter,
    BadQuery,
    alert_text,
    forms,
    fts5_query,
    query_words,
    stem,
    tsquery,
    words,
)
from sinks.sqlite import MIGRATIONS, SqliteSink, connect, find_alerts, select_alerts, set_triage
from tests.conftest import REPO

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
ARABIC_TITLE = "بحث رئيس الوزراء العراقي مع نائب رئيس الحكومة الروسية مكافحة الإرهاب"


def alert(article: str, title: str, *, created: datetime = NOW, **extra: object) -> Alert:
    fields: dict[str, object] = {
        "id": alert_id("iraq-russia", article),
        "rule_id": "iraq-russia",
        "article_id": article,
        "article_title": title,
        "article_published": NOW,
        "countries": ("IQ", "RU"),
        "pairs": ("IQ-RU",),
        "created_at": created,
        **extra,
    }
    return Alert.model_validate(fields)


def store(path: Path, *alerts: Alert) -> None:
    sink = SqliteSink(path)
    sink.write(alerts)
    sink.close()


def found(path: Path, **wanted: object) -> list[str]:
    return [s.alert.article_id for s in find_alerts(path, AlertFilter(**wanted))]  # type: ignore[arg-type]


def test_the_stores_fold_as_the_engine_does() -> None:
    assert engine_fold is fold
    assert words("الإرهاب والحكومة الروسيّة بالعراق مصطفى ورد") == [
        "الارهاب", "والحكومه", "الروسيه", "بالعراق", "مصطفي", "ورد",
    ]  # fmt: skip
    # Light stemming: one leading article or conjunction; و only off a longer word.
    assert [stem(w) for w in words("الإرهاب والحكومة بالعراق الوزراء وزراء ورد")] == [
        "ارهاب", "حكومه", "عراق", "وزراء", "زراء", "ورد",
    ]  # fmt: skip
    assert forms("الوزراء") == ("الوزراء", "وزراء")
    assert forms("ورد") == ("ورد",)
    assert words("Iraq–Russia TALKS, Türkiye") == ["iraq", "russia", "talks", "turkiye"]
    # Past the BMP (emoji) and punctuation separate words; an endless "word" is none.
    assert words("عاجل🔴العراق_روسيا " + "9" * 101) == ["عاجل", "العراق", "روسيا"]


def test_queries_are_words_never_syntax() -> None:
    assert [g[0] for g in query_words('"Iraq" OR russ* NEAR(a b) -x ^y')] == [
        "iraq", "or", "russ", "near", "a", "b", "x", "y",
    ]  # fmt: skip
    assert fts5_query("العراق Russia") == '("العراق"* OR "عراق"*) AND ("russia"*)'
    assert tsquery("العراق Russia") == "('العراق':* | 'عراق':*) & ('russia':*)"
    with pytest.raises(BadQuery, match="no word"):
        query_words(" *** ")
    with pytest.raises(BadQuery, match="at most 16"):
        query_words(" ".join(f"w{n}" for n in range(17)))


def test_search_text_holds_title_terms_snippets_and_relations() -> None:
    a = alert(
        "x",
        "Title words",
        matches=[Match(term="Moscow", denotes="RU", field="content", start=0, end=6,
                       snippet="talks in Moscow on oil")],
    )  # fmt: skip
    # Distinct words: a search asks whether a word occurs.
    assert alert_text(a).split() == ["title", "words", "moscow", "talks", "in", "on", "oil"]


def test_search_finds_arabic_variants_and_word_starts(tmp_path: Path) -> None:
    path = tmp_path / "alerts.sqlite"
    store(
        path,
        alert("ar", ARABIC_TITLE),
        alert("en", "Russian energy firms return to Iraq"),
        alert("other", "Egypt and China sign a port deal", countries=("CN", "EG")),
    )
    # Hamza, taa marbuta, shadda, the article: each spelled otherwise than in the title.
    assert found(path, query="الارهاب الحكومه الروسيّة") == ["ar"]
    assert found(path, query="والعراقي") == ["ar"]
    assert found(path, query="وزراء") == ["ar"]  # the title has الوزراء
    assert found(path, query="فالوزراء") == ["ar"]
    assert found(path, query="russia IRAQ") == ["en"]  # "russia" starts "Russian"
    assert found(path, query="russia egypt") == []  # every word must occur
    assert found(path, query='deal" OR "x') == []  # quotes and OR are not syntax
    assert found(path, query="port", country="EG") == ["other"]
    assert found(path, query="port", country="IQ") == []


def test_triage_survives_redelivery_and_filters(tmp_path: Path) -> None:
    path = tmp_path / "alerts.sqlite"
    first, second = alert("a1", "One"), alert("a2", "Two")
    store(path, first, second)
    db = connect(path)
    marked = set_triage(db, first.id, read=True, starred=True)
    assert marked is not None
    assert (marked.read, marked.starred) == (True, True)
    assert set_triage(db, "iraq-russia:nope", read=True) is None
    db.close()
    store(path, first.model_copy(update={"score": 9.0, "article_title": "One, updated"}))
    assert found(path, unread=True) == ["a2"]
    assert found(path, starred=True) == ["a1"]
    assert found(path, query="updated") == ["a1"]  # the search text follows the new title
    assert found(path, query="one") == ["a1"]
    (again,) = [s for s in find_alerts(path, AlertFilter()) if s.alert.id == first.id]
    assert (again.read, again.starred, again.alert.score) == (True, True, 9.0)
    db = connect(path)
    unmarked = set_triage(db, first.id, read=False)
    assert unmarked is not None
    assert (unmarked.read, unmarked.starred) == (False, True)
    db.close()


def test_cursor_pages_and_since(tmp_path: Path) -> None:
    path = tmp_path / "alerts.sqlite"
    store(
        path, *(alert(f"a{n}", f"Story {n}", created=NOW + timedelta(minutes=n)) for n in range(5))
    )
    db = connect(path)
    page = select_alerts(db, AlertFilter(), limit=2)
    assert [s.alert.article_id for s in page] == ["a4", "a3"]
    page = select_alerts(db, AlertFilter(), before=page[-1].cursor, limit=2)
    assert [s.alert.article_id for s in page] == ["a2", "a1"]
    page = select_alerts(db, AlertFilter(), before=page[-1].cursor, limit=2)
    assert [s.alert.article_id for s in page] == ["a0"]
    since = AlertFilter(since=NOW + timedelta(minutes=3))
    assert [s.alert.article_id for s in select_alerts(db, since)] == ["a4", "a3"]
    db.close()


def test_a_store_of_an_older_release_is_migrated_and_indexed(tmp_path: Path) -> None:
    path = tmp_path / "alerts.sqlite"
    old_store(path, alert("old", ARABIC_TITLE))
    assert found(path, query="الحكومه") == ["old"]
    assert found(path, unread=True) == ["old"]
    db = sqlite3.connect(path)
    assert db.execute("SELECT max(version) FROM schema_version").fetchone()[0] == len(MIGRATIONS)
    db.close()


def old_store(path: Path, *alerts: Alert) -> None:
    """A store as the release before search and triage left it."""
    old = sqlite3.connect(path)
    first = MIGRATIONS[0]
    assert isinstance(first, str)
    old.executescript(first)
    old.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    old.execute("INSERT INTO schema_version VALUES (1)")
    for a in alerts:
        old.execute(
            "INSERT INTO alerts (id, rule_id, rule_version, score, article_id, article_url,"
            " article_title, article_published, language, feed, countries, pairs, topics, record,"
            " created_at) VALUES (?, ?, 1, 1.0, ?, '', ?, ?, 'ar', '', '[]', '[]', '[]', ?, ?)",
            (a.id, a.rule_id, a.article_id, a.article_title, NOW.isoformat(), a.model_dump_json(),
             NOW.isoformat()),
        )  # fmt: skip
    old.commit()
    old.close()


def test_processes_starting_together_migrate_once(tmp_path: Path) -> None:
    # `newsradar up` starts the sinks and the dashboard at once: both open an older store.
    path = tmp_path / "alerts.sqlite"
    old_store(path, *(alert(f"a{n}", ARABIC_TITLE) for n in range(300)))
    opener = "from pathlib import Path; import sys; from sinks.sqlite import connect; connect(Path(sys.argv[1]))"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", opener, str(path)], cwd=REPO, stderr=subprocess.PIPE
        )
        for _ in range(3)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    db = sqlite3.connect(path)
    versions = [v for (v,) in db.execute("SELECT version FROM schema_version ORDER BY 1")]
    assert versions == list(range(1, len(MIGRATIONS) + 1))
    assert db.execute("SELECT count(*) FROM alerts_search").fetchone()[0] == 300
    db.close()


def test_filter_refuses_what_is_not_a_country() -> None:
    with pytest.raises(BadQuery, match="two-letter"):
        AlertFilter(country='I%"')
