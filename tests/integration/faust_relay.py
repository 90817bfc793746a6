"""A minimal faust worker for the foundation's end-to-end test: Article in, Alert out.

It exercises exactly the path every real stage uses (kafka-python producer -> faust agent ->
kafka-python consumer, with newsradar's record schemas on the wire) without depending on the
detection engine. Run as ``faust -A tests.integration.faust_relay worker``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import faust

from newsradar.errors import SchemaError
from newsradar.schemas import Alert, Article, alert_id, decode, encode
from newsradar.settings import load_settings

settings = load_settings()
app = faust.App(
    "newsradar-test-relay",
    broker=[f"kafka://{s}" for s in settings.bootstrap_servers],
    store="memory://",
    web_enabled=False,
    topic_partitions=settings.topics.articles.partitions,
    datadir=str(settings.data_dir / "faust-relay"),
)


def raw_topic(name: str) -> faust.TopicT:
    return app.topic(
        name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    )


articles = raw_topic(settings.topics.articles.name)
alerts = raw_topic(settings.topics.alerts.name)


@app.agent(articles)
async def relay(stream: AsyncIterator[bytes]) -> None:
    async for value in stream:
        try:
            article = decode(Article, value)
        except SchemaError:  # other tests put malformed records here on purpose
            continue
        alert = Alert(
            id=alert_id("relay", article.id),
            rule_id="relay",
            article_id=article.id,
            article_title=article.title,
            article_published=article.published,
        )
        await alerts.send(key=alert.id.encode(), value=encode(alert))
