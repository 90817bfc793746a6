"""The one YAML/TOML loader: plain data as the libraries read it, hostile files refused fast."""

from __future__ import annotations

import time

import pytest

from newsradar.datafile import (
    MAX_ALIAS_NODES,
    MAX_DEPTH,
    MAX_KEY_PARTS,
    DataSyntaxError,
    parse_data,
    parse_toml,
    parse_yaml,
)


def test_yaml_reads_plain_data_with_anchors_and_merge_keys() -> None:
    text = "base: &b {a: 1, tags: [x, y]}\nuse:\n  <<: *b\n  c: 2\nlist: [*b, *b]\n"
    assert parse_yaml(text) == {
        "base": {"a": 1, "tags": ["x", "y"]},
        "use": {"a": 1, "tags": ["x", "y"], "c": 2},
        "list": [{"a": 1, "tags": ["x", "y"]}] * 2,
    }


def test_yaml_aliases_are_bounded_by_what_they_stand_for() -> None:
    items = ", ".join(["x"] * 999)
    fits = f"a: &a [{items}]\n" + "".join(f"b{i}: *a\n" for i in range(MAX_ALIAS_NODES // 1000))
    assert len(parse_yaml(fits)) == 1 + MAX_ALIAS_NODES // 1000
    with pytest.raises(DataSyntaxError, match="aliases"):
        parse_yaml(fits + "one_more: *a\n")


def test_yaml_billion_laughs_recursion_and_depth_are_refused_fast() -> None:
    laughs = "l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
        f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]\n" for i in range(1, 10)
    )
    started = time.monotonic()
    with pytest.raises(DataSyntaxError, match=r"stand for more than \d+ values \(line 6"):
        parse_yaml(laughs)
    assert time.monotonic() - started < 1
    with pytest.raises(DataSyntaxError, match="refers to a value that contains it"):
        parse_yaml("a: &a [1, *a]\n")
    parse_yaml("[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1))
    with pytest.raises(DataSyntaxError, match=f"nested more than {MAX_DEPTH} levels"):
        parse_yaml("[" * 100_000)


def test_yaml_errors_are_one_line() -> None:
    with pytest.raises(DataSyntaxError) as info:
        parse_yaml("a: [1,\nb: 2\n")
    assert "\n" not in str(info.value)
    assert "line" in str(info.value)


def test_toml_depth_and_dotted_keys_are_bounded() -> None:
    keys = ".".join(["a"] * (MAX_KEY_PARTS - 1))
    assert parse_toml(f"{keys} = 1\nurl = 'http://a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u'")
    assert parse_toml('x = """' + ".".join(["a"] * 500) + '"""\n# ' + ".".join(["a"] * 500))
    for text in (
        f"[{keys}.b.c]\n",
        f"{keys}.b.c = 1\n",
        "x = " + "[" * 3000 + "]" * 3000,
        "x = " + "{a = " * (MAX_DEPTH + 1) + "1" + "}" * (MAX_DEPTH + 1),
    ):
        with pytest.raises(DataSyntaxError):
            parse_toml(text)
    with pytest.raises(DataSyntaxError, match="line 2"):
        parse_toml("a = 1\nb = \n")


def test_parse_data_picks_the_format_by_name() -> None:
    assert parse_data("a = 1\n", "rules.toml") == {"a": 1}
    assert parse_data("a: 1\n", "rules.yaml") == {"a": 1}
