"""``newsradar processors``, ``newsradar classify`` and ``newsradar rules``."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, BinaryIO

import typer

from newsradar.cli.context import printable_json, serve_metrics, state
from newsradar.errors import NewsradarError

app = typer.Typer(help="Run the detection stage (faust workers).", no_args_is_help=True)
rules_app = typer.Typer(help="Check and try alert rules.", no_args_is_help=True)

RulesOption = Annotated[
    Path | None,
    typer.Option(
        "--rules", help="Rule file (YAML/TOML) replacing the default rules.", dir_okay=False
    ),
]


@app.command("run")
def run(ctx: typer.Context) -> None:
    """Run a processors worker until stopped; more workers with the same app_id share the load."""
    cli = state(ctx)
    settings = cli.settings()
    from faust.worker import Worker

    from newsradar.broker import require_running
    from newsradar.kafka_admin import ensure_topics
    from processors.app import create_app
    from processors.classify import Engine

    # The rules first: a broken rule file is a config error (exit 3, which systemd does not
    # restart on) whether or not Kafka is up yet.
    engine = Engine.default(settings.processors.rules_file)
    require_running(settings)
    ensure_topics(settings)
    faust_app = create_app(settings, engine)
    conf = settings.processors
    serve_metrics("processors", conf.metrics_host, conf.metrics_port)
    # faust narrates every service start and stop at INFO; in the combined log of `newsradar up`
    # that drowns the pipeline's own events, so it speaks from WARNING unless asked for DEBUG.
    faust_level = "debug" if cli.log_level == "DEBUG" else "warning"
    worker = Worker(faust_app, loglevel=faust_level, quiet=True)
    worker.execute_from_commandline()


MAX_LINE_BYTES = 16_000_000
"""Longest ``classify`` input line read; a longer one is skipped with its error line."""
_SURROGATE = re.compile("[\ud800-\udfff]")


def classify(
    rules: RulesOption = None,
) -> None:
    """Classify JSON Lines articles from stdin: one JSON line out per line in, in order.

    Each input line holds `id`, `title` and optionally `summary`, `content`, `language`, `url`
    and `categories` (the feed's categories, a list of strings). Each output line gives the
    countries, pairs, topics, rules fired, matches, and per country its salience and per pair
    the relation score with the sentences that make it. A line that cannot be read (not UTF-8,
    not JSON, nested too deeply, blank, too long) gives {"id": ..., "line": N, "error": "..."}
    and the run goes on. Output is UTF-8 whatever the locale.
    """
    from processors.classify import Engine

    engine = Engine.default(rules)
    out = sys.stdout.buffer
    try:
        for number, line in enumerate(_lines(sys.stdin.buffer, MAX_LINE_BYTES), start=1):
            result = _classify_line(engine, line, number)
            text = printable_json(json.dumps(result, ensure_ascii=False, allow_nan=False))
            out.write(text.encode("utf-8") + b"\n")
            out.flush()
    except OSError as exc:
        raise NewsradarError(f"cannot read stdin or write stdout: {exc}") from None


def _lines(stream: BinaryIO, limit: int) -> Iterator[bytes | None]:
    """Each line of ``stream`` without its line end, as bytes (decoded line by line, so that
    one bad line spoils nothing else); None for a line over ``limit`` bytes, read and dropped."""
    while line := stream.readline(limit + 1):
        if len(line) > limit and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):
                line = stream.readline(limit + 1)
            yield None
        else:
            yield line.removesuffix(b"\n").removesuffix(b"\r")


class _BadLine(Exception):
    """A ``classify`` input line that cannot be read: its id (if any) and why."""

    def __init__(self, article_id: Any, reason: str) -> None:
        super().__init__(reason)
        self.article_id = article_id


def _classify_line(engine: Any, line: bytes | None, number: int) -> dict[str, Any]:
    try:
        article_id, article = _article(line, number)
    except _BadLine as bad:
        shown = bad.article_id if isinstance(bad.article_id, str | int) else None
        return {"id": shown, "line": number, "error": str(bad)}
    out: dict[str, Any] = engine.classify(article).to_json()
    out["id"] = article_id
    return out


def _article(line: bytes | None, number: int) -> tuple[Any, Any]:
    """The line's id as given and its article."""
    from processors.classify import ArticleText

    if line is None:
        raise _BadLine(None, f"line {number} is longer than {MAX_LINE_BYTES} bytes; shorten it")
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _BadLine(
            None,
            f"line {number} is not UTF-8 (byte 0x{line[exc.start]:02x} at {exc.start}); "
            "write UTF-8",
        ) from None
    if not text.strip():
        raise _BadLine(None, f"line {number} is blank; give one JSON object per line")
    try:
        data = json.loads(text.removeprefix("\ufeff") if number == 1 else text)
    except json.JSONDecodeError as exc:
        raise _BadLine(None, f"line {number} is not JSON: {exc.msg}") from None
    except RecursionError:
        raise _BadLine(None, f"line {number} is nested too deeply to read") from None
    except ValueError:  # Python refuses integers of thousands of digits
        raise _BadLine(
            None, f"line {number} holds a number too long to read; write it as a string"
        ) from None
    if not isinstance(data, dict):
        raise _BadLine(None, f"line {number} is not a JSON object")
    article_id = data.get("id")
    if not isinstance(article_id, str | int) or str(article_id) == "":
        raise _BadLine(article_id, "`id` is missing or not a string")
    if isinstance(article_id, str) and _SURROGATE.search(article_id):
        raise _BadLine(None, f"line {number}: `id` holds a lone surrogate (\\ud800-\\udfff)")
    fields: dict[str, str] = {}
    for name in ("title", "summary", "content", "language", "url"):
        value = data.get(name, "")
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise _BadLine(article_id, f"`{name}` must be a string")
        fields[name] = value
    if not fields["title"] and not fields["summary"] and not fields["content"]:
        raise _BadLine(article_id, "no text: give title, summary or content")
    categories = data.get("categories") or []
    if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
        raise _BadLine(article_id, "`categories` must be a list of strings")
    for name, value in (*fields.items(), *(("categories", c) for c in categories)):
        if _SURROGATE.search(value):
            raise _BadLine(
                article_id,
                f"`{name}` holds a lone surrogate (an unpaired \\ud800-\\udfff escape), "
                "which is no character; escape characters beyond U+FFFF as pairs, or send UTF-8",
            )
    return article_id, ArticleText(id=str(article_id), categories=tuple(categories), **fields)


@rules_app.command("check")
def rules_check(file: Annotated[Path, typer.Argument(help="Rule file.", dir_okay=False)]) -> None:
    """Validate a rule file; name every bad rule key and what is allowed."""
    from processors.classify import Engine

    engine = Engine.default(file)
    typer.echo(
        f"{file}: OK ({len(engine.rules.rules)} rules: "
        f"{', '.join(r.id for r in engine.rules.rules)})"
    )


@rules_app.command("test")
def rules_test(
    rules_file: Annotated[Path, typer.Argument(metavar="RULES", help="Rule file.", dir_okay=False)],
    text_file: Annotated[
        Path, typer.Argument(metavar="TEXT_FILE", help="Article text (UTF-8).", dir_okay=False)
    ],
    color: Annotated[
        bool, typer.Option("--color/--no-color", help="Highlight with ANSI colour.")
    ] = True,
) -> None:
    """Show which rules fire on TEXT_FILE, with matched terms highlighted in the text."""
    from processors.classify import ArticleText, Engine

    engine = Engine.default(rules_file)
    try:
        text = text_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise NewsradarError(f"{text_file}: cannot read text: {exc}") from None
    result = engine.classify(ArticleText(id=text_file.name, content=text))
    typer.echo(f"language: {result.language}")
    typer.echo(f"countries: {', '.join(result.countries) or '-'}")
    typer.echo(f"pairs: {', '.join(f'{p} ({n})' for p, n in result.pair_counts.items()) or '-'}")
    typer.echo(f"topics: {', '.join(result.topics) or '-'}")
    typer.echo(f"contexts: {', '.join(sorted(result.contexts)) or '-'}")
    typer.echo(
        "salience: "
        + (
            ", ".join(
                f"{code} {s.score:g} (title {_yes(s.title)}, lead {_yes(s.lead)}, "
                f"share {s.share:.2f}, spread {s.spread:.2f})"
                for code, s in result.salience().items()
            )
            or "-"
        )
    )
    for pair, relation in result.relations().items():
        typer.echo(
            f"relation {pair}: {relation.score:g} "
            f"({len(relation.sentences)} of {relation.cooccurrences} sentences naming both)"
        )
        for sentence in relation.sentences:
            cues = ", ".join(sentence.cues) or "side by side"
            typer.echo(f"  {sentence.kind} {sentence.weight:g} [{cues}] {sentence.text}")
    for verdict in result.verdicts:
        mark = "FIRED" if verdict.fired else "no"
        typer.echo(
            f"rule {verdict.rule.id} v{verdict.rule.version}: {mark} "
            f"score={verdict.score:g} ({'; '.join(verdict.reasons)})"
        )
    typer.echo("")
    typer.echo(highlight(text, [(m.start, m.end, m.denotes) for m in result.matches], color))


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def highlight(text: str, spans: list[tuple[int, int, str]], color: bool) -> str:
    """``text`` with each span wrapped: ANSI reverse video, or [[term|denotes]] without colour."""
    out = []
    pos = 0
    for start, end, denotes in sorted({(s, e, d) for s, e, d in spans}):
        if start < pos:
            continue
        out.append(text[pos:start])
        term = text[start:end]
        out.append(
            f"\x1b[7m{term}\x1b[0m\x1b[2m[{denotes}]\x1b[0m" if color else f"[[{term}|{denotes}]]"
        )
        pos = end
    out.append(text[pos:])
    return "".join(out)
