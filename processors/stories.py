"""Stories: which earlier article an article retells, so that a story alerts once.

Two parts, both plain Python the faust agents, ``newsradar classify`` and the benchmark share:

- :class:`Signer` makes an article's :class:`Signature` from its text and what the engine
  extracted: a MinHash (``datasketch``) of its word 3-shingles for near-duplicate text, the key
  words of its title and lead for independent write-ups in one language, and its entities
  (countries, gazetteer people, places and institutions, topics) for write-ups in another
  language. :meth:`Signer.similarity` decides on two signatures, with the thresholds of
  ``processors/data/stories.yaml``.
- :class:`StoryBook` holds the recent stories of one rule and assigns each article to one of them
  or to a new one: the first article of a story is its ``new`` push, a later one an ``update``,
  unless its score rises past the rule's escalation score (``escalated``, pushed again). The book
  is bounded by the window (a story no article joined for ``window_seconds`` is forgotten) and
  by ``max_stories``; it serialises to JSON so the processors keep it in a faust table whose
  changelog survives restarts and rebalances. Assigning an article already in the book gives its
  recorded assignment again: a redelivered candidate changes nothing.
"""

from __future__ import annotations

import base64
import json
import re
import zlib
from collections.abc import Iterable, MutableMapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

import numpy as np
from datasketch import MinHash

from newsradar.schemas import Alert, Article, Record
from processors.errors import DataFileError
from processors.normalize import FIELD_SEPARATOR, word_fold
from processors.terms import load_yaml

Role = Literal["new", "escalated", "update"]
_PLACE_SENSES = frozenset({"city", "capital", "institution", "company"})
_ARABIC_LETTER = re.compile(r"[\u0600-\u06ff]")
_ARABIC_PREFIXES = ("وال", "بال", "فال", "كال", "لل", "ال")
_MIX_A = np.uint64(0x9E3779B1)
_MIX_B = np.uint64(0x85EBCA77)
_LOW32 = np.uint64(0xFFFFFFFF)


