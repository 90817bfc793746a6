"""Rules on the real broker: pushed, changed, refused and removed while a worker runs, with
no restart; every alert carries the version of the rule that made it."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaProducer

from newsradar.kafka_admin import ensure_topics
from newsradar.rules_topic import read_rules
from newsradar.schemas import Alert, Article, DeadLetter, encode
from newsradar.settings import Settings, load_settings
from tests.conftest import REPO, free_ports
from tests.integration.conftest import KafkaEnv, decoded, service

pytestmark = pytest.mark.integration

RULES = """
rules:
  - id: watch
    description: {description}
    keywords: {{any: [{keyword}]}}
  - id: pipelines
    keywords: {{any: [pipeline]}}
"""


def cli(kafka: KafkaEnv, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "newsradar", *args],
        check=False,
        cwd=REPO,
        env=kafka.process_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )


@contextmanager
def worker(kafka: KafkaEnv, env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    (port,) = free_ports(1)
    with service(
        kafka, ["processors", "run"], log, NEWSRADAR_PROCESSORS__METRICS_PORT=str(port), **env
    ) as proc:
        yield proc


class Pipeline:
    """Sends articles to the worker's topic and waits for their alerts."""

    def __init__(self, kafka: KafkaEnv, settings: Settings, run: int) -> None:
        self.kafka = kafka
        self.settings = settings
        self.run = run
        self.producer = KafkaProducer(bootstrap_servers=kafka.bootstrap, acks="all")
        self.sent = 0

    def send(self, text: str) -> str:
        self.sent += 1
        now = datetime.now(UTC)
        article = Article(
            id=f"live-{self.run}-{self.sent}",
            url=f"https://example.org/{self.run}/{self.sent}",
            title=f"Report {self.sent}",
            content=text,
            language="en",
            published=now,
            fetched_at=now,
            feed="https://example.org/rss.xml",
        )
        self.producer.send(
            self.settings.topics.articles.name, key=article.id.encode(), value=encode(article)
        ).get(timeout=30)
        return article.id

    def alerts(self, article_ids: set[str], want: int, timeout: float = 60) -> list[Alert]:
        def pick(message: Any) -> Alert | None:
            alert = decoded(Alert, message)
            return alert if alert is not None and alert.article_id in article_ids else None

        return self.kafka.consume(
            self.settings.topics.alerts.name, pick, want=want, timeout_seconds=timeout
        )

    def first_alert_by(self, rule: str, version: int, text: str) -> tuple[str, list[Alert]]:
        """Send ``text`` as new articles, one a few seconds, until one raises ``rule``'s alert
        at ``version`` (the worker swaps rules a moment after a push); that article and all
        the alerts it raised."""
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            article_id = self.send(text)
            raised = self.alerts({article_id}, want=2, timeout=8)
            if any(a.rule_id == rule and a.rule_version == version for a in raised):
                return article_id, raised
        raise AssertionError(f"no alert of {rule} v{version} within 90 s")


