"""CSV and JSON Lines export (sinks/export.py) and the CLI that prints them: spreadsheet-safe
cells, the columns a report needs, search from the command line."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsradar.schemas import Alert, alert_id
from sinks.export import BOM, COLUMNS, chunks, safe_cell
from sinks.search import StoredAlert
from sinks.sqlite import SqliteSink
from tests.conftest import clean_env, run_cli

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def alert(article: str, title: str) -> Alert:
    return Alert(
        id=alert_id("iraq-russia", article),
        rule_id="iraq-russia",
        article_id=article,
        article_title=title,
        article_url=f"https://e.org/{article}",
        article_published=NOW,
        countries=("IQ", "RU"),
        pairs=("IQ-RU",),
        language="ar",
        created_at=NOW,
    )


@pytest.mark.parametrize(
    ("cell", "shown"),
    [
        ('=HYPERLINK("http://evil.example","x")', '\'=HYPERLINK("http://evil.example","x")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("  =1", "'  =1"),
        ("＝1+1", "'＝1+1"),
        ("Iraq = Russia", "Iraq = Russia"),
        ("العراق وروسيا", "العراق وروسيا"),
    ],
)
def test_formula_cells_are_made_text(cell: str, shown: str) -> None:
    assert safe_cell(cell) == shown


def test_csv_has_the_columns_and_quotes_every_cell() -> None:
    hostile = alert("x", '=cmd|" /C calc"!A0')
    text = "".join(chunks([StoredAlert(7, hostile, True, False)], "csv"))
    assert text.startswith(BOM)
    header, row = list(csv.reader(io.StringIO(text.removeprefix(BOM))))
    assert tuple(header) == COLUMNS
    cells = dict(zip(header, row, strict=True))
    assert cells["article_title"] == "'" + hostile.article_title
    assert (cells["countries"], cells["read"], cells["starred"]) == ("IQ;RU", "true", "false")
    # Every cell quoted and its quotes doubled, as OWASP advises.
    assert f'"{hostile.id}","2026-11-29T12:00:00Z",' in text
    assert '"\'=cmd|"" /C calc""!A0"' in text
    (line,) = list(chunks([StoredAlert(7, hostile, True, False)], "jsonl"))
    record = json.loads(line)
    assert (record["article_title"], record["read"], record["starred"]) == (
        hostile.article_title, True, False,
    )  # fmt: skip


def test_search_and_export_from_the_command_line(tmp_path: Path) -> None:
    SqliteSink(tmp_path / "alerts.sqlite").write(
        [alert("ar", "الحكومة الروسية تبحث مع العراق"), alert("en", "=Russia and Iraq")]
    )
    env = clean_env(NEWSRADAR_DATA_DIR=str(tmp_path))
    found = run_cli("alerts", "search", "الحكومه الروسيّة", "--format", "jsonl", env=env)
    assert found.returncode == 0, found.stderr
    assert [json.loads(x)["article_id"] for x in found.stdout.splitlines()] == ["ar"]
    table = run_cli("alerts", "search", "russia", env=env)
    assert "=Russia and Iraq" in table.stdout
    exported = run_cli("alerts", "list", "--format", "csv", env=env)
    rows = list(csv.DictReader(io.StringIO(exported.stdout.removeprefix(BOM))))
    assert [r["article_title"] for r in rows] == [
        "'=Russia and Iraq",
        "الحكومة الروسية تبحث مع العراق",
    ]
    assert all(r["read"] == "false" for r in rows)
    nothing = run_cli("alerts", "search", "***", env=env)
    assert nothing.returncode == 1
    assert nothing.stderr.strip() == (
        "newsradar: error: the search has no word in it (letters or digits)"
    )
    bad = run_cli("alerts", "list", "--format", "xml", env=env)
    assert bad.returncode == 1
    assert bad.stderr.strip() == "newsradar: error: --format 'xml': use one of table, csv, jsonl"
