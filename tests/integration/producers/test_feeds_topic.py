"""`newsradar feeds add/remove/list/import/export/sync` on the real broker."""

from __future__ import annotations

import json
import time
from pathlib import Path

from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType

from newsradar.compacted import read_table, write_table
from newsradar.schemas import FeedStatus, encode, feed_key
from newsradar.settings import load_settings
from tests.conftest import run_cli
from tests.integration.conftest import KafkaEnv


def test_feeds_are_added_listed_exported_imported_synced_and_removed(
    kafka: KafkaEnv, tmp_path: Path
) -> None:
    run = time.time_ns()
    topic = f"newsradar.feeds-{run}"  # this test's own tables on the shared broker
    env = kafka.process_env(
        NEWSRADAR_TOPICS__FEEDS__NAME=topic,
        NEWSRADAR_TOPICS__FEED_STATE__NAME=f"newsradar.feed-state-{run}",
    )
    settings = load_settings(None, env=env)

    def cli(*args: str) -> tuple[int, str, str]:
        proc = run_cli("feeds", *args, env=env)
        return proc.returncode, proc.stdout, proc.stderr

    def listed() -> list[dict[str, object]]:
        code, out, err = cli("list", "--json")
        assert (code, err) == (0, "")
        return [json.loads(line) for line in out.splitlines()]

    assert listed() == []
    code, out, _ = cli(
        "add", "https://a.example/rss", "--name", "A", "--language", "ar", "--tag", "iraq"
    )
    assert (code, out) == (0, "+ https://a.example/rss\n")
    code, out, _ = cli("add", "HTTPS://A.EXAMPLE:443/rss", "--name", "A2", "--interval", "90")
    assert code == 0
    assert out.startswith("~ HTTPS://A.EXAMPLE:443/rss (url: ")  # one feed, not two
    assert "name: 'A' -> 'A2'" in out
    cli("add", "https://b.example/atom", "--tag", "gulf/qa", "--tag", "iraq")
    assert [(f["url"], f["name"], f["tags"]) for f in listed()] == [
        ("HTTPS://A.EXAMPLE:443/rss", "A2", []),
        ("https://b.example/atom", "", ["gulf/qa", "iraq"]),
    ]

    # OPML round trip: export, empty the topic, import, the same feeds (OPML carries no
    # interval or language; they are left out of the comparison).
    code, opml, _ = cli("export", "--opml")
    assert code == 0
    (tmp_path / "feeds.opml").write_text(opml)
    before = listed()
    state_topic = settings.topics.feed_state.name
    polled = FeedStatus(url="https://a.example/rss", etag='"v1"', producer="host:1")
    write_table(settings, state_topic, {feed_key(polled.url): encode(polled)})
    assert list(read_table(settings, state_topic)) == [feed_key(polled.url)]
    assert cli("remove", "https://a.example/rss")[1] == "- https://a.example/rss\n"
    # A removed feed's health and dedup memory leave newsradar.feed-state with it.
    assert read_table(settings, state_topic) == {}
    assert cli("remove", "https://b.example/atom")[0] == 0
    assert listed() == []
    code, out, _ = cli("import", str(tmp_path / "feeds.opml"))
    assert (code, out) == (0, "+ HTTPS://A.EXAMPLE:443/rss\n+ https://b.example/atom\n")
    after = listed()
    assert [(f["url"], f["name"], f["tags"]) for f in after] == [
        (f["url"], f["name"], f["tags"]) for f in before
    ]

    # sync: the topic made to match a file, the diff printed; --dry-run changes nothing.
    code, yaml_list, _ = cli("export")
    assert code == 0
    assert "https://b.example/atom" in yaml_list
    wanted = tmp_path / "feeds.yaml"
    wanted.write_text(
        "feeds:\n  - {url: 'https://b.example/atom', tags: [gulf/qa, iraq]}\n"
        "  - {url: 'https://c.example/rss', name: C}\n"
    )
    code, out, err = cli("sync", str(wanted), "--dry-run")
    assert (code, out) == (0, "+ https://c.example/rss\n- HTTPS://A.EXAMPLE:443/rss\n")
    assert "would change 2 feeds (1 added, 0 changed, 1 removed)" in err
    assert [f["url"] for f in listed()] == ["HTTPS://A.EXAMPLE:443/rss", "https://b.example/atom"]
    code, out, _ = cli("sync", str(wanted))
    assert (code, out) == (0, "+ https://c.example/rss\n- HTTPS://A.EXAMPLE:443/rss\n")
    assert [f["url"] for f in listed()] == ["https://b.example/atom", "https://c.example/rss"]
    assert cli("sync", str(wanted))[1] == ""  # in sync: nothing to do

    code, _, err = cli("remove", "https://nowhere.example/rss")
    assert (code, err) == (  # not there: exit 1, as `rules remove` of a missing rule
        1,
        f"newsradar: error: https://nowhere.example/rss: not in {topic}; "
        "`newsradar feeds list` shows its feeds\n",
    )

    admin = KafkaAdminClient(bootstrap_servers=kafka.bootstrap)
    try:
        described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    finally:
        admin.close()
    (configs,) = described.values()  # {resource type: {topic: {key: {"value": ...}}}}
    assert configs[topic]["cleanup.policy"]["value"] == "compact"