@dataclass(frozen=True)
class StoryModel:
    """The thresholds and word lists of ``processors/data/stories.yaml``."""

    num_perm: int = 64
    seed: int = 1
    shingle_words: int = 100
    duplicate_min: float = 0.5
    rewrite_min_shared: int = 3
    rewrite_lead: tuple[tuple[float, float], ...] = ((6 * 3600.0, 0.55), (12 * 3600.0, 0.7))
    """(within seconds, least overlap) of the key words of title and lead."""
    rewrite_title: tuple[float, float] = (6 * 3600.0, 0.6)
    """(within seconds, least overlap) of the key words of the titles alone."""
    across_min_countries: int = 1
    across_min_jaccard: float = 0.5
    across_within_seconds: float = 24 * 3600.0
    stopwords: frozenset[str] = frozenset()
    skeleton_ar: dict[str, str] = field(default_factory=dict)
    skeleton_en: dict[str, str] = field(default_factory=dict)
    digraphs_en: dict[str, str] = field(default_factory=dict)

    def skeleton(self, name: str) -> str:
        """The consonant skeleton of a folded place or institution name (see the data file),
        the same for its Arabic and its English spelling more often than not."""
        words = []
        for written in name.split():
            word = written
            if _ARABIC_LETTER.match(word):
                word = word.removeprefix("ال") if len(word) > 4 else word
                word = word[:-1] if word.endswith("ه") else word
                letters = [self.skeleton_ar.get(c, "") for c in word]
            else:
                word = word.removeprefix("al-").removeprefix("el-")
                for digraph, letter in self.digraphs_en.items():
                    word = word.replace(digraph, letter)
                letters = [self.skeleton_en.get(c, "") for c in word]
            out = ""
            for letter in "".join(letters):
                if not out.endswith(letter):
                    out += letter
            if out and word not in ("al", "el"):
                words.append(out)
        return "".join(words)

    @classmethod
    def load(cls, path: Path | str = "stories.yaml") -> StoryModel:
        data = load_yaml(path, "story model")
        try:
            minhash = data["minhash"]
            rewrite = data["rewrite"]
            across = data["across_languages"]
            stopwords: set[str] = set()
            for language in ("ar", "en"):
                for word in data["stopwords"][language]:
                    stopwords.update(_key_words(str(word), frozenset()))
            return cls(
                num_perm=int(minhash["num_perm"]),
                seed=int(minhash["seed"]),
                shingle_words=int(minhash["shingle_words"]),
                duplicate_min=float(data["duplicate"]["min"]),
                rewrite_min_shared=int(rewrite["min_shared"]),
                rewrite_lead=tuple(
                    (float(step["within_hours"]) * 3600.0, float(step["min_overlap"]))
                    for step in rewrite["lead"]
                ),
                rewrite_title=(
                    float(rewrite["title"]["within_hours"]) * 3600.0,
                    float(rewrite["title"]["min_overlap"]),
                ),
                across_min_countries=int(across["min_countries"]),
                across_min_jaccard=float(across["min_jaccard"]),
                across_within_seconds=float(across["within_hours"]) * 3600.0,
                stopwords=frozenset(stopwords),
                skeleton_ar={str(k): str(v) for k, v in data["skeleton"]["ar"].items()},
                skeleton_en={str(k): str(v) for k, v in data["skeleton"]["en"].items()},
                digraphs_en={str(k): str(v) for k, v in data["skeleton"]["en_digraphs"].items()},
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DataFileError(
                f"{path}: story model needs minhash.num_perm/seed/shingle_words, duplicate.min, "
                "rewrite.min_shared/lead/title, across_languages.min_countries/"
                f"min_jaccard/within_hours and stopwords.ar/en ({type(exc).__name__}: {exc})"
            ) from None


@lru_cache(maxsize=1)
def default_model() -> StoryModel:
    return StoryModel.load()


@dataclass(frozen=True)
class Signature:
    """What stories compare of an article."""

    hashvalues: tuple[int, ...]
    """The MinHash of its word 3-shingles (``affine32`` scheme of datasketch)."""
    words: frozenset[str]
    """Key words of title and lead, folded, without function words and Arabic articles."""
    entities: frozenset[str]
    """``C:IQ`` countries, ``P:person`` gazetteer people, ``T:topic`` topics, ``L:krk``
    places and institutions by the consonant skeleton of their name (:meth:`StoryModel.
    skeleton`): the same in every language, more often than not."""
    language: str
    published: float
    """Publication time, seconds since the epoch (UTC)."""
    title_words: frozenset[str] = frozenset()
    """Key words of the title alone, and its numbers (``#23``)."""

    def to_json(self) -> dict[str, Any]:
        raw = np.asarray(self.hashvalues, dtype="<u4").tobytes()
        return {
            "h": base64.b64encode(raw).decode("ascii"),
            "w": sorted(self.words),
            "e": sorted(self.entities),
            "l": self.language,
            "t": self.published,
            "tw": sorted(self.title_words),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Signature:
        raw = base64.b64decode(data["h"])
        return cls(
            tuple(int(v) for v in np.frombuffer(raw, dtype="<u4")),
            frozenset(data["w"]),
            frozenset(data["e"]),
            str(data["l"]),
            float(data["t"]),
            frozenset(data.get("tw", ())),
        )


def _key_words(text: str, stopwords: frozenset[str]) -> list[str]:
    """Folded words of ``text`` worth comparing: Arabic articles and conjoined و/ب/ف/ك/ل
    stripped, function words and words under three letters left out."""
    out = []
    for written in word_fold(text).split():
        if written == FIELD_SEPARATOR or written.isdigit():
            continue
        word = written
        for prefix in _ARABIC_PREFIXES:
            if written.startswith(prefix) and len(written) - len(prefix) >= 3:
                word = written[len(prefix) :]
                break
        if len(word) >= 3 and word not in stopwords:
            out.append(word)
    return out


def _numbers(text: str) -> list[str]:
    """The numbers written in ``text`` (any script's digits), as ``#23``."""
    return [f"#{int(w)}" for w in word_fold(text).split() if w.isdecimal() and len(w) < 12]


class Signer:
    """Makes signatures and compares them (one per process: it holds the MinHash
    permutations)."""

    def __init__(self, model: StoryModel | None = None) -> None:
        self.model = model or default_model()
        seedling = MinHash(num_perm=self.model.num_perm, seed=self.model.seed)
        self._permutations = seedling.permutations

    def minhash(self, text: str) -> tuple[int, ...]:
        """MinHash of the word 3-shingles of the first ``shingle_words`` words of ``text``."""
        limit = self.model.shingle_words
        # Fold only as much text as the words it needs (news words average under 8 letters).
        words = [w for w in word_fold(text[: limit * 16]).split() if w != FIELD_SEPARATOR]
        del words[limit:]
        sketch = MinHash(
            num_perm=self.model.num_perm,
            seed=self.model.seed,
            hashfunc=int,
            permutations=self._permutations,
            scheme="affine32",
        )
        if words:
            crc = zlib.crc32
            hashes = np.array([crc(w.encode()) for w in words], dtype=np.uint64)
            if len(hashes) >= 3:  # one 32-bit value per shingle of three words
                hashes = (hashes[:-2] * _MIX_A + hashes[1:-1] * _MIX_B + hashes[2:]) & _LOW32
            sketch.update_batch(hashes.tolist())
        return tuple(int(v) for v in sketch.hashvalues)

    def sign(
        self,
        *,
        title: str,
        summary: str,
        content: str,
        language: str,
        published: float,
        entities: Iterable[str],
    ) -> Signature:
        lead = summary or " ".join(content.split()[:40])
        stopwords = self.model.stopwords
        return Signature(
            self.minhash(f"{title}\n{summary}\n{content}"),
            frozenset(_key_words(f"{title}\n{lead}", stopwords)),
            frozenset(entities),
            language,
            published,
            frozenset(_key_words(title, stopwords) + _numbers(title)),
        )

    def similarity(self, a: Signature, b: Signature) -> float:
        """How strongly ``a`` and ``b`` tell one story, 0 when they do not (by the model's
        thresholds): the duplicate estimate, else the key-word overlap, else the entity
        Jaccard similarity across languages."""
        m = self.model
        one_language = a.language == b.language or not a.language or not b.language
        if one_language and not a.words & b.words:
            return 0.0  # copies share their title's or lead's words: most pairs stop here
        same = sum(x == y for x, y in zip(a.hashvalues, b.hashvalues, strict=True))
        duplicate = same / len(a.hashvalues) if a.hashvalues else 0.0
        if duplicate >= m.duplicate_min:
            return 1.0 + duplicate
        numbers_a = {w for w in a.title_words if w[0] == "#"}
        numbers_b = {w for w in b.title_words if w[0] == "#"}
        if numbers_a and numbers_b and not numbers_a & numbers_b:
            return 0.0  # "Block 10" is not "Qurna-2": titles that count differently differ
        if one_language:
            return self._rewrite(a, b)
        return self._across_languages(a, b)

    def _rewrite(self, a: Signature, b: Signature) -> float:
        """Independent write-ups in one language, published close together: the overlap of
        the key words of title and lead (more is asked the further apart they are), or of the
        titles alone; 0 when neither is enough."""
        m = self.model
        apart = abs(a.published - b.published)
        best = 0.0
        shared = len(a.words & b.words)
        if shared >= m.rewrite_min_shared:
            overlap = shared / min(len(a.words), len(b.words))
            if any(apart <= within and overlap >= least for within, least in m.rewrite_lead):
                best = overlap
        within, least = m.rewrite_title
        titled = len(a.title_words & b.title_words)
        if apart <= within and titled >= m.rewrite_min_shared:
            overlap = titled / min(len(a.title_words), len(b.title_words))
            if overlap >= least:
                best = max(best, overlap)
        return best

    def _across_languages(self, a: Signature, b: Signature) -> float:
        """Write-ups in two languages: the Jaccard similarity of what the engine extracted
        (people, countries, topics), or 0."""
        m = self.model
        if abs(a.published - b.published) > m.across_within_seconds:
            return 0.0
        common = a.entities & b.entities
        named = sum(1 for e in common if e[0] in "PL")
        countries = sum(1 for e in common if e.startswith("C:"))
        if not (named and countries >= m.across_min_countries):
            return 0.0
        jaccard = len(common) / len(a.entities | b.entities)
        return jaccard if jaccard >= m.across_min_jaccard else 0.0


def entities_of(result: Any, model: StoryModel | None = None) -> list[str]:
    """The entities of a :class:`~processors.classify.Classification`: the countries it
    counts, the people named in full, the places and institutions named, its topics."""
    model = model or default_model()
    out = [f"C:{code}" for code in result.countries]
    out += [f"T:{topic}" for topic in result.topics]
    for _, _, form, *_ in result.doc.named:
        out += [f"P:{person}" for person in form.persons]
        if form.sense in _PLACE_SENSES and form.base:
            out.append(f"L:{model.skeleton(form.base)}")
    return out


def outlet_of(feed: str, url: str = "") -> str:
    """The outlet an article came from: its feed's host (``www.`` dropped), else its link's."""
    for address in (feed, url):
        host = urlsplit(address).hostname if "://" in address else None
        if host:
            return host.removeprefix("www.")
    return feed or url


# --- the book of one rule's stories --------------------------------------------------------------


@dataclass
class Story:
    id: str
    first_seen: float
    last_seen: float
    best_score: float
    pushed_score: float
    """The score of the story's last push (its first article's, or its escalation's)."""
    articles: dict[str, Role]
    """The latest :data:`MAX_ARTICLES` articles of the story, in arrival order, with the role
    their record had (so that a redelivered one gets it again)."""
    outlets: list[str]
    languages: list[str]
    members: list[Signature] = field(default_factory=list)
    """Signatures new articles are compared with (the first and the latest few)."""
    count: int = 0
    """How many articles the story has had."""

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "first": self.first_seen,
            "last": self.last_seen,
            "best": self.best_score,
            "pushed": self.pushed_score,
            "articles": [[a, r] for a, r in self.articles.items()],
            "outlets": self.outlets,
            "languages": self.languages,
            "members": [s.to_json() for s in self.members],
            "count": self.count,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Story:
        return cls(
            id=str(data["id"]),
            first_seen=float(data["first"]),
            last_seen=float(data["last"]),
            best_score=float(data["best"]),
            pushed_score=float(data["pushed"]),
            articles={str(a): r for a, r in data["articles"]},
            outlets=[str(o) for o in data["outlets"]],
            languages=[str(lang) for lang in data["languages"]],
            members=[Signature.from_json(s) for s in data["members"]],
            count=int(data.get("count") or len(data["articles"])),
        )


@dataclass(frozen=True)
class Assignment:
    """Where an article went: the story, what its record is (push or update), and the story
    as it stands with it."""

    story_id: str
    role: Role
    articles: int
    outlets: tuple[str, ...]
    languages: tuple[str, ...]

    @property
    def pushes(self) -> bool:
        return self.role != "update"


MAX_MEMBERS = 4
"""Signatures kept per story: its first article's and the latest others'."""
MAX_ARTICLES = 100
"""Article ids kept per story (the latest): a story told a thousand times stays small."""


class StoryBook:
    """The recent stories of one rule (see the module docstring)."""

    def __init__(
        self,
        signer: Signer,
        *,
        window_seconds: float = 48 * 3600.0,
        max_stories: int = 500,
        stories: Sequence[Story] = (),
    ) -> None:
        self.signer = signer
        self.window_seconds = window_seconds
        self.max_stories = max_stories
        self.stories: list[Story] = list(stories)
        self.dropped: list[str] = []
        """Ids of the stories forgotten since the caller last emptied this list."""

    def find(self, article_id: str) -> Story | None:
        return next((s for s in self.stories if article_id in s.articles), None)

    def assign(
        self,
        article_id: str,
        signature: Signature,
        *,
        story_id: str,
        score: float = 0.0,
        outlet: str = "",
        escalate_at: float | None = None,
    ) -> Assignment:
        """Put ``article_id`` in the story it retells, or in a new one with id ``story_id``.
        ``escalate_at``: the score past which a story pushes once more."""
        known = self.find(article_id)
        if known is not None:
            return _assignment(known, known.articles[article_id])
        first = next((s for s in self.stories if s.id == story_id), None)
        if first is not None:  # its first article, whose id has left the list
            return _assignment(first, "new")
        self._forget_before(signature.published - self.window_seconds)
        story = self.match(signature)
        if story is None:
            story = Story(
                id=story_id,
                first_seen=signature.published,
                last_seen=signature.published,
                best_score=score,
                pushed_score=score,
                articles={},
                outlets=[],
                languages=[],
            )
            self.stories.append(story)
            role: Role = "new"
            if len(self.stories) > self.max_stories:
                self.stories.sort(key=lambda s: s.last_seen)
                excess = len(self.stories) - self.max_stories
                self.dropped += [s.id for s in self.stories[:excess]]
                del self.stories[:excess]
        elif escalate_at is not None and story.pushed_score < escalate_at <= score:
            role = "escalated"
            story.pushed_score = score
        else:
            role = "update"
        story.articles[article_id] = role
        story.count += 1
        if len(story.articles) > MAX_ARTICLES:
            del story.articles[next(iter(story.articles))]
        story.first_seen = min(story.first_seen, signature.published)
        story.last_seen = max(story.last_seen, signature.published)
        story.best_score = max(story.best_score, score)
        if outlet and outlet not in story.outlets:
            story.outlets.append(outlet)
        if signature.language and signature.language not in story.languages:
            story.languages.append(signature.language)
        story.members.append(signature)
        if len(story.members) > MAX_MEMBERS:
            del story.members[1]
        return _assignment(story, role)

    def match(self, signature: Signature) -> Story | None:
        """The story within the window that ``signature`` retells best, if any."""
        best: Story | None = None
        best_similarity = 0.0
        for story in self.stories:
            if (
                abs(signature.published - story.last_seen) > self.window_seconds
                and abs(signature.published - story.first_seen) > self.window_seconds
            ):
                continue
            for member in story.members:
                similarity = self.signer.similarity(signature, member)
                if similarity > best_similarity:
                    best, best_similarity = story, similarity
        return best

    def _forget_before(self, horizon: float) -> None:
        self.dropped += [s.id for s in self.stories if s.last_seen < horizon]
        self.stories = [s for s in self.stories if s.last_seen >= horizon]

    def to_json(self) -> list[dict[str, Any]]:
        return [s.to_json() for s in self.stories]

    @classmethod
    def from_json(
        cls,
        data: list[dict[str, Any]],
        signer: Signer,
        *,
        window_seconds: float = 48 * 3600.0,
        max_stories: int = 500,
    ) -> StoryBook:
        return cls(
            signer,
            window_seconds=window_seconds,
            max_stories=max_stories,
            stories=[Story.from_json(s) for s in data],
        )


def _assignment(story: Story, role: Role) -> Assignment:
    return Assignment(story.id, role, story.count, tuple(story.outlets), tuple(story.languages))


# --- what the processors send between their agents ----------------------------------------------


class StoryCandidate(Record):
    """An alert on its way to the story agent (the processors' internal topic
    ``<app_id>-story-candidates``, keyed by rule so that one agent sees every candidate of a
    rule, whichever worker classified it)."""

    kind: ClassVar[str] = "story candidate"

    alert: Alert
    signature: dict[str, Any]
    outlet: str = ""
    escalate_at: float | None = None


def candidate(
    signer: Signer, article: Article, result: Any, alert: Alert, escalate_at: float | None
) -> StoryCandidate:
    """The story candidate of ``alert``, raised on ``article`` as ``result`` classified it."""
    signature = signer.sign(
        title=article.title,
        summary=article.summary,
        content=article.content,
        language=result.language,
        published=article.published.timestamp(),
        entities=entities_of(result),
    )
    return StoryCandidate(
        alert=alert,
        signature=signature.to_json(),
        outlet=outlet_of(article.feed, article.url),
        escalate_at=escalate_at,
    )


class Stories:
    """The story agent's logic over its table (any mutable mapping of bytes to bytes; the
    processors give it a faust table, whose changelog is what survives restarts).

    Each story is one entry, ``RULE\\x00STORY_ID`` -> the story as JSON, so a placement writes
    one story, not the rule's whole book; ``RULE\\x00`` holds the rule's write count. The book of
    a rule is kept decoded between events and read again from the table whenever the count in
    the table is not the one this agent wrote last (the first event after a start, or after the
    rule's partition went to another worker and came back).
    """

    def __init__(self, signer: Signer, *, window_seconds: float, max_stories: int = 300) -> None:
        self.signer = signer
        self.window_seconds = window_seconds
        self.max_stories = max_stories
        self._books: dict[str, tuple[bytes, StoryBook]] = {}

    def book(self, table: MutableMapping[bytes, bytes], rule_id: str) -> StoryBook:
        prefix = rule_id.encode() + b"\x00"
        count = table.get(prefix)
        cached = self._books.get(rule_id)
        if cached is not None and count is not None and cached[0] == count:
            return cached[1]
        stories = [
            Story.from_json(json.loads(value))
            for key, value in list(table.items())
            if key.startswith(prefix) and key != prefix
        ]
        stories.sort(key=lambda s: (s.first_seen, s.id))
        return StoryBook(
            self.signer,
            window_seconds=self.window_seconds,
            max_stories=self.max_stories,
            stories=stories,
        )

    def place(self, table: MutableMapping[bytes, bytes], item: StoryCandidate) -> Alert:
        """The candidate's alert with its story; the table updated with it."""
        alert = item.alert
        book = self.book(table, alert.rule_id)
        placed = book.assign(
            alert.article_id,
            Signature.from_json(item.signature),
            story_id=alert.id,
            score=alert.score,
            outlet=item.outlet,
            escalate_at=item.escalate_at,
        )
        prefix = alert.rule_id.encode() + b"\x00"
        for gone in book.dropped:
            table.pop(prefix + gone.encode(), None)
        book.dropped.clear()
        story = next(s for s in book.stories if s.id == placed.story_id)
        table[prefix + story.id.encode()] = json.dumps(
            story.to_json(), separators=(",", ":")
        ).encode()
        count = str(int(table.get(prefix) or b"0") + 1).encode()
        table[prefix] = count
        self._books[alert.rule_id] = (count, book)
        return with_story(alert, placed)


def with_story(alert: Alert, placed: Assignment) -> Alert:
    return alert.model_copy(
        update={
            "story_id": placed.story_id,
            "story_role": placed.role,
            "story_articles": placed.articles,
            "story_outlets": placed.outlets,
            "story_languages": placed.languages,
        }
    )
