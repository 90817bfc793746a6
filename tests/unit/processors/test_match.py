from __future__ import annotations

import pytest

from processors.classify import Engine


def found(engine: Engine, text: str) -> list[tuple[str, str]]:
    return [
        (text[start:end], m.term.denotes)
        for start, end, form in engine.matcher.find(text)
        for m in form.meanings
        if m.term.denotes.startswith(("country:", "bloc:"))
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("وبالعراق", [("وبالعراق", "country:IQ")]),
        ("للعراق", [("للعراق", "country:IQ")]),
        ("والعراقيين", [("والعراقيين", "country:IQ")]),
        ("الشركات الروسية", [("الروسية", "country:RU")]),
        ("روسيا البيضاء", [("روسيا البيضاء", "country:BY")]),  # longest wins
        ("Papua New Guinea", [("Papua New Guinea", "country:PG")]),
        ("Iraq’s oil", [("Iraq’s", "country:IQ")]),
        ("Russian-made jets", [("Russian", "country:RU")]),
        ("Nigeria", [("Nigeria", "country:NG")]),  # not Niger inside it
        ("Iraqiya", []),  # a name inside another word never matches
        ("let us go", []),  # US only as written
        ("the US and the EU", [("US", "country:US"), ("EU", "bloc:EU")]),
        ("a turkey dinner in Turkey", [("Turkey", "country:TR")]),
        ("مؤتمر صحافي في موسكو", [("موسكو", "country:RU")]),
    ],
)
def test_country_forms(engine: Engine, text: str, expected: list[tuple[str, str]]) -> None:
    assert found(engine, text) == expected


def test_arabic_financial_word_is_not_mali(engine: Engine) -> None:
    assert found(engine, "دعم مالي للعراق") == [("للعراق", "country:IQ")]
