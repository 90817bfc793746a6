"""Alerts as CSV and JSON Lines, for reports: one definition for ``newsradar alerts list
--format csv|jsonl`` and the dashboard's export.

A JSON line is the alert record as stored, with ``read`` and ``starred`` beside its fields.
A CSV row holds :data:`COLUMNS` (lists joined by ``;``); every cell is quoted, and a cell that a
spreadsheet would read as a formula (it starts with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return, as OWASP's "CSV Injection" lists them, or their full-width forms, leading
spaces ignored) gets a leading single quote, so an untrusted feed title such as
``=HYPERLINK(...)`` stays text. The CSV starts with a UTF-8 byte order mark, by which
spreadsheets recognise UTF-8 (Arabic titles).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any, Literal

from sinks.search import StoredAlert

Format = Literal["csv", "jsonl"]
MEDIA_TYPES: dict[Format, str] = {"csv": "text/csv", "jsonl": "application/jsonl"}
COLUMNS = (
    "id", "created_at", "rule_id", "rule_version", "score", "countries", "pairs", "topics",
    "language", "article_title", "article_url", "article_published", "feed", "read", "starred",
)  # fmt: skip
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
BOM = "\ufeff"


def safe_cell(value: str) -> str:
    """``value`` as a spreadsheet will show it, never run it."""
    return "'" + value if value.lstrip(" ").startswith(FORMULA_STARTS) else value


def _cells(stored: StoredAlert) -> list[str]:
    a = stored.alert
    values: dict[str, Any] = {
        **a.model_dump(mode="json", include=set(COLUMNS)),
        "read": stored.read,
        "starred": stored.starred,
    }
    cells = []
    for column in COLUMNS:
        value = values[column]
        if isinstance(value, list):
            value = ";".join(str(v) for v in value)
        elif isinstance(value, bool):
            value = "true" if value else "false"
        cells.append(safe_cell(str(value)))
    return cells


def csv_header() -> str:
    return BOM + _csv_line(list(COLUMNS))


def csv_row(stored: StoredAlert) -> str:
    return _csv_line(_cells(stored))


def _csv_line(cells: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerow(cells)
    return buffer.getvalue()


def json_record(stored: StoredAlert) -> dict[str, Any]:
    return {
        **stored.alert.model_dump(mode="json"),
        "read": stored.read,
        "starred": stored.starred,
    }


def jsonl_row(stored: StoredAlert) -> str:
    """One JSON line (non-ASCII text kept as it is)."""
    return json.dumps(json_record(stored), ensure_ascii=False) + "\n"


def header(form: Format) -> str:
    """What the file starts with: the CSV header; nothing for JSON Lines."""
    return csv_header() if form == "csv" else ""


def row(stored: StoredAlert, form: Format) -> str:
    return csv_row(stored) if form == "csv" else jsonl_row(stored)


def chunks(alerts: Iterable[StoredAlert], form: Format) -> Iterator[str]:
    """The whole file, a row at a time."""
    if start := header(form):
        yield start
    for stored in alerts:
        yield row(stored, form)
