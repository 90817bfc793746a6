from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from processors.normalize import fold, normalize


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("أإآٱ", "اااا"),  # hamza forms of alef
        ("مصطفى", "مصطفي"),  # alef maqsura
        ("الروسية", "الروسيه"),  # taa marbuta
        ("وَرُوسِيَّا", "وروسيا"),  # harakat and shadda
        ("روســـيا", "روسيا"),  # tatweel
        ("رو\u200cسيا\u200f", "روسيا"),  # zero-width non-joiner, RLM
        ("پاکستان کی", "پاكستان كي"),  # Urdu keheh and farsi yeh
        ("ﻻ", "لا"),  # presentation-form ligature
        ("Türkiye’s", "turkiye's"),  # accents, case, curly apostrophe
        ("ＩＲＡＱ", "iraq"),  # full-width
    ],
)
def test_folds(raw: str, folded: str) -> None:
    assert fold(raw) == folded
    assert normalize(raw).text == folded


def test_offsets_point_back_into_the_original() -> None:
    raw = "قال الــرئيس: ﻻ تَطلُّع Iraq’s"
    norm = normalize(raw)
    i = norm.text.index("الرييس")
    start, end = norm.span_to_original(i, i + len("الرييس"))
    assert raw[start:end] == "الــرئيس"
    j = norm.text.index("iraq's")
    start, end = norm.span_to_original(j, j + len("iraq's"))
    assert raw[start:end] == "Iraq’s"


@given(st.text())
def test_normalisation_is_idempotent_and_offsets_are_monotonic(text: str) -> None:
    norm = normalize(text)
    assert fold(norm.text) == norm.text
    mapped = [norm.to_original(i) for i in range(len(norm.text))]
    assert mapped == sorted(mapped)
    assert all(0 <= m < len(text) for m in mapped)
