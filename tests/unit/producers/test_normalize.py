"""Parsing and normalising real feeds (feedparser's and Miniflux's corpora) and built ones."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from producers.errors import PermanentFeedError
from producers.normalize import article_url, canonical_url, clean_text, html_to_text, parse_feed
from tests.conftest import shared_data_path
from tests.feedserver import rss

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def parse(body: bytes, **kw: object) -> list:  # type: ignore[type-arg]
    return parse_feed(body, feed_url="http://x/feed", fetched_at=NOW, **kw).articles  # type: ignore[arg-type]


def test_every_corpus_file_parses_or_is_refused_cleanly() -> None:
    root = shared_data_path("feeds")
    files = [p for p in sorted(root.rglob("*.xml")) if p.is_file()]
    assert len(files) > 1500
    articles = 0
    refused: list[str] = []
    for path in files:
        try:
            result = parse_feed(path.read_bytes(), feed_url=str(path), fetched_at=NOW)
        except PermanentFeedError as exc:
            refused.append(exc.error_class)
            continue
        for article in result.articles:
            assert len(article.id) == 64
            assert article.published.tzinfo is not None
            assert article.published <= NOW + timedelta(minutes=10)
        articles += len(result.articles)
    assert articles > 500
    assert set(refused) <= {"not_a_feed"}
    assert len(refused) < len(files) * 0.1


def test_bbc_urdu_feed_in_arabic_script() -> None:
    body = shared_data_path("feeds", "miniflux", "urdu_UTF8.xml").read_bytes()
    articles = parse(body)
    assert len(articles) == 26
    assert articles[0].language == "ur"
    assert articles[0].title.startswith("امریکی عسکری امداد")
    assert articles[0].url == "http://www.bbc.com/urdu/pakistan-42575603"


@pytest.mark.parametrize(
    ("name", "language", "fragment"),
    [
        ("encoding_WINDOWS-1251.xml", "ru", "Цитата"),
        ("encoding_ISO-8859-1.xml", "de", ""),
        ("no_encoding_ISO-8859-1.xml", "fr", "é"),
    ],
)
def test_declared_and_undeclared_legacy_encodings(name: str, language: str, fragment: str) -> None:
    articles = parse(shared_data_path("feeds", "miniflux", name).read_bytes())
    assert articles
    assert articles[0].language == language
    assert fragment in " ".join(a.title + a.content for a in articles)


def test_utf16_feeds() -> None:
    body = shared_data_path("feeds", "feedparser", "encoding", "utf-16le-bom.xml").read_bytes()
    assert parse_feed(body, feed_url="x", fetched_at=NOW).problem == ""
    assert parse(arabic_feed("utf-16", declare=True))[0].title == "العراق وروسيا يبحثان التعاون"


def arabic_feed(encoding: str, declare: bool) -> bytes:
    decl = f' encoding="{encoding}"' if declare else ""
    text = (
        f'<?xml version="1.0"{decl}?><rss version="2.0"><channel><title>أخبار</title>'
        "<item><title>العراق وروسيا يبحثان التعاون</title><link>https://example.org/1</link>"
        "<description>بحث رئيس الوزراء العراقي مع نائب رئيس الحكومة الروسية</description>"
        "</item></channel></rss>"
    )
    return text.encode(encoding)


def test_windows_1256_declared_and_from_http_header() -> None:
    declared = parse(arabic_feed("windows-1256", declare=True))
    assert declared[0].title == "العراق وروسيا يبحثان التعاون"
    undeclared = parse(
        arabic_feed("windows-1256", declare=False),
        response_headers={"content-type": "application/rss+xml; charset=windows-1256"},
    )
    assert undeclared[0].title == "العراق وروسيا يبحثان التعاون"
    assert undeclared[0].language == "ar"


def test_ids_urls_dates_and_missing_fields() -> None:
    body = rss(
        [
            {
                "title": "guid item",
                "guid": "g-1",
                "link": "https://e.org/a?utm_source=x&b=2&a=1",
                "pubDate": "Fri, 27 Nov 2026 08:00:00 +0300",
            },
            {"title": "link item", "link": "https://e.org/b#frag", "pubDate": "not a date"},
            {
                "description": "only text &lt;b&gt;bold&lt;/b&gt;",
                "pubDate": "Sat, 01 Jan 2050 00:00:00 GMT",
            },
            {"category": "nothing useful"},
        ]
    )
    result = parse_feed(body, feed_url="x", fetched_at=NOW)
    a, b, c = result.articles
    assert result.skipped == ["entry 3: no title, text or link"]
    assert a.url == "https://e.org/a?a=1&b=2"
    assert a.published == datetime(2026, 11, 27, 5, 0, tzinfo=UTC)
    assert not a.published_is_fetched
    assert b.url == "https://e.org/b"
    assert (b.published, b.published_is_fetched) == (NOW, True)  # unparsable
    assert (c.published, c.published_is_fetched) == (NOW, True)  # in the future
    assert c.content == "only text bold"
    assert len({a.id, b.id, c.id}) == 3
    # Ids are stable: the same entry gives the same id on every poll.
    assert parse_feed(body, feed_url="x", fetched_at=NOW).articles[0].id == a.id


def test_html_page_and_empty_feed() -> None:
    with pytest.raises(PermanentFeedError) as info:
        parse(b"<!doctype html><html><head><title>Home</title></head><body>Hi</body></html>")
    assert info.value.error_class == "not_a_feed"
    assert parse(rss([])) == []


def test_malformed_xml_is_read_as_far_as_possible_and_recorded() -> None:
    body = rss([{"title": "one", "link": "https://e.org/1"}]).replace(
        b"</channel></rss>", b"<item>"
    )
    result = parse_feed(body, feed_url="x", fetched_at=NOW)
    assert [a.title for a in result.articles][:1] == ["one"]
    assert result.problem


def test_entity_expansion_attack_is_harmless() -> None:
    lol = '<!ENTITY lol0 "lololololol">' + "".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    )
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rss [{lol}]><rss version="2.0"><channel><title>t</title>'
        "<item><title>&lol9;</title><link>https://e.org/x</link></item></channel></rss>"
    ).encode()
    started = time.monotonic()
    try:
        articles = parse(body)
    except PermanentFeedError:
        articles = []
    assert time.monotonic() - started < 5
    assert all(len(a.title) < 100_000 for a in articles)


def test_helpers() -> None:
    assert canonical_url("HTTPS://E.org/p?fbclid=1&utm_medium=m&id=3#x") == "https://e.org/p?id=3"
    assert html_to_text("<p>a &amp; b</p><p>c<br/>d</p>") == "a & b\nc\nd"


@pytest.mark.parametrize(
    "declaration",
    [b'<?xml version="1.0" encoding="\x80\x81"?>', b'<?xml version="1.0" encoding="utf\x008"?>'],
)
def test_a_broken_encoding_declaration_is_a_feed_error(declaration: bytes) -> None:
    """feedparser raises on these itself (found by the mutated-corpus property test)."""
    body = declaration + b"<rss version='2.0'><channel><title>t</title></channel></rss>"
    with pytest.raises(PermanentFeedError) as info:
        parse_feed(body, feed_url="http://x/f", fetched_at=datetime.now(UTC))
    assert info.value.error_class == "bad_encoding"


def test_feedparser_failing_on_an_element_is_a_feed_error() -> None:
    """feedparser raises TypeError on a podcast chapter with no start time (found by the
    mutated-corpus property test): an unreadable feed, not a crash."""
    body = (
        b'<rss version="2.0" xmlns:psc="http://podlove.org/simple-chapters"><channel>'
        b"<title>t</title><item><title>x</title><psc:chapters><psc:chapter title='a'/>"
        b"</psc:chapters></item></channel></rss>"
    )
    with pytest.raises(PermanentFeedError) as info:
        parse_feed(body, feed_url="http://x/f", fetched_at=datetime.now(UTC))
    assert info.value.error_class == "parser_error"
    assert "TypeError" in str(info.value)


def test_the_entry_categories_are_read() -> None:
    body = (
        b'<rss version="2.0"><channel><title>t</title><item><title>Iraq</title>'
        b"<category>Sport</category><category domain='x'>Football</category>"
        b"<category>Sport</category><link>http://a/b</link></item></channel></rss>"
    )
    (article,) = parse_feed(body, feed_url="http://x/f", fetched_at=datetime.now(UTC)).articles
    assert article.categories == ("Sport", "Football")


def test_clean_text_removes_what_no_stage_should_see_and_keeps_the_rest() -> None:
    kept = "Iraq\tand Russia\nالعراق وروسيا\u200f \U0001f600 \ufffd"
    assert clean_text(kept) == kept
    dirty = "a\x00b\x1bc\x7fd\x85e\x9bf\rg\ud800h\udfffi\ufffej\uffffk\x0bl"
    assert clean_text(dirty) == "abcdefghijkl"


@pytest.mark.parametrize(
    ("link", "url"),
    [
        ("https://e.org/a?utm_source=x&id=1", "https://e.org/a?id=1"),
        ("/news/1", "http://x/news/1"),
        ("//cdn.e.org/a", "http://cdn.e.org/a"),
        (" JAVASCRIPT:alert(1)", ""),
        ("java\x00script:alert(1)", ""),
        ("data:text/html,x", ""),
        ("mailto:a@e.org", ""),
        ("about:blank", ""),
        ("ftp://e.org/a", ""),
        ("http://e.org:99999/a", ""),
        ("http://[::1", ""),
        ("", ""),
    ],
)
def test_article_urls_are_absolute_http_or_empty(link: str, url: str) -> None:
    assert article_url(link, "http://x/feed") == url


def test_character_references_feedparser_cannot_take_are_replaced_not_fatal() -> None:
    refs = b"&#xD800;&#56320;&#x110000;&#99999999999;&#" + b"9" * 5000 + b";&#x41;&#27;&#0;"
    body = (
        b'<rss version="2.0"><channel><title>t</title><item><title>a'
        + refs
        + b"b</title><link>http://e.org/1</link></item></channel></rss>"
    )
    (article,) = parse(body)
    assert article.title == "a\ufffd\ufffd\ufffd\ufffd\ufffdAb"


def test_an_entry_without_an_http_link_keeps_a_stable_id() -> None:
    body = rss([{"title": "Click", "link": "javascript:alert(1)", "description": "Iraq"}])
    (first,) = parse(body)
    (again,) = parse(body)
    assert first.url == ""
    assert first.id == again.id
    (other,) = parse(rss([{"title": "Click", "link": "javascript:x()", "description": "Iraq"}]))
    assert other.id == first.id  # the same text, and no link of its own: the same article
