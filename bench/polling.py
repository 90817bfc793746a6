"""Benchmark of the producers stage, not a test.

5,000 feeds served by a local HTTP server (a separate process, on 127.0.0.1):

- changed cycle: every feed answers 200 with 10 new items (fetch, parse, normalise, dedup,
  queue for Kafka; the Kafka send itself is left out: bench/pipeline.py covers it);
- 304 cycle: every feed answers 304 Not Modified to our conditional GET.

Baseline, in the same run: bare ``feedparser.parse`` over the same bodies, against our
``parse_feed`` (parse + normalise). Politeness is set aside here (all feeds share one host):
per-host concurrency is raised to the global limit and the per-host delay to 0.

Targets: the 304 cycle in under 30 s; parse_overhead_ratio <= 1.25.
Last line: one JSON object with the figures.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import feedparser

from newsradar.settings import load_settings
from producers.feeds import FeedSpec
from producers.normalize import parse_feed
from producers.rss import FeedPoller
from producers.state import ProducerState

FEEDS = 5000
ITEMS = 10
ROOT = Path(__file__).resolve().parent


def feed_body(index: int, generation: int, samples: list[dict[str, str]]) -> bytes:
    rng = random.Random(index * 1000 + generation)
    items = []
    for k in range(ITEMS):
        s = samples[rng.randrange(len(samples))]
        when = format_datetime(datetime(2026, 11, 28, 12, k, tzinfo=UTC), usegmt=True)
        items.append(
            f"<item><title>{escape(s['title'])}</title>"
            f"<link>https://news{index}.example/{generation}/{k}?utm_source=rss</link>"
            f"<guid>feed{index}-g{generation}-{k}</guid><pubDate>{when}</pubDate>"
            f"<description>{escape('<p>' + s['content'] + '</p>')}</description></item>"
        )
    lang = "ar" if index % 2 else "en"
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Feed {index}</title><language>{lang}</language>{''.join(items)}</channel></rss>"
    ).encode()


def serve(port_out: multiprocessing.Queue[int], samples: list[dict[str, str]]) -> None:
    generation = [1]
    cache: dict[tuple[int, int], bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            if self.path == "/bump":
                generation[0] += 1
                body, status, etag = b"ok", 200, ""
            else:
                index = int(self.path.rsplit("/", 1)[1])
                etag = f'"{index}-{generation[0]}"'
                if self.headers.get("If-None-Match") == etag:
                    body, status = b"", 304
                else:
                    key = (index, generation[0])
                    if key not in cache:
                        cache[key] = feed_body(index, generation[0], samples)
                    body, status = cache[key], 200
            self.send_response(status)
            if etag:
                self.send_header("ETag", etag)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.request_queue_size = 1024
    port_out.put(server.server_address[1])
    server.serve_forever()


def main() -> None:
    samples = [
        json.loads(line)
        for line in (ROOT.parent / "newsradar" / "demo" / "articles.jsonl").read_text().splitlines()
        if line.strip()
    ]
    ports: multiprocessing.Queue[int] = multiprocessing.Queue()
    proc = multiprocessing.Process(target=serve, args=(ports, samples), daemon=True)
    proc.start()
    port = ports.get(timeout=30)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings = load_settings(
                None,
                env={
                    "NEWSRADAR_DATA_DIR": tmp,
                    "NEWSRADAR_PRODUCERS__MAX_CONCURRENCY": "64",
                    "NEWSRADAR_PRODUCERS__PER_HOST_CONCURRENCY": "64",
                    "NEWSRADAR_PRODUCERS__PER_HOST_DELAY_SECONDS": "0",
                },
            )
            feeds = [FeedSpec(url=f"http://127.0.0.1:{port}/feed/{i}") for i in range(FEEDS)]
            state = ProducerState(Path(tmp) / "state.sqlite")
            poller = FeedPoller(settings, feeds, state, None)

            async def cycle() -> tuple[float, int, list[str]]:
                started = time.perf_counter()
                outcomes = await poller.run_cycle()
                return (
                    time.perf_counter() - started,
                    sum(o.new for o in outcomes),
                    [o.outcome for o in outcomes],
                )

            async def run() -> dict[str, float]:
                try:
                    changed_s, new, changed_outcomes = await cycle()
                    not_modified_s, _, nm_outcomes = await cycle()
                finally:
                    await poller.aclose()
                assert changed_outcomes.count("ok") == FEEDS, set(changed_outcomes)
                assert nm_outcomes.count("not_modified") == FEEDS, set(nm_outcomes)
                return {"changed_s": changed_s, "new": new, "nm_s": not_modified_s}

            r = asyncio.run(run())
            print(
                f"changed cycle: {FEEDS} feeds in {r['changed_s']:.1f}s = "
                f"{FEEDS / r['changed_s']:.0f} feeds/s, {r['new'] / r['changed_s']:.0f} articles/s "
                f"({r['new']:.0f} new articles)"
            )
            print(
                f"304 cycle:     {FEEDS} feeds in {r['nm_s']:.1f}s = {FEEDS / r['nm_s']:.0f} feeds/s"
            )

        bodies = [feed_body(i, 1, samples) for i in range(1000)]
        fetched = datetime.now(UTC)
        # Alternate the two, three rounds each, and keep each one's best round: both see the
        # same machine state, and a burst of load elsewhere does not decide the ratio.
        bare_runs, ours_runs = [], []
        for _ in range(3):
            t0 = time.perf_counter()
            for body in bodies:
                feedparser.parse(body, sanitize_html=False)
            bare_runs.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            for i, body in enumerate(bodies):
                parse_feed(body, feed_url=f"http://x/{i}", fetched_at=fetched)
            ours_runs.append(time.perf_counter() - t0)
        bare_s, ours_s = min(bare_runs), min(ours_runs)
        articles = len(bodies) * ITEMS
        print(
            f"parse: bare feedparser {articles / bare_s:.0f} articles/s, "
            f"parse+normalise {articles / ours_s:.0f} articles/s, ratio {ours_s / bare_s:.2f}"
        )
    finally:
        proc.terminate()
    result = {
        "feeds": FEEDS,
        "cycle_changed_seconds": round(r["changed_s"], 2),
        "cycle_changed_feeds_per_s": round(FEEDS / r["changed_s"], 1),
        "cycle_changed_articles_per_s": round(r["new"] / r["changed_s"], 1),
        "cycle_304_seconds": round(r["nm_s"], 2),
        "cycle_304_feeds_per_s": round(FEEDS / r["nm_s"], 1),
        "bare_feedparser_articles_per_s": round(articles / bare_s, 1),
        "ours_articles_per_s": round(articles / ours_s, 1),
        "parse_overhead_ratio": round(ours_s / bare_s, 3),
    }
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
