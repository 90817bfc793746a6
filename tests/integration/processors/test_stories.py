"""Stories on the real broker: three copies of one story from three feeds are one story with
one push, across a restart of the processors."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from kafka import KafkaProducer

from newsradar.kafka_admin import ensure_topics
from newsradar.schemas import Alert, Article, alert_id, encode
from newsradar.settings import load_settings
from tests.conftest import free_ports
from tests.integration.conftest import KafkaEnv, decoded, service

pytestmark = pytest.mark.integration

LEAD = (
    "Iraqi Foreign Minister Fuad Hussein met his Russian counterpart Sergei Lavrov in Moscow on "
    "Monday. Iraq and Russia agreed to expand cooperation in energy, trade and arms: the two "
    "ministers signed a memorandum on Russian investment in Iraqi oil fields and on supplies of "
    "Russian air defence systems to Baghdad."
)
TAIL = (
    "Lavrov said Russia supports the stability of Iraq and its efforts against terrorism. "
    "Hussein said Baghdad wants Russian companies to take part in rebuilding its power grid."
)


def copy(run: int, n: int, feed: str, published: datetime) -> Article:
    """One of three copies of the story, as three outlets publish it (agency copy, edited)."""
    titles = (
        "Iraq and Russia sign energy and arms memorandum in Moscow",
        "Iraq, Russia sign memorandum on energy and arms after Moscow talks",
        "Russia and Iraq agree energy and arms memorandum",
    )
    content = LEAD + " " + TAIL if n != 2 else LEAD + " (Reporting by the desk)"
    return Article(
        id=f"story-{run}-{n}",
        url=f"https://{feed}/news/{run}-{n}",
        title=titles[n],
        content=content,
        language="en",
        published=published,
        fetched_at=published,
        feed=f"https://{feed}/rss.xml",
    )


@contextmanager
def worker(kafka: KafkaEnv, env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    (port,) = free_ports(1)
    with service(
        kafka, ["processors", "run"], log, NEWSRADAR_PROCESSORS__METRICS_PORT=str(port), **env
    ) as proc:
        yield proc


def test_three_copies_from_three_feeds_are_one_story_with_one_push_across_a_restart(
    kafka: KafkaEnv, tmp_path: Path
) -> None:
    run = time.time_ns()
    # Own topics and app id: the session's worker does not see these articles, and this
    # worker's story table and changelog are its own.
    env = {
        "NEWSRADAR_PROCESSORS__APP_ID": f"stories-{run}",
        "NEWSRADAR_TOPICS__ARTICLES__NAME": f"stories-{run}.articles",
        "NEWSRADAR_TOPICS__ALERTS__NAME": f"stories-{run}.alerts",
    }
    settings = load_settings(None, env={**kafka.env, **env})
    ensure_topics(settings)
    articles_topic = settings.topics.articles.name
    alerts_topic = settings.topics.alerts.name
    start = datetime.now(UTC) - timedelta(hours=1)
    copies = [
        copy(run, n, feed, start + timedelta(minutes=20 * n))
        for n, feed in enumerate(("agency.example", "daily.example", "www.times.test"))
    ]
    producer = KafkaProducer(bootstrap_servers=kafka.bootstrap)

    def send(article: Article) -> None:
        producer.send(articles_topic, key=article.id.encode(), value=encode(article)).get(30)

    def alerts_of(
        proc: subprocess.Popen[bytes] | None, ids: list[str], want: int, timeout: float = 180
    ) -> list[Alert]:
        return kafka.consume(
            alerts_topic,
            lambda m: a if (a := decoded(Alert, m)) and a.article_id in ids else None,
            want=want,
            worker=proc,
            timeout_seconds=timeout,
        )

    try:
        with worker(kafka, env, tmp_path / "first.log") as proc:
            # One after the other: articles on two partitions may be classified in any order,
            # and the story's first article is the first placed.
            send(copies[0])
            first = alerts_of(proc, [copies[0].id], 1)
            send(copies[1])
            first += alerts_of(proc, [copies[1].id], 1)
            assert proc.poll() is None, "processors worker exited"
        # The worker is stopped (SIGTERM) and a new one starts: its story table comes back
        # from the changelog topic.
        with worker(kafka, env, tmp_path / "second.log") as proc:
            send(copies[2])
            third = alerts_of(proc, [copies[2].id], 1)
            assert proc.poll() is None, "processors worker exited"
    finally:
        producer.close()
    # Every record on the topic, re-sent ones included (a restart may re-process an article
    # whose offset was not committed yet): each says the same as the first.
    every = alerts_of(None, [c.id for c in copies], 100, timeout=10)

    story = alert_id("iraq-russia", copies[0].id)
    records = first + third
    assert [a.article_id for a in records] == [c.id for c in copies]
    assert [a.story_id for a in records] == [story] * 3
    assert [a.story_role for a in records] == ["new", "update", "update"]
    assert sum(a.pushes for a in records) == 1  # one push for the story
    assert [a.story_articles for a in records] == [1, 2, 3]
    assert records[2].story_outlets == ("agency.example", "daily.example", "times.test")
    assert records[2].story_languages == ("en",)
    # Each article keeps its own alert (stores keep every article of the story).
    assert [a.id for a in records] == [alert_id("iraq-russia", c.id) for c in copies]
    for again in every:
        same = records[[c.id for c in copies].index(again.article_id)]
        assert (again.story_id, again.story_role) == (same.story_id, same.story_role)
