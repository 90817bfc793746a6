from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from newsradar.errors import SchemaError
from newsradar.schemas import Alert, Article, DeadLetter, Match, alert_id, decode, encode

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def article(**kw: object) -> Article:
    fields: dict[str, object] = {
        "id": "a1",
        "title": "العراق وروسيا",
        "published": NOW,
        "fetched_at": NOW,
    }
    fields.update(kw)
    return Article.model_validate(fields)


def test_article_round_trips_through_json_with_arabic_text_intact() -> None:
    a = article(authors=("x",), tags=("iraq",))
    data = encode(a)
    assert "العراق".encode() in data  # not \u-escaped: readable on the wire
    assert decode(Article, data) == a
    assert json.loads(data)["schema_version"] == 1


def test_times_are_normalised_to_utc_and_naive_times_are_rejected() -> None:
    plus3 = timezone(timedelta(hours=3))
    a = article(published=datetime(2026, 1, 1, 15, 0, tzinfo=plus3))
    assert a.published == datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    with pytest.raises(SchemaError, match="published: .*UTC offset"):
        decode(
            Article,
            b'{"id": "x", "published": "2026-01-01T00:00:00", '
            b'"fetched_at": "2026-01-01T00:00:00Z"}',
        )


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"not json", "not valid UTF-8 JSON"),
        (b"\xff\xfe", "not valid UTF-8 JSON"),
        (b"[1, 2]", "JSON list, expected an object"),
        (None, "tombstone"),
        (b'{"schema_version": 2, "id": "x"}', "schema_version 2; this reader supports 1"),
        (b'{"id": "x", "published": "2026-01-01T00:00:00Z"}', "fetched_at: Field required"),
        (
            b'{"id": "x", "published": "2026-01-01T00:00:00Z", '
            b'"fetched_at": "2026-01-01T00:00:00Z", "surprise": 1}',
            "surprise: Extra inputs are not permitted",
        ),
    ],
)
def test_bad_records_raise_schema_error_with_a_reason(data: bytes | None, reason: str) -> None:
    with pytest.raises(SchemaError) as info:
        decode(Article, data)
    assert reason in str(info.value)


def test_alert_id_is_stable_per_rule_and_article() -> None:
    assert alert_id("iraq-russia", "a1") == alert_id("iraq-russia", "a1")
    assert alert_id("iraq-russia", "a1") != alert_id("iraq-russia", "a2")
    assert alert_id("iraq-russia", "a1") != alert_id("iraq-iran", "a1")
    # The separator keeps ("a", "bc") and ("ab", "c") apart.
    assert alert_id("a", "bc") != alert_id("ab", "c")


def test_alert_round_trips_with_matches() -> None:
    alert = Alert(
        id=alert_id("r", "a1"),
        rule_id="r",
        article_id="a1",
        article_published=NOW,
        countries=("IQ", "RU"),
        pairs=("IQ-RU",),
        matches=(Match(term="روسيا", denotes="country:RU", field="title", start=7, end=12),),
    )
    assert decode(Alert, encode(alert)) == alert


def test_dead_letter_keeps_the_original_bytes() -> None:
    raw = b"\x00\xffbroken"
    dl = DeadLetter.for_value(
        raw,
        stage="processors",
        error=SchemaError("bad"),
        topic="t",
        partition=3,
        offset=9,
        key=b"k",
    )
    back = decode(DeadLetter, encode(dl))
    assert back.original_value() == raw
    assert (back.stage, back.error_type, back.reason, back.key) == (
        "processors",
        "SchemaError",
        "bad",
        "k",
    )
