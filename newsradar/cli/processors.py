"""``newsradar processors``, ``newsradar classify`` and ``newsradar rules``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from newsradar.cli.context import serve_metrics, state
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

    require_running(settings)
    ensure_topics(settings)
    faust_app = create_app(settings)
    conf = settings.processors
    serve_metrics("processors", conf.metrics_host, conf.metrics_port)
    # faust narrates every service start and stop at INFO; in the combined log of `newsradar up`
    # that drowns the pipeline's own events, so it speaks from WARNING unless asked for DEBUG.
    faust_level = "debug" if cli.log_level == "DEBUG" else "warning"
    worker = Worker(faust_app, loglevel=faust_level, quiet=True)
    worker.execute_from_commandline()


def classify(
    rules: RulesOption = None,
) -> None:
    """Classify JSON Lines articles from stdin: one JSON line out per line in, in order.

    Each input line holds `id`, `title` and optionally `summary`, `content`, `language`, `url`
    and `categories` (the feed's categories, a list of strings). Each output line gives the
    countries, pairs, topics, rules fired, matches, and per country its salience and per pair
    the relation score with the sentences that make it. A line that cannot be read gives
    {"id": ..., "error": "..."} and the run goes on.
    """
    from processors.classify import Engine

    engine = Engine.default(rules)
    out = sys.stdout
    try:
        for number, line in enumerate(sys.stdin, start=1):
            if not line.strip():
                continue
            out.write(json.dumps(_classify_line(engine, line, number), ensure_ascii=False) + "\n")
            out.flush()
    except (OSError, UnicodeDecodeError) as exc:
        raise NewsradarError(f"cannot read stdin: {exc}") from None


class _BadLine(Exception):
    """A ``classify`` input line that cannot be read: its id (if any) and why."""

    def __init__(self, article_id: Any, reason: str) -> None:
        super().__init__(reason)
        self.article_id = article_id


def _classify_line(engine: Any, line: str, number: int) -> dict[str, Any]:
    try:
        article_id, article = _article(line, number)
    except _BadLine as bad:
        return {"id": bad.article_id, "line": number, "error": str(bad)}
    out: dict[str, Any] = engine.classify(article).to_json()
    out["id"] = article_id
    return out


def _article(line: str, number: int) -> tuple[Any, Any]:
    """The line's id as given and its article."""
    from processors.classify import ArticleText

    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise _BadLine(None, f"line {number} is not JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise _BadLine(None, f"line {number} is not a JSON object")
    article_id = data.get("id")
    if not isinstance(article_id, str | int) or str(article_id) == "":
        raise _BadLine(article_id, "`id` is missing or not a string")
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
