"""Hostile input to the command line: `classify` lines that are not UTF-8, not JSON, nested
too deeply or blank, and alert or feed text that would drive a terminal. One line out per line
in, always valid UTF-8 JSON, whatever the locale; nothing raw reaches the terminal."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsradar.schemas import Alert, FeedStatus, encode
from producers.feeds import FeedSpec, feed_record
from sinks.sqlite import SqliteSink
from tests.conftest import REPO, clean_env


def newsradar_bytes(
    *args: str, stdin: bytes = b"", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "newsradar", *args],
        input=stdin,
        capture_output=True,
        env=env if env is not None else clean_env(),
        cwd=REPO,
        timeout=300,
        check=False,
    )


CLASSIFY_INPUT = [
    b'{"id": "first", "title": "Lavrov meets Iraqi foreign minister in Moscow"}',
    b'{"id": "surrogate", "title": "a lone \\ud800 surrogate"}',
    b"[" * 100_000 + b"]" * 100_000,
    b'{"id": "latin1", "title": "caf\xe9 in Baghdad"}',
    b"",
    b"   \t",
    b'{"id": ' + b"7" * 5000 + b', "title": "Iraq"}',
    b'{"id": "nested", "title": "Iraq", "categories": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    b'{"id": "arabic", "title": "\xd9\x84\xd8\xa7\xd9\x81\xd8\xb1\xd9\x88\xd9\x81 \xd9\x8a\xd9\x84'
    b"\xd8\xaa\xd9\x82\xd9\x8a \xd9\x88\xd8\xb2\xd9\x8a\xd8\xb1 \xd8\xa7\xd9\x84\xd8\xae\xd8\xa7"
    b'\xd8\xb1\xd8\xac\xd9\x8a\xd8\xa9 \xd8\xa7\xd9\x84\xd8\xb9\xd8\xb1\xd8\xa7\xd9\x82\xd9\x8a"}',
    b'{"id": "last", "title": "Iraq and Russia sign an energy deal"}',
]


def test_classify_gives_one_valid_utf8_json_line_per_input_line_in_the_c_locale() -> None:
    proc = newsradar_bytes("classify", stdin=b"\n".join(CLASSIFY_INPUT), env=clean_env(LC_ALL="C"))
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")[-2000:]
    assert b"Traceback" not in proc.stderr
    lines = proc.stdout.split(b"\n")
    assert lines[-1] == b""
    out = [json.loads(line.decode("utf-8")) for line in lines[:-1]]
    assert len(out) == len(CLASSIFY_INPUT)
    first, surrogate, deep, latin1, blank, spaces, big_id, nested, arabic, last = out
    for line in (first, arabic, last):
        assert "error" not in line, line
        assert "IQ" in line["countries"]
    assert first["id"] == "first"
    assert last["id"] == "last"
    assert "RU" in first["countries"]
    assert arabic["id"] == "arabic"
    assert any("\u0600" <= c <= "\u06ff" for m in arabic["matches"] for c in m["term"])
    for number, line in enumerate(out, start=1):
        if line in (first, arabic, last):
            continue
        assert set(line) == {"id", "line", "error"}, line
        assert line["line"] == number
        assert "\n" not in line["error"]
    assert surrogate["id"] == "surrogate"
    assert "surrogate" in surrogate["error"]
    assert "nested" in deep["error"]
    assert "UTF-8" in latin1["error"]
    assert blank["error"] == "line 5 is blank; give one JSON object per line"
    assert spaces["error"] == "line 6 is blank; give one JSON object per line"
    assert "number too long" in big_id["error"]
    assert nested["id"] is None  # the line could not be read, nor its id
    assert "nested" in nested["error"]


def test_classify_reads_a_huge_line_as_one_error_and_goes_on() -> None:
    huge = b'{"id": "huge", "title": "' + b"Iraq " * 3_500_000 + b'"}'
    proc = newsradar_bytes(
        "classify",
        stdin=huge + b"\n" + b'{"id": "after", "title": "Iraq and Russia"}\n',
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    first, after = (json.loads(line) for line in proc.stdout.splitlines())
    assert first["line"] == 1
    assert "longer than" in first["error"]
    assert after["id"] == "after"
    assert "IQ" in after["countries"]


TERMINAL_ATTACK = "Iraq\x1b[2J\x1b]0;pwned\x07 and\x01 Russia\r\nFAKE LINE\u202egnp.exe\x9b"


def _assert_no_raw_controls(text: str) -> None:
    for c in text:
        assert c == "\n" or not (ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F), repr(c)
        assert c not in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069", repr(c)


def test_alerts_list_escapes_terminal_controls(tmp_path: Path) -> None:
    sink = SqliteSink(tmp_path / "alerts.sqlite")
    sink.write(
        [
            Alert(
                id="a1",
                rule_id="iraq-russia",
                article_id="x1",
                article_title=TERMINAL_ATTACK,
                article_url="https://e.org/a\x1b[31m",
                article_published=datetime(2026, 11, 30, tzinfo=UTC),
                pairs=("IQ-RU",),
            )
        ]
    )
    sink.close()
    proc = newsradar_bytes("alerts", "list", env=clean_env(NEWSRADAR_DATA_DIR=str(tmp_path)))
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout.decode("utf-8")
    _assert_no_raw_controls(text)
    _header, title_line, url_line = text.splitlines()
    assert "Iraq\\x1b[2J\\x1b]0;pwned\\x07 and\\x01 Russia\\x0d\\x0aFAKE LINE\\u202e" in title_line
    assert url_line.strip() == "https://e.org/a\\x1b[31m"
    proc = newsradar_bytes(
        "alerts", "list", "--json", env=clean_env(NEWSRADAR_DATA_DIR=str(tmp_path))
    )
    assert proc.returncode == 0
    _assert_no_raw_controls(proc.stdout.decode("utf-8"))
    assert json.loads(proc.stdout)["article_title"] == TERMINAL_ATTACK


def test_feeds_status_escapes_terminal_controls(monkeypatch: pytest.MonkeyPatch) -> None:
    """Feed names and remote error text arrive through newsradar.feed-state (any producer, any
    server); Kafka's tables are replaced here, the rows and their printing are the real ones."""
    from typer.testing import CliRunner

    import producers.health
    from newsradar.cli import app

    url = "https://e.org/feed.xml"
    tables = {
        "newsradar.feeds": {url: feed_record(FeedSpec(url=url))},
        "newsradar.feed-state": {
            url: encode(
                FeedStatus(
                    url=url,
                    name="e.org\x1b[8m",
                    consecutive_failures=1,
                    last_error_class="bad_encoding",
                    last_error=TERMINAL_ATTACK,
                    problem="ill-formed\x1b[2J",
                    moved_to="https://e.org/\x1b]0;x\x07",
                    producer="host\x1b[31m:1",
                )
            )
        },
    }
    monkeypatch.setattr(producers.health, "read_table", lambda _s, topic, **_: tables[topic])
    env = {"NEWSRADAR_KAFKA_BOOTSTRAP": "kafka.invalid:9092"}
    for args in (("feeds", "status"), ("feeds", "status", "--json")):
        result = CliRunner().invoke(app, list(args), env=env)
        assert result.exit_code == 0, result.output
        text = result.stdout_bytes.decode("utf-8")
        _assert_no_raw_controls(text)
        assert "pwned" in text
        escaped = "host\\u001b[31m:1" if "--json" in args else "host\\x1b[31m:1"
        assert escaped in text
