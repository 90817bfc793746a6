"""The one way newsradar reads YAML and TOML: rule files, feed lists, the config file and the
packaged data files. Bounded, so that a hostile or broken file gets a one-line error, fast,
in little memory, instead of a traceback after minutes:

- YAML is read by PyYAML's safe loader (plain data, no Python objects). Aliases (``*name``)
  may stand for at most :data:`MAX_ALIAS_NODES` values in all: 1 KB of nested anchors (a
  "billion laughs") would otherwise stand for 10^9 values that every reader walks. An alias to
  a value that contains it (an endless value) is refused.
- Nothing may nest deeper than :data:`MAX_DEPTH` levels: YAML and TOML parsers and every
  reader after them recurse, and a deeper file would end in RecursionError.
- A TOML dotted key (``a.b.c``, ``[a.b.c]``) may have at most :data:`MAX_KEY_PARTS` parts:
  tomllib's work grows with the square of a key's length (40 KB of ``a.a.a`` takes 1.6 GB).

Callers add where the text came from: ``f"{path}: rule file is not valid YAML/TOML: {exc}"``.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from typing import Any

import yaml

MAX_DEPTH = 64
MAX_ALIAS_NODES = 100_000
MAX_KEY_PARTS = 64

_TOML_STRING_OR_COMMENT = re.compile(
    r'"""(?:[^\\]|\\.)*?"""|\'\'\'.*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'|#[^\n]*', re.DOTALL
)
_TOML_DOTTED_KEY = re.compile(r"[A-Za-z0-9_-]+(?:[ \t]*\.[ \t]*[A-Za-z0-9_-]+)+")


class DataSyntaxError(ValueError):
    """The text is not valid YAML or TOML, or is built to exhaust memory or the stack."""


def parse_yaml(text: str) -> Any:
    """The plain data of a YAML document; DataSyntaxError with a one-line reason otherwise."""
    loader = _BoundedLoader(text)
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        raise DataSyntaxError(" ".join(str(exc).split())) from None
    except RecursionError:
        raise DataSyntaxError(_too_deep()) from None
    finally:
        loader.dispose()


def parse_toml(text: str) -> dict[str, Any]:
    """The data of a TOML document; DataSyntaxError with a one-line reason otherwise."""
    for match in _TOML_DOTTED_KEY.finditer(_TOML_STRING_OR_COMMENT.sub('""', text)):
        if match.group().count(".") >= MAX_KEY_PARTS:
            line = text.count("\n", 0, match.start()) + 1
            raise DataSyntaxError(
                f"a dotted key on line {line} has more than {MAX_KEY_PARTS} parts; "
                "newsradar's keys have a few"
            )
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DataSyntaxError(str(exc)) from None
    except RecursionError:
        raise DataSyntaxError(_too_deep()) from None
    if _depth(data) > MAX_DEPTH:
        raise DataSyntaxError(_too_deep())
    return data


def parse_data(text: str, name: str) -> Any:
    """TOML when ``name`` ends in ``.toml``, else YAML."""
    return parse_toml(text) if name.endswith(".toml") else parse_yaml(text)


def _too_deep() -> str:
    return f"nested more than {MAX_DEPTH} levels deep; newsradar's files nest a few levels"


def _depth(data: Any) -> int:
    """How deep lists and tables nest in ``data`` (without recursing: it may be deep)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > MAX_DEPTH:
            break
        if isinstance(value, dict):
            stack.extend((child, depth + 1) for child in value.values())
        elif isinstance(value, list):
            stack.extend((child, depth + 1) for child in value)
    return deepest


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, counting what aliases stand for and how deep nodes nest."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._sizes: dict[yaml.Node, int] = {}
        """Complete nodes: how many values each stands for, aliases expanded."""
        self._aliased = 0
        self._depth = 0

    def _next_event_at(self) -> str:
        event: yaml.Event = self.peek_event()  # type: ignore[no-untyped-call]  # untyped in stubs
        mark = event.start_mark
        return f"line {mark.line + 1}, column {mark.column + 1}" if mark else "?"

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            where = self._next_event_at()
            node = super().compose_node(parent, index)
            if node is None or node not in self._sizes:
                raise DataSyntaxError(f"an alias refers to a value that contains it ({where})")
            self._aliased += self._sizes[node]
            if self._aliased > MAX_ALIAS_NODES:
                raise DataSyntaxError(
                    f"aliases (*name) stand for more than {MAX_ALIAS_NODES} values "
                    f"({where}); write the values out"
                )
            return node
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise DataSyntaxError(f"{_too_deep()} ({self._next_event_at()})")
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if node is not None:
            self._sizes[node] = 1 + sum(self._sizes.get(child, 1) for child in _children(node))
        return node


def _children(node: yaml.Node) -> Iterator[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        yield from node.value
    elif isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield key
            yield value
