"""Stories in memory: the similarity of two articles, and the story book's assignments."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsradar.schemas import Alert, Article, alert_id, decode, encode
from processors.classify import ArticleText, Engine
from processors.errors import DataFileError
from processors.stories import (
    Signature,
    Signer,
    Stories,
    StoryBook,
    StoryCandidate,
    StoryModel,
    candidate,
    default_model,
    entities_of,
    outlet_of,
)

HOUR = 3600.0
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC).timestamp()

AGENCY = (
    "Iraqi Foreign Minister Fuad Hussein met his Russian counterpart Sergei Lavrov in Moscow on "
    "Monday to discuss expanding trade and energy cooperation between Baghdad and Moscow. The two "
    "ministers agreed to convene the joint intergovernmental commission before the summer and to "
    "speed up projects of Russian oil companies in southern Iraq, the Iraqi ministry said."
)
AGENCY_AR = (
    "التقى وزير الخارجية العراقي فؤاد حسين نظيره الروسي سيرغي لافروف في موسكو يوم الاثنين لبحث "
    "توسيع التعاون التجاري وفي مجال الطاقة بين بغداد وموسكو. واتفق الوزيران على عقد اجتماع "
    "اللجنة الحكومية المشتركة قبل الصيف وتسريع مشاريع شركات النفط الروسية في جنوب العراق."
)


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer()


def signed(
    signer: Signer,
    engine: Engine,
    title: str,
    content: str,
    *,
    language: str = "en",
    hours: float = 0.0,
) -> Signature:
    text = ArticleText(id=title, title=title, content=content, language=language)
    result = engine.classify(text)
    return signer.sign(
        title=title,
        summary="",
        content=content,
        language=result.language,
        published=T0 + hours * HOUR,
        entities=entities_of(result),
    )


# --- similarity ----------------------------------------------------------------------------------


def test_republished_copy_is_a_near_duplicate_and_unrelated_news_is_not(
    signer: Signer, engine: Engine
) -> None:
    original = signed(signer, engine, "Iraq and Russia agree to expand trade", AGENCY)
    copy = signed(
        signer,
        engine,
        "Iraq, Russia agree to expand trade and energy ties",
        AGENCY + " Reporting by our correspondent.",
        hours=2,
    )
    other = signed(
        signer,
        engine,
        "Floods hit northern Italy",
        "Heavy rain flooded towns in Emilia-Romagna on Tuesday and thousands left their homes.",
        hours=1,
    )
    assert signer.similarity(original, copy) > 1.5  # the duplicate test, not word overlap
    assert signer.similarity(original, other) == 0.0
    assert signer.similarity(copy, other) == 0.0


def test_minhash_estimates_jaccard_of_shingles(signer: Signer) -> None:
    words = [f"w{i}" for i in range(120)]
    half = words[:60] + [f"x{i}" for i in range(60)]
    a, b, c = (signer.minhash(" ".join(w)) for w in (words, list(words), half))
    same = sum(x == y for x, y in zip(a, b, strict=True)) / len(a)
    partial = sum(x == y for x, y in zip(a, c, strict=True)) / len(a)
    assert same == 1.0
    assert 0.1 < partial < 0.5  # true Jaccard of the 3-shingles: 58 / 178 = 0.33


def test_the_same_meeting_in_arabic_and_english_is_one_story_by_its_entities(
    signer: Signer, engine: Engine
) -> None:
    english = signed(signer, engine, "Iraqi foreign minister holds talks in Moscow", AGENCY)
    arabic = signed(
        signer,
        engine,
        "وزير الخارجية العراقي يبحث في موسكو توسيع التعاون مع روسيا",
        AGENCY_AR,
        language="ar",
        hours=2,
    )
    assert {"P:sergei-lavrov", "C:IQ", "C:RU", "L:msk", "L:bgd"} <= english.entities
    assert {"P:sergei-lavrov", "C:IQ", "C:RU", "L:msk", "L:bgd"} <= arabic.entities
    assert signer.similarity(english, arabic) > 0
    # The same entities three days later are another story: across languages only text
    # published close together is compared.
    later = signed(
        signer, engine, "وزير الخارجية العراقي يبحث في موسكو", AGENCY_AR, language="ar", hours=72
    )
    assert signer.similarity(english, later) == 0.0


def test_another_event_between_the_same_countries_in_another_language_is_not_the_story(
    signer: Signer, engine: Engine
) -> None:
    meeting = signed(signer, engine, "Iraqi foreign minister holds talks in Moscow", AGENCY)
    tanks = signed(
        signer,
        engine,
        "العراق يتسلم دفعة جديدة من دبابات تي-90 الروسية",
        "أعلنت وزارة الدفاع العراقية تسلم دفعة جديدة من دبابات تي-90 الروسية في ميناء أم قصر "
        "بالبصرة، ضمن عقد وقعته بغداد مع موسكو.",
        language="ar",
        hours=3,
    )
    assert signer.similarity(meeting, tanks) == 0.0


def test_consonant_skeletons_agree_across_scripts() -> None:
    model = default_model()
    for arabic, english in [
        ("كركوك", "kirkuk"),
        ("بغداد", "baghdad"),
        ("البصره", "basra"),
        ("اربيل", "erbil"),
        ("طهران", "tehran"),
        ("الكرملين", "kremlin"),
    ]:
        assert model.skeleton(arabic) == model.skeleton(english), (arabic, english)
    assert model.skeleton("baghdad") != model.skeleton("basra")


def test_signatures_survive_json(signer: Signer, engine: Engine) -> None:
    sig = signed(signer, engine, "Iraqi foreign minister holds talks in Moscow", AGENCY)
    assert Signature.from_json(json.loads(json.dumps(sig.to_json()))) == sig


def test_the_shipped_model_reads_its_data_file_and_a_bad_one_is_named(tmp_path: Path) -> None:
    model = StoryModel.load()
    assert model.num_perm == 64
    assert {"the", "هذه"} <= model.stopwords
    bad = tmp_path / "stories.yaml"
    bad.write_text("minhash: {num_perm: 64}\n", encoding="utf-8")
    with pytest.raises(DataFileError, match="stories.yaml: story model needs"):
        StoryModel.load(bad)


def test_outlet_is_the_feed_host() -> None:
    assert outlet_of("https://www.bbc.co.uk/arabic/rss.xml") == "bbc.co.uk"
    assert outlet_of("", "https://arabic.cnn.com/x") == "arabic.cnn.com"
    assert outlet_of("feeds/local.xml") == "feeds/local.xml"


# --- the story book ------------------------------------------------------------------------------


def sig(words: str, *, hours: float = 0.0, language: str = "en", entities: str = "") -> Signature:
    """A hand-made signature: ``words`` are the key words; the MinHash is of them too."""
    return Signature(
        Signer().minhash(words) if words else (),
        frozenset(words.split()),
        frozenset(entities.split()),
        language,
        T0 + hours * HOUR,
    )


STORY = "lavrov meets iraqi minister moscow trade energy"


def test_first_article_is_new_and_later_copies_update_it_from_other_outlets(
    signer: Signer,
) -> None:
    book = StoryBook(signer)
    first = book.assign("a1", sig(STORY), story_id="s-a1", score=1.2, outlet="bbc.co.uk")
    second = book.assign(
        "a2", sig(STORY, hours=1), story_id="s-a2", score=1.3, outlet="cnn.com", escalate_at=2.4
    )
    third = book.assign(
        "a3",
        sig(STORY, hours=2, language="ar"),
        story_id="s-a3",
        score=1.1,
        outlet="aljazeera.net",
    )
    assert (first.story_id, first.role, first.articles) == ("s-a1", "new", 1)
    assert (second.story_id, second.role, second.articles) == ("s-a1", "update", 2)
    assert (third.story_id, third.role, third.articles) == ("s-a1", "update", 3)
    assert third.outlets == ("bbc.co.uk", "cnn.com", "aljazeera.net")
    assert third.languages == ("en", "ar")
    assert [first.pushes, second.pushes, third.pushes] == [True, False, False]
    other = book.assign("b1", sig("flood rain italy towns homes"), story_id="s-b1")
    assert (other.story_id, other.role) == ("s-b1", "new")


def test_a_score_past_the_escalation_score_pushes_once_more(signer: Signer) -> None:
    book = StoryBook(signer)
    book.assign("a1", sig(STORY), story_id="s1", score=1.2, escalate_at=2.4)
    assert book.assign("a2", sig(STORY), story_id="s2", score=2.0, escalate_at=2.4).role == (
        "update"
    )
    assert book.assign("a3", sig(STORY), story_id="s3", score=2.5, escalate_at=2.4).role == (
        "escalated"
    )
    assert book.assign("a4", sig(STORY), story_id="s4", score=3.0, escalate_at=2.4).role == (
        "update"
    )
    # A story that opened above it does not escalate.
    fresh = StoryBook(signer)
    fresh.assign("b1", sig(STORY), story_id="t1", score=3.0, escalate_at=2.4)
    assert fresh.assign("b2", sig(STORY), story_id="t2", score=3.5, escalate_at=2.4).role == (
        "update"
    )


def test_an_article_placed_again_gets_its_recorded_story_and_role(signer: Signer) -> None:
    book = StoryBook(signer)
    book.assign("a1", sig(STORY), story_id="s1")
    book.assign("a2", sig(STORY), story_id="s2")
    again = book.assign("a1", sig("anything else entirely now"), story_id="s-other")
    assert (again.story_id, again.role, again.articles) == ("s1", "new", 2)
    assert book.assign("a2", sig(STORY), story_id="s2").role == "update"
    assert [len(s.articles) for s in book.stories] == [2]


def test_the_window_bounds_what_joins_and_what_is_remembered(signer: Signer) -> None:
    book = StoryBook(signer, window_seconds=48 * HOUR)
    book.assign("a1", sig(STORY), story_id="s1")
    assert book.assign("a2", sig(STORY, hours=47), story_id="s2").story_id == "s1"
    # 47 h after the story's last article still joins; then nothing for 50 h: forgotten.
    assert book.assign("a3", sig(STORY, hours=94), story_id="s3").story_id == "s1"
    late = book.assign("a4", sig(STORY, hours=150), story_id="s4")
    assert (late.story_id, late.role) == ("s4", "new")
    assert [s.id for s in book.stories] == ["s4"]


def test_the_book_keeps_at_most_max_stories(signer: Signer) -> None:
    book = StoryBook(signer, max_stories=3)
    for i in range(5):
        book.assign(f"a{i}", sig(f"topic{i} alpha{i} beta{i} gamma{i}", hours=i), story_id=f"s{i}")
    assert [s.id for s in book.stories] == ["s2", "s3", "s4"]


def test_the_book_survives_json_and_goes_on_as_before(signer: Signer) -> None:
    book = StoryBook(signer)
    book.assign("a1", sig(STORY), story_id="s1", outlet="bbc.co.uk")
    restored = StoryBook.from_json(json.loads(json.dumps(book.to_json())), signer)
    placed = restored.assign("a2", sig(STORY, hours=1), story_id="s2", outlet="cnn.com")
    assert (placed.story_id, placed.role, placed.articles) == ("s1", "update", 2)
    assert placed.outlets == ("bbc.co.uk", "cnn.com")


# --- what the story agent does with its table ----------------------------------------------------


def _article(i: int, feed: str) -> Article:
    now = datetime(2026, 3, 2, 9, i, tzinfo=UTC)
    return Article(
        id=f"art-{i}",
        title="Lavrov and Iraqi foreign minister discuss arms and energy deals in Moscow",
        content=AGENCY,
        language="en",
        published=now,
        fetched_at=now,
        feed=feed,
    )


def test_candidates_through_the_table_give_one_push_and_one_story(
    engine: Engine, signer: Signer
) -> None:
    stories = Stories(signer, window_seconds=48 * HOUR)
    table: dict[bytes, bytes] = {}
    placed: list[Alert] = []
    for i, feed in enumerate(("https://a.example/rss", "https://b.example/rss", "https://c.test/")):
        article = _article(i, feed)
        result = engine.classify(ArticleText.of(article))
        (alert,) = engine.alerts(article, result)
        item = candidate(signer, article, result, alert, escalate_at=None)
        # The candidate crosses Kafka as JSON.
        item = decode(type(item), encode(item))
        placed.append(stories.place(table, item))
        if i == 1:  # a restart: the agent's memory is gone, only the table is left
            stories = Stories(Signer(), window_seconds=48 * HOUR)
    first = alert_id("iraq-russia", "art-0")
    assert [a.story_id for a in placed] == [first] * 3
    assert [a.story_role for a in placed] == ["new", "update", "update"]
    assert [a.story_articles for a in placed] == [1, 2, 3]
    assert placed[-1].story_outlets == ("a.example", "b.example", "c.test")
    assert [a.pushes for a in placed] == [True, False, False]
    assert placed[-1].reported_by() == "3 articles from 3 outlets, in English"
    assert [a.id for a in placed] == [alert_id("iraq-russia", f"art-{i}") for i in range(3)]
    # One entry per story and the rule's write count: a placement rewrites one story.
    assert sorted(table) == [b"iraq-russia\x00", b"iraq-russia\x00" + first.encode()]
    assert table[b"iraq-russia\x00"] == b"3"


def test_a_forgotten_story_leaves_the_table_and_a_stale_cache_is_read_again(
    signer: Signer,
) -> None:
    stories = Stories(signer, window_seconds=48 * HOUR)
    table: dict[bytes, bytes] = {}

    def item(i: int, days: float, title: str) -> StoryCandidate:
        published = datetime.fromtimestamp(T0 + days * 86400, UTC)
        alert = Alert(
            id=alert_id("r", f"a{i}"),
            rule_id="r",
            article_id=f"a{i}",
            article_title=title,
            article_published=published,
        )
        signature = signer.sign(
            title=title,
            summary="",
            content="",
            language="en",
            published=published.timestamp(),
            entities=(),
        )
        return StoryCandidate(alert=alert, signature=signature.to_json())

    first = stories.place(table, item(1, 0, "alpha beta gamma delta epsilon"))
    other = Stories(signer, window_seconds=48 * HOUR)  # another worker, same table
    assert other.place(table, item(2, 0.1, "alpha beta gamma delta epsilon")).story_id == (
        first.story_id
    )
    # This agent's cached book is stale now: it reads the table again.
    third = stories.place(table, item(3, 0.2, "alpha beta gamma delta epsilon"))
    assert (third.story_id, third.story_articles) == (first.story_id, 3)
    later = stories.place(table, item(4, 5, "zeta eta theta iota kappa"))
    assert later.story_role == "new"
    assert sorted(table) == [b"r\x00", b"r\x00" + later.story_id.encode()]


def test_rewrites_must_be_close_in_time_and_titles_must_count_alike(
    signer: Signer, engine: Engine
) -> None:
    lead = "Lukoil signed a contract with the Iraqi oil ministry on Tuesday to develop the field."
    qurna = signed(signer, engine, "Lukoil signs deal for West Qurna 2 field in Iraq", lead)
    rewrite = signed(
        signer,
        engine,
        "Lukoil signs West Qurna 2 deal with Iraq",
        lead + " Talks took a year.",
        hours=2,
    )
    assert signer.similarity(qurna, rewrite) > 0
    # The same words a day later: a follow-up, not the same write-up.
    next_day = signed(
        signer,
        engine,
        "Lukoil signs West Qurna 2 deal with Iraq",
        lead + " Talks took a year.",
        hours=26,
    )
    assert signer.similarity(qurna, next_day) == 0.0
    # Another contract the same day: its title counts differently.
    block = signed(
        signer,
        engine,
        "Lukoil signs deal for Block 10 field in Iraq",
        lead.replace("the", "a"),
        hours=1,
    )
    assert "#10" in block.title_words
    assert signer.similarity(qurna, block) == 0.0


def test_a_story_told_many_times_stays_small_and_still_knows_its_first_article(
    signer: Signer,
) -> None:
    book = StoryBook(signer)
    for i in range(250):
        placed = book.assign(f"a{i}", sig(STORY, hours=i / 100), story_id=f"s{i}")
    assert (placed.story_id, placed.role, placed.articles) == ("s0", "update", 250)
    (story,) = book.stories
    assert len(story.articles) == 100
    assert len(story.members) == 4
    assert book.assign("a0", sig(STORY), story_id="s0").role == "new"  # redelivered
    assert book.assign("a249", sig(STORY), story_id="s249").role == "update"
    assert len(json.dumps(book.to_json())) < 20_000
