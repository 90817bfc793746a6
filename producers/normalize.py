"""Turn a fetched feed into Article records: parse with feedparser, normalise every entry.

- text is cleaned once, here, for every stage after: control characters other than tab and
  newline (NUL, ESC, the rest of C0 and C1, DEL), lone surrogates and the two non-characters
  XML forbids are removed from every string the feed gave (title, summary, content,
  content_html, authors, categories, link, feed title, language);
- id: the entry's guid, else its canonical link, else a hash of its title and text; hashed to
  a fixed-length ``sha256`` hex so ids from any feed are safe Kafka keys;
- url: an absolute http(s) URL (relative links resolved against the feed's address; any other
  scheme, ``javascript:``, ``data:`` and the like, gives an empty url), canonical (tracking
  parameters such as ``utm_*``, ``fbclid`` removed; query sorted; fragment dropped);
- title, summary, content: HTML stripped to text for matching; the original HTML is kept in
  ``content_html``;
- published: the entry's date in UTC; missing, unparsable or in the future: the fetch time,
  with ``published_is_fetched`` set;
- language: the feed list's hint, else the feed's or entry's xml:lang, else detection.
"""

from __future__ import annotations

import calendar
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import feedparser
from w3lib.html import remove_tags, replace_entities

from newsradar.language import detect
from newsradar.schemas import Article
from producers.errors import PermanentFeedError
from producers.feeds import url_problem

TRACKING_PARAMS = re.compile(
    r"^(utm_\w+|fbclid|gclid|dclid|mc_cid|mc_eid|igshid|yclid|_hsenc|_hsmi)$"
)
FUTURE_TOLERANCE = timedelta(minutes=10)
_SPACE = re.compile(r"\s+")
_UNWANTED = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
"""Control characters but tab and newline, lone surrogates, and the non-characters XML
forbids: nothing a reader needs, and each breaks a later stage (PostgreSQL refuses NUL,
Atom XML refuses the C0 controls, ESC drives terminals, a surrogate cannot be encoded)."""
_CHAR_REF = re.compile(rb"&#(?:[xX]([0-9a-fA-F]+)|([0-9]+));")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")


@dataclass
class ParsedFeed:
    """What one feed body gave: articles, and the problems feedparser recorded."""

    articles: list[Article]
    title: str = ""
    problem: str = ""
    """Non-empty when the feed was ill-formed but read as far as possible (bozo)."""
    ttl_seconds: float | None = None
    skipped: list[str] = field(default_factory=list)


def canonical_url(url: str) -> str:
    """``url`` with tracking parameters removed, query sorted, fragment dropped, scheme and
    host lower-cased: one story, one URL, whichever feed or campaign it came through."""
    if not url:
        return ""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return url
    query = parts.query
    if query:
        pairs = [
            (k, v)
            for k, v in parse_qsl(query, keep_blank_values=True)
            if not TRACKING_PARAMS.match(k)
        ]
        query = urlencode(sorted(pairs)) if len(pairs) > 1 else urlencode(pairs)
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", query, ""))


def clean_text(text: str) -> str:
    """``text`` without the characters no stage should see (see ``_UNWANTED``)."""
    return _UNWANTED.sub("", text)


def article_url(link: str, feed_url: str) -> str:
    """The entry's link as a canonical absolute http(s) URL, or "" for anything else
    (``javascript:``, ``data:``, ``mailto:``, a bad port): no stage after may link to it."""
    link = clean_text(link).strip()
    if not link:
        return ""
    try:
        absolute = urljoin(feed_url, link) if url_problem(feed_url) is None else link
    except ValueError:
        return ""
    if url_problem(absolute) is not None:
        return ""
    return canonical_url(absolute)


def html_to_text(html: str) -> str:
    if not html:
        return ""
    if "<" not in html and "&" not in html:  # plain text (most titles): no markup to strip
        return "\n".join(_SPACE.sub(" ", ln).strip() for ln in html.splitlines() if ln.strip())
    text = replace_entities(remove_tags(html.replace("<br", "\n<br").replace("</p>", "</p>\n")))
    return "\n".join(_SPACE.sub(" ", line).strip() for line in text.splitlines() if line.strip())


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()


def _published(entry: Any, fetched_at: datetime) -> tuple[datetime, bool]:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        # dict.get: FeedParserDict's own lookup maps updated -> published with a warning.
        parsed = dict.get(entry, key)
        if parsed:
            try:
                when = datetime.fromtimestamp(calendar.timegm(parsed), UTC)
            except (OverflowError, ValueError, OSError):
                continue
            if when <= fetched_at + FUTURE_TOLERANCE:
                return when, False
            return fetched_at, True
    return fetched_at, True


def _entry_language(entry: Any, feed_language: str, hint: str, text: str) -> str:
    for candidate in (hint, _content_language(entry), feed_language):
        code = candidate.strip().lower().replace("_", "-").split("-")[0]
        if _LANGUAGE.match(code):  # a language tag, not whatever a feed put in xml:lang
            return code
    return detect(text[:2000]) if text.strip() else ""


def _content_language(entry: Any) -> str:
    for detail in ("title_detail", "summary_detail"):
        language = (dict.get(entry, detail) or {}).get("language")
        if language:
            return str(language)
    for content in dict.get(entry, "content") or []:
        if content.get("language"):
            return str(content["language"])
    return ""


