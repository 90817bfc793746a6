"""OPML in and out: what Miniflux, Feedly and Inoreader export reads as feeds with tags."""

from __future__ import annotations

import pytest

from producers.errors import FeedListError
from producers.feeds import FeedSpec
from producers.opml import parse_opml, to_opml

# As Miniflux exports: one folder level; Inoreader nests deeper and adds `category`.
EXPORTED = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>Miniflux</title></head>
  <body>
    <outline text="Iraq" title="Iraq">
      <outline title="Rudaw" text="Rudaw" xmlUrl="https://www.rudaw.net/arabic/rss"
               htmlUrl="https://www.rudaw.net" type="rss"/>
      <outline text="Gulf">
        <outline text="Al Jazeera" xmlUrl="https://www.aljazeera.com/xml/rss/all.xml"
                 category="breaking"/>
      </outline>
    </outline>
    <outline text="TASS" xmlUrl="https://tass.com/rss/v2.xml" type="rss"/>
    <outline text="Russia"><outline text="RT" xmlUrl="https://www.rudaw.net/arabic/rss"/></outline>
  </body>
</opml>
"""


def test_nested_outlines_become_feeds_and_their_folders_tags() -> None:
    feeds = parse_opml(EXPORTED, "export.opml")
    assert [(f.url, f.name, f.tags) for f in feeds] == [
        ("https://www.rudaw.net/arabic/rss", "Rudaw", ("Iraq", "Russia")),
        ("https://www.aljazeera.com/xml/rss/all.xml", "Al Jazeera", ("breaking", "Iraq/Gulf")),
        ("https://tass.com/rss/v2.xml", "TASS", ()),
    ]


def test_export_imports_back_to_the_same_feeds() -> None:
    feeds = [
        FeedSpec(url="https://a.example/rss?x=1&y=2", name='A <b> & "c"', tags=("iraq", "gulf/qa")),
        FeedSpec(url="https://b.example/atom", tags=("iraq",)),
        FeedSpec(url="http://c.example:8080/feed"),
    ]
    text = to_opml(feeds)
    assert parse_opml(text, "round.opml") == feeds
    assert '<outline text="iraq"' in text  # grouped by first tag, as feed readers do


def test_a_bad_outline_is_named_with_the_fix() -> None:
    text = (
        b'<opml version="2.0"><body><outline text="x" xmlUrl="file:///etc/passwd"/></body></opml>'
    )
    with pytest.raises(FeedListError) as err:
        parse_opml(text, "bad.opml")
    assert str(err.value) == (
        "bad.opml: outline 1 (file:///etc/passwd): url: scheme 'file' is not allowed; "
        "use http or https"
    )


def test_a_file_that_is_not_opml_is_refused() -> None:
    with pytest.raises(FeedListError, match=r"^x.opml: not an OPML document"):
        parse_opml(b"<html><body>no</body></html>", "x.opml")


def test_text_that_looks_like_a_url_is_read_as_a_document_not_fetched() -> None:
    # listparser fetches a str starting with http(s):// as a URL; parse_opml never lets it.
    with pytest.raises(FeedListError, match=r"^u.opml: not an OPML document"):
        parse_opml("http://127.0.0.1:9/feeds.opml", "u.opml")


def test_a_feed_in_two_folders_is_one_feed_with_both_tags() -> None:
    text = (
        '<opml version="2.0"><body>'
        '<outline text="iraq"><outline text="A" xmlUrl="https://a.example/rss"/></outline>'
        '<outline text="energy"><outline text="A" xmlUrl="https://a.example/rss"/></outline>'
        "</body></opml>"
    )
    (feed,) = parse_opml(text, "two.opml")
    assert (feed.url, feed.name, feed.tags) == ("https://a.example/rss", "A", ("iraq", "energy"))
