"""`newsradar up --demo` as a new user runs it: alerts within a minute while the samples are
still being replayed, then the surge, Ctrl-C stops all."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import feedparser
import httpx

from newsradar.demo import demo_articles
from tests.conftest import REPO, clean_env, free_ports, run_cli
from tests.integration.test_broker import _kafka_pids_for


def test_demo_pipeline_raises_the_reference_alert_and_stops_cleanly(tmp_path: Path) -> None:
    broker_port, controller, m1, m2, m3, dashboard = free_ports(6)
    env = clean_env(
        NEWSRADAR_DATA_DIR=str(tmp_path),
        NEWSRADAR_BROKER__PORT=str(broker_port),
        NEWSRADAR_BROKER__CONTROLLER_PORT=str(controller),
        NEWSRADAR_PRODUCERS__METRICS_PORT=str(m1),
        NEWSRADAR_PROCESSORS__METRICS_PORT=str(m2),
        NEWSRADAR_SINKS__METRICS_PORT=str(m3),
        NEWSRADAR_DASHBOARD__PORT=str(dashboard),
        NEWSRADAR_TOPICS__ARTICLES__PARTITIONS="2",
        NEWSRADAR_TOPICS__ALERTS__PARTITIONS="2",
    )
    log = (tmp_path / "up.log").open("wb")
    up = subprocess.Popen(
        [sys.executable, "-m", "newsradar", "up", "--demo", "--demo-minutes", "1"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        found: list[dict[str, object]] = []
        deadline = time.monotonic() + 180
        stages_started: float | None = None  # when the replay began
        while not found and time.monotonic() < deadline and up.poll() is None:
            time.sleep(2)
            if stages_started is None and "Ctrl-C stops." in log_text(tmp_path):
                stages_started = time.monotonic()
            listed = run_cli("alerts", "list", "--json", "--rule", "iraq-russia", env=env)
            found = [
                a
                for a in map(json.loads, listed.stdout.splitlines())
                if a["article_url"].endswith("/articles/elaph-iraq-russia")
            ]
        assert found, (tmp_path / "up.log").read_text(errors="replace")[-4000:]
        assert stages_started is not None
        first_alert_seconds = time.monotonic() - stages_started
        print(f"first alert {first_alert_seconds:.0f} s after the stages started")
        assert first_alert_seconds < 60, log_text(tmp_path)[-4000:]
        # The first alert came while the replay is still going: the feeds do not hold every
        # sample yet (the rest appear over the next minutes, the surge last).
        served = re.search(r"Demo: serving 2 sample feeds at (\S+), (\S+)", log_text(tmp_path))
        assert served is not None
        shown = [len(feedparser.parse(httpx.get(url).content).entries) for url in served.groups()]
        assert 0 < sum(shown) < len(demo_articles())
        assert {"IQ", "RU"} <= set(found[0]["countries"])  # type: ignore[call-overload]
        # The dashboard serves it, on its page's API and in its Atom feed, on one port.
        feed = feedparser.parse(
            httpx.get(f"http://127.0.0.1:{dashboard}/feeds/iraq-russia.atom").content
        )
        assert any(e.link.endswith("/articles/elaph-iraq-russia") for e in feed.entries)
        metrics = httpx.get(f"http://127.0.0.1:{dashboard}/metrics").text
        assert 'newsradar_dashboard_requests_total{code="200",route="/feeds/{name}"}' in metrics
        listed = httpx.get(f"http://127.0.0.1:{dashboard}/api/alerts?rule=iraq-russia").json()
        assert any(
            i["alert"]["article_url"].endswith("/articles/elaph-iraq-russia")
            for i in listed["alerts"]
        )
        # The replay ends in a burst of Iraq-Russia stories: the processors see the pair surge.
        wait = time.monotonic() + 120
        while "Country pair surging. pair=IQ-RU" not in log_text(tmp_path):
            assert time.monotonic() < wait, log_text(tmp_path)[-4000:]
            time.sleep(2)

        def iraq_russia_this_hour() -> int:
            pairs = httpx.get(f"http://127.0.0.1:{dashboard}/api/pairs?hours=1").json()["pairs"]
            return sum(sum(p["counts"]) for p in pairs if p["pair"] == "IQ-RU")

        while iraq_russia_this_hour() < 11:  # every Iraq-Russia sample, the burst included
            assert time.monotonic() < wait, log_text(tmp_path)[-4000:]
            time.sleep(2)
    finally:
        up.send_signal(signal.SIGINT)
        try:
            code = up.wait(90)
        except subprocess.TimeoutExpired:
            up.kill()
            code = up.wait()
        log.close()
    output = (tmp_path / "up.log").read_text(errors="replace")
    assert code == 0, output[-3000:]
    assert "Demo: serving 2 sample feeds" in output
    assert "Demo: replaying 15 sample articles over 1 minute (--demo-minutes)" in output
    assert "Country pair surging. pair=IQ-RU" in output
    assert f"Dashboard: http://127.0.0.1:{dashboard}/" in output
    assert output.rstrip().endswith("Stopped.")
    assert _kafka_pids_for(tmp_path) == []


def log_text(tmp_path: Path) -> str:
    return (tmp_path / "up.log").read_text(errors="replace")
