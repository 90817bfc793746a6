"""OPML feed lists, as Miniflux, Feedly and Inoreader export them, in and out.

Import reads with ``listparser``: every outline with an ``xmlUrl`` at any depth is a feed, its
title its name, and its categories (the outlines it is nested in, and its ``category``
attribute) become its tags, a nested path joined with ``/``. Export writes one folder outline
per first tag (as those readers do) with every tag in the ``category`` attribute, so an export
imports back to the same URLs, names and tags. OPML has no place for language, country or poll
interval: they do not travel through it.
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import quoteattr

import listparser
from pydantic import ValidationError

from producers.errors import FeedListError
from producers.feeds import FeedSpec


def parse_opml(text: bytes | str, source: str) -> list[FeedSpec]:
    """The feeds of an OPML document; :class:`FeedListError` naming every bad one."""
    # Always bytes: listparser fetches a str that starts with http(s):// as a URL.
    result = listparser.parse(text.encode("utf-8") if isinstance(text, str) else text)
    if not result.get("version"):
        raise FeedListError(f"{source}: not an OPML document (no <opml> root element)")
    # The same feed in two folders is one feed with both folders' tags.
    tags_of: dict[str, list[str]] = {}
    for entry in result["feeds"]:
        tags = tags_of.setdefault(str(entry.get("url", "")).strip(), [])
        for path in entry.get("categories", []):
            tag = "/".join(p.strip() for p in path if p.strip())
            if tag and tag not in tags:
                tags.append(tag)
    feeds: list[FeedSpec] = []
    problems: list[str] = []
    seen: set[str] = set()
    for i, entry in enumerate(result["feeds"]):
        url = str(entry.get("url", "")).strip()
        if url in seen:
            continue
        tags = tags_of[url]
        seen.add(url)
        name = str(entry.get("title", "")).strip()
        try:
            feeds.append(FeedSpec(url=url, name=name if name != url else "", tags=tuple(tags)))
        except ValidationError as exc:
            for err in exc.errors():
                loc = ".".join(str(p) for p in err["loc"])
                msg = err["msg"].removeprefix("Value error, ")
                problems.append(f"{source}: outline {i + 1} ({url or 'no xmlUrl'}): {loc}: {msg}")
    if problems:
        raise FeedListError("\n".join(problems))
    return feeds


def to_opml(feeds: Sequence[FeedSpec], title: str = "newsradar feeds") -> str:
    """An OPML 2.0 document of ``feeds``, grouped in folders by first tag."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        f"  <head><title>{_text(title)}</title></head>",
        "  <body>",
    ]
    folders: dict[str, list[FeedSpec]] = {}
    for feed in feeds:
        folders.setdefault(feed.tags[0] if feed.tags else "", []).append(feed)
    for folder, members in folders.items():
        indent = "    "
        if folder:
            lines.append(f"    <outline text={quoteattr(folder)} title={quoteattr(folder)}>")
            indent = "      "
        for feed in members:
            attrs = f'type="rss" text={quoteattr(feed.label)} title={quoteattr(feed.label)}'
            attrs += f" xmlUrl={quoteattr(feed.url)}"
            if feed.tags:
                attrs += f" category={quoteattr(','.join(_category(t) for t in feed.tags))}"
            lines.append(f"{indent}<outline {attrs}/>")
        if folder:
            lines.append("    </outline>")
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines)


def _category(tag: str) -> str:
    # OPML 2.0: a category with a slash is a path and starts with one; a plain tag has none.
    return f"/{tag}" if "/" in tag else tag


def _text(value: str) -> str:
    return quoteattr(value)[1:-1]
