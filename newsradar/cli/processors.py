"""``newsradar processors``, ``newsradar classify`` and ``newsradar rules``."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, BinaryIO

import typer

from newsradar.cli.context import printable_json, serve_metrics, state
from newsradar.errors import NewsradarError

app = typer.Typer(help="Run the detection stage (faust workers).", no_args_is_help=True)
rules_app = typer.Typer(
    help="Check and try alert rules; publish them to the rules topic.", no_args_is_help=True
)

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
    from newsradar.rules_topic import RulesReader
    from processors.app import create_app, internal_topics
    from processors.classify import Engine
    from processors.live_rules import LiveRules, RulesFollower, dead_letter_to

    # The rules first: a broken rule file is a config error (exit 3, which systemd does not
    # restart on) whether or not Kafka is up yet.
    engine = Engine.default(settings.processors.rules_file)
    require_running(settings)
    ensure_topics(settings, internal=internal_topics(settings))
    # The rules in force are the rules topic's; the rule file seeds a topic that never held
    # a rule, so a fresh install (and `up --demo`) alerts at once.
    reader = RulesReader(settings)
    records = reader.catch_up()
    if not records:
        seeded = _push(settings, engine, remove_others=False)
        logging.getLogger("newsradar.processors").info(
            "Rules topic seeded. topic=%s source=%s rules=%d",
            settings.topics.rules.name,
            engine.rules.source,
            len(seeded.added),
        )
        records = reader.catch_up()
    live = LiveRules(dead_letter_to(settings), records, topic=settings.topics.rules.name)
    RulesFollower(reader, live).start()
    faust_app = create_app(settings, live=live)
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


def _push(settings: Any, engine: Any, *, remove_others: bool, dry_run: bool = False) -> Any:
    """Make the rules topic hold ``engine``'s rules (validated); the plan it carried out."""
    from newsradar import rules_topic

    current = rules_topic.read_rules(settings).rules
    wanted = [rule.model_dump(mode="json") for rule in engine.rules.rules]
    plan = rules_topic.plan(current, wanted, remove_others=remove_others)
    if not dry_run and not plan.empty:
        rules_topic.write(settings, plan)
    return plan


def _print_plan(plan: Any, topic: str, dry_run: bool) -> None:
    for line in plan.lines():
        typer.echo(line)
    verb = "would change" if dry_run else "changed"
    typer.echo(
        f"{topic}: {verb} {len(plan.added)} added, {len(plan.changed)} changed, "
        f"{len(plan.removed)} removed, {len(plan.unchanged)} unchanged"
    )


@rules_app.command("push")
def rules_push(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="Rule file.", dir_okay=False)],
) -> None:
    """Publish the rules of FILE to the rules topic (new or changed ones get a new version);
    running workers swap them in. A file with a rule that does not validate is refused whole,
    with the errors of `rules check`, and nothing is published."""
    from processors.classify import Engine

    engine = Engine.default(file)  # raises what `rules check` prints
    settings = state(ctx).settings()
    _print_plan(_push(settings, engine, remove_others=False), settings.topics.rules.name, False)


@rules_app.command("sync")
def rules_sync(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="Rule file.", dir_okay=False)],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the diff; change nothing.")
    ] = False,
) -> None:
    """Make the rules topic match FILE: push its new and changed rules, remove the rules it
    does not name; print the diff (+ added, ~ changed, - removed)."""
    from processors.classify import Engine

    engine = Engine.default(file)
    settings = state(ctx).settings()
    plan = _push(settings, engine, remove_others=True, dry_run=dry_run)
    _print_plan(plan, settings.topics.rules.name, dry_run)


@rules_app.command("list")
def rules_list(ctx: typer.Context) -> None:
    """The rules in force on the rules topic: id, version, when pushed, description."""
    from newsradar import rules_topic

    settings = state(ctx).settings()
    found = rules_topic.read_rules(settings)
    for rid in sorted(found.rules):
        record = found.rules[rid]
        description = str(record.rule.get("description", "")).replace("\n", " ")
        typer.echo(
            f"{rid}\tv{record.version}\t{record.pushed_at:%Y-%m-%dT%H:%M:%SZ}\t{description}"
        )
    for message, exc in found.unreadable:
        typer.echo(f"unreadable record at offset {message.offset}: {exc}", err=True)


@rules_app.command("remove")
def rules_remove(
    ctx: typer.Context, rule_id: Annotated[str, typer.Argument(metavar="ID", help="Rule id.")]
) -> None:
    """Remove rule ID from the rules topic (a tombstone); workers stop alerting on it."""
    from newsradar import rules_topic

    settings = state(ctx).settings()
    current = rules_topic.read_rules(settings).rules
    if rule_id not in current:
        known = ", ".join(sorted(current)) or "none"
        raise NewsradarError(
            f"rule {rule_id!r} is not on {settings.topics.rules.name} (its rules: {known}); "
            "see `newsradar rules list`"
        )
    rules_topic.write(settings, rules_topic.RulesPlan(removed=(rule_id,)))
    typer.echo(f"{settings.topics.rules.name}: removed {rule_id} (was v{current[rule_id].version})")


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