def parse_feed(
    body: bytes | str,
    *,
    feed_url: str,
    fetched_at: datetime,
    feed_name: str = "",
    language_hint: str = "",
    source_country: str = "",
    tags: Iterable[str] = (),
    response_headers: dict[str, str] | None = None,
) -> ParsedFeed:
    """Parse one feed body into Articles; raise PermanentFeedError when it is not a feed."""
    if isinstance(body, bytes) and b"&#" in body:
        body = _CHAR_REF.sub(_usable_char_ref, body)
    try:
        parsed = feedparser.parse(
            body, response_headers=response_headers or {}, sanitize_html=False
        )
    except (UnicodeError, ValueError, LookupError) as broken:
        # feedparser itself fails on some broken encoding declarations (bytes that are not
        # UTF-8 in `<?xml encoding=...?>`, a NUL in the encoding name).
        raise PermanentFeedError(
            "not a readable feed: its encoding declaration is broken "
            f"({type(broken).__name__}: {broken})",
            error_class="bad_encoding",
        ) from None
    except Exception as broken:
        # feedparser raises on some elements it half-knows (a podcast chapter without its
        # start time: TypeError); such a feed is unreadable, not a crash of the producer.
        raise PermanentFeedError(
            f"not a readable feed: feedparser failed on it ({type(broken).__name__}: {broken})",
            error_class="parser_error",
        ) from None
    entries = parsed.get("entries") or []
    problem = ""
    if parsed.get("bozo"):
        exc = parsed.get("bozo_exception")
        problem = clean_text(f"{type(exc).__name__}: {exc}" if exc else "ill-formed feed")
    version = parsed.get("version", "")
    if not entries and not version:
        raise PermanentFeedError(
            f"not an RSS/Atom/RDF feed ({problem or 'no feed elements found'})",
            error_class="not_a_feed",
        )
    feed_meta = parsed.get("feed") or {}
    feed_title = clean_text(str(feed_meta.get("title") or ""))
    feed_language = str(feed_meta.get("language") or "")
    ttl = None
    try:
        ttl = float(feed_meta["ttl"]) * 60 if feed_meta.get("ttl") else None
    except (TypeError, ValueError):
        ttl = None
    articles: list[Article] = []
    skipped: list[str] = []
    for index, entry in enumerate(entries):
        # Cleaned after HTML is stripped too: an entity (&#27;) can stand for a control.
        title = clean_text(html_to_text(_text(entry, "title")))
        summary_html = _text(entry, "summary")
        contents = dict.get(entry, "content") or []
        content_html = clean_text("\n".join(str(c.get("value") or "") for c in contents))
        summary = clean_text(html_to_text(summary_html))
        content = clean_text(html_to_text(content_html)) or summary
        link = article_url(str(dict.get(entry, "link") or ""), feed_url)
        guid = str(dict.get(entry, "id") or "")  # only hashed into the id
        if not (title or summary or content or link):
            skipped.append(f"entry {index}: no title, text or link")
            continue
        identity = (
            f"guid:{guid}" if guid else (f"link:{link}" if link else f"text:{title}\n{content}")
        )
        published, is_fetched = _published(entry, fetched_at)
        authors = _authors(entry)
        articles.append(
            Article(
                id=_digest(identity),
                url=link,
                title=title,
                summary=summary,
                content=content,
                content_html=content_html or summary_html,
                authors=authors,
                language=_entry_language(
                    entry, feed_language, language_hint, f"{title}\n{content}"
                ),
                published=published,
                published_is_fetched=is_fetched,
                fetched_at=fetched_at,
                feed=feed_url,
                feed_name=feed_name or feed_title,
                source_country=source_country,
                tags=tuple(tags),
                categories=_categories(entry),
            )
        )
    return ParsedFeed(articles, feed_title, problem, ttl, skipped)


def _usable_char_ref(ref: re.Match[bytes]) -> bytes:
    """A character reference, or U+FFFD's for one to a surrogate or beyond U+10FFFF:
    feedparser's loose parser raises on those, and the whole feed would be lost."""
    hexadecimal, decimal = ref.groups()
    digits = (hexadecimal or decimal).lstrip(b"0")
    if len(digits) > 8:  # far beyond U+10FFFF (and int() refuses thousands of digits)
        return b"&#xFFFD;"
    code = int(digits or b"0", 16 if hexadecimal else 10)
    return b"&#xFFFD;" if 0xD800 <= code <= 0xDFFF or code > 0x10FFFF else ref.group()


def _authors(entry: Any) -> tuple[str, ...]:
    names = (clean_text(str(a.get("name") or "")) for a in dict.get(entry, "authors") or [])
    return tuple(name for name in names if name) or (
        (_text(entry, "author"),) if _text(entry, "author") else ()
    )


def _text(entry: Any, key: str) -> str:
    # dict.get: FeedParserDict's own lookup maps some keys to others, with a warning.
    return clean_text(str(dict.get(entry, key) or ""))


def _categories(entry: Any) -> tuple[str, ...]:
    """The entry's own categories (RSS ``<category>``, Atom ``category`` term or label), each
    once, at most 20 of at most 100 characters."""
    out: dict[str, None] = {}
    for tag in dict.get(entry, "tags") or []:
        value = (tag.get("term") or tag.get("label") or "") if isinstance(tag, dict) else ""
        text = " ".join(clean_text(str(value)).split())[:100]
        if text:
            out[text] = None
    return tuple(out)[:20]


def content_hash(article: Article) -> str:
    """What identifies an article's content, to tell a changed article from a repeated one."""
    return _digest(f"{article.title}\n{article.summary}\n{article.content}")