def test_rules_pushed_changed_refused_and_removed_while_the_worker_runs(
    kafka: KafkaEnv, tmp_path: Path
) -> None:
    run = time.time_ns()
    env = {
        "NEWSRADAR_PROCESSORS__APP_ID": f"live-rules-{run}",
        "NEWSRADAR_TOPICS__ARTICLES__NAME": f"live-rules-{run}.articles",
        "NEWSRADAR_TOPICS__ALERTS__NAME": f"live-rules-{run}.alerts",
        "NEWSRADAR_TOPICS__RULES__NAME": f"live-rules-{run}.rules",
    }
    settings = load_settings(None, env={**kafka.env, **env})
    ensure_topics(settings)
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES.format(description="first", keyword="memorandum"))
    pushed = cli(kafka, env, "rules", "push", str(rules))
    assert pushed.returncode == 0, pushed.stderr
    assert "+ watch v1" in pushed.stdout

    pipeline = Pipeline(kafka, settings, run)
    with worker(kafka, env, tmp_path / "worker.log") as proc:
        _, raised = pipeline.first_alert_by("watch", 1, "They signed a memorandum.")
        assert [(a.rule_id, a.rule_version) for a in raised] == [("watch", 1)]

        # A changed rule: pushed while the worker runs, version 2, different keyword.
        rules.write_text(RULES.format(description="second", keyword="treaty"))
        pushed = cli(kafka, env, "rules", "push", str(rules))
        assert pushed.returncode == 0, pushed.stderr
        assert "~ watch v1 -> v2" in pushed.stdout
        _, raised = pipeline.first_alert_by("watch", 2, "They signed a treaty.")
        assert {(a.rule_id, a.rule_version) for a in raised} == {("watch", 2)}
        # The old keyword no longer alerts: this article waits behind one that does.
        quiet = pipeline.send("They signed a memorandum.")
        loud = pipeline.send("They signed a treaty.")
        raised = pipeline.alerts({quiet, loud}, want=2, timeout=15)
        assert [(a.article_id, a.rule_version) for a in raised] == [(loud, 2)]

        # A rule that does not validate is refused with `rules check`'s errors; nothing moves.
        bad = tmp_path / "bad.yaml"
        bad.write_text(RULES.format(description="third", keyword="treaty") + "    colour: red\n")
        checked = cli(kafka, env, "rules", "check", str(bad))
        refused = cli(kafka, env, "rules", "push", str(bad))
        assert refused.returncode == checked.returncode == 3
        assert refused.stderr == checked.stderr
        assert "colour" in refused.stderr
        assert read_rules(settings).rules["watch"].version == 2

        # A record on the topic the worker cannot use is dead-lettered; it keeps its rules.
        producer = KafkaProducer(bootstrap_servers=kafka.bootstrap, acks="all")
        producer.send(
            settings.topics.rules.name,
            key=b"watch",
            value=b'{"rule_id": "watch", "version": 3, "rule": {"id": "watch", "colour": 1}}',
        ).get(timeout=30)
        producer.close()
        letters = kafka.consume(
            settings.topics.deadletter.name,
            lambda m: (
                letter
                if (letter := decoded(DeadLetter, m)) is not None
                and letter.topic == settings.topics.rules.name
                else None
            ),
            worker=proc,
        )
        assert letters, "the unreadable rule record was not dead-lettered"
        assert letters[0].stage == "processors"
        assert "colour" in letters[0].reason
        pipeline.first_alert_by("watch", 2, "They signed a treaty.")

        # A removed rule stops alerting; the other rule still does.
        removed = cli(kafka, env, "rules", "remove", "watch")
        assert removed.returncode == 0, removed.stderr
        _, raised = pipeline.first_alert_by("pipelines", 1, "A treaty on a pipeline.")
        deadline = time.monotonic() + 60
        while any(a.rule_id == "watch" for a in raised) and time.monotonic() < deadline:
            _, raised = pipeline.first_alert_by("pipelines", 1, "A treaty on a pipeline.")
        assert [a.rule_id for a in raised] == ["pipelines"]
        listed = cli(kafka, env, "rules", "list")
        assert listed.stdout.split("\t")[0] == "pipelines"
        assert "watch" not in listed.stdout
        assert proc.poll() is None  # never restarted


def test_sync_prints_the_diff_and_makes_the_topic_match_the_file(
    kafka: KafkaEnv, tmp_path: Path
) -> None:
    run = time.time_ns()
    env = {"NEWSRADAR_TOPICS__RULES__NAME": f"sync-rules-{run}.rules"}
    settings = load_settings(None, env={**kafka.env, **env})
    ensure_topics(settings)
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES.format(description="first", keyword="memorandum"))
    assert cli(kafka, env, "rules", "push", str(rules)).returncode == 0
    one = tmp_path / "one.yaml"
    one.write_text("rules:\n  - id: watch\n    keywords: {any: [treaty]}\n")

    dry = cli(kafka, env, "rules", "sync", str(one), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines()[:2] == ["~ watch v1 -> v2", "- pipelines"]
    assert "would change" in dry.stdout
    assert {r: rec.version for r, rec in read_rules(settings).rules.items()} == {
        "watch": 1,
        "pipelines": 1,
    }

    synced = cli(kafka, env, "rules", "sync", str(one))
    assert synced.returncode == 0, synced.stderr
    in_force = read_rules(settings).rules
    assert {r: rec.version for r, rec in in_force.items()} == {"watch": 2}
    assert in_force["watch"].rule["keywords"]["any"] == ["treaty"]
    again = cli(kafka, env, "rules", "sync", str(one))
    assert again.stdout.splitlines() == [
        f"{settings.topics.rules.name}: changed 0 added, 0 changed, 0 removed, 1 unchanged"
    ]
    missing = cli(kafka, env, "rules", "remove", "pipelines")
    assert missing.returncode == 1
    assert "'pipelines' is not on" in missing.stderr
