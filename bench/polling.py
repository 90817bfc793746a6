"""Benchmark of the producers stage, not a test.

5,000 feeds served by a local HTTP server (a separate process, on 127.0.0.1):

- changed cycle: every feed answers 200 with 10 new items (fetch, parse, normalise, dedup,
  queue for Kafka; the Kafka send itself is left out: bench/pipeline.py covers it);
- 304 cycle: every feed answers 304 Not Modified to our conditional GET.

Baseline, in the same run: bare ``feedparser.parse`` over the same bodies, against our
``parse_feed`` (parse + normalise). Politeness is set aside here (all feeds share one host):
per-host concurrency is raised to the global limit and the per-host delay to 0.

Targets: the 304 cycle in under 30 s; parse_overhead_ratio <= 1.25.

``--group`` is the scale run (issue 16): 100,000 feeds (``--feeds``) on 1,000 hosts
(``--hosts``: loopback addresses 127.1.x.y, one listening socket each, served by ``--servers``
processes), a real broker started for the run (as bench/pipeline.py does), the feeds written to
a fresh feeds topic, and ``newsradar producers run`` as subprocesses configured by
NEWSRADAR_* variables, with politeness as shipped (64 fetches at once, 2 per host, 1 s between
two requests to a host) and every interval 1 h, so no feed is due twice while we watch:

1. cycle 1: one instance polls every feed once; each answers 200 with a body and an ETag;
2. every status in the feed-state topic is made due (next_poll = now: a fleet restarted after
   an outage longer than the interval), and one fresh instance (taking every feed over with
   its state) polls them: every answer is a 304; then the same with two instances in one group.

Measured at the servers: per feed, how many requests each phase (exactly once is the aim), and
the first and last 304 (the cycle); per instance, peak resident memory (VmHWM); the split from
the statuses' producer field. Baseline in the same run: a bare httpx loop of the same
conditional GETs (64 at once, no politeness, no state). Targets: the cycle within 300 s at
<= 500 MB per instance, every feed polled exactly once with two instances.

    .venv/bin/python bench/polling.py                  # 5,000 feeds, as before
    .venv/bin/python bench/polling.py --group          # 100,000 feeds, one then two instances
    .venv/bin/python bench/polling.py --group --feeds 10000

Last line: one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import random
import socket
import sys
import tempfile
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import feedparser
import httpx
from services import Services, throwaway_broker

from newsradar.compacted import read_table, write_table
from newsradar.schemas import FeedStatus, decode, encode, feed_key
from newsradar.settings import Settings, load_settings
from producers.feeds import FeedSpec, feed_record
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


def small_run() -> None:
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


# --- the scale run (--group) -------------------------------------------------------------------


def host_of(index: int, hosts: int) -> str:
    """Feed ``index``'s host: one of ``hosts`` loopback addresses (127.1.0.1, 127.1.0.2, ...;
    Linux routes all of 127.0.0.0/8 to lo), so per-host politeness applies as to real hosts."""
    j = index % hosts
    return f"127.1.{j // 250}.{j % 250 + 1}"


def scale_serve(
    server: int, servers: int, hosts: int, items: int, ready: multiprocessing.Queue[Any]
) -> None:
    """Serve the feeds of every ``servers``-th host (one listening socket per host address),
    with aiohttp on one event loop per process: the servers share the machine's cores with the
    producers and the broker, and http.server's thread per connection took about as much CPU
    per request as the producer itself. A feed's ETag never changes: a conditional request
    gets 304. Counts requests per feed (200 and 304 apart) and the times of the first and last
    of each kind; ``/stats`` answers them, ``/reset`` clears them."""
    from aiohttp import web

    counts: dict[int, list[int]] = {}
    times: dict[int, list[float]] = {}

    def body(index: int) -> bytes:
        entries = "".join(
            f"<item><title>Feed {index} story {k}</title>"
            f"<link>https://news{index}.example/{k}</link><guid>feed{index}-{k}</guid>"
            f"<pubDate>Sat, 28 Nov 2026 12:0{k % 10}:00 GMT</pubDate>"
            f"<description>Story {k} of feed {index}.</description></item>"
            for k in range(items)
        )
        return (
            f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Feed {index}</title><language>en</language>{entries}</channel></rss>"
        ).encode()

    async def feed(request: web.Request) -> web.Response:
        index = int(request.match_info["index"])
        etag = f'"{index}"'
        status = 304 if request.headers.get("If-None-Match") == etag else 200
        now = time.time()
        c = counts.setdefault(index, [0, 0])
        c[status == 304] += 1
        t = times.setdefault(status, [now, now])
        t[0], t[1] = min(t[0], now), max(t[1], now)
        headers = {"ETag": etag, "Content-Type": "application/rss+xml"}
        if status == 304:
            return web.Response(status=304, headers=headers)
        return web.Response(body=body(index), headers=headers)

    async def stats(request: web.Request) -> web.Response:
        return web.json_response({"counts": counts, "times": times})

    async def reset(request: web.Request) -> web.Response:
        counts.clear()
        times.clear()
        return web.Response(text="ok")

    async def main() -> None:
        app = web.Application()
        app.add_routes(
            [
                web.get("/feed/{index}", feed),
                web.get("/stats", stats),
                web.get("/reset", reset),
            ]
        )
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        ports: dict[str, int] = {}
        for j in range(server, hosts, servers):
            address = host_of(j, hosts)
            sock = socket.socket()
            sock.bind((address, 0))
            sock.listen(256)
            await web.SockSite(runner, sock).start()
            ports[address] = sock.getsockname()[1]
        ready.put(ports)
        await asyncio.Event().wait()

    asyncio.run(main())


class FeedServers:
    def __init__(self, feeds: int, hosts: int, servers: int, items: int) -> None:
        ready: multiprocessing.Queue[Any] = multiprocessing.Queue()
        self.procs = [
            multiprocessing.Process(
                target=scale_serve, args=(k, servers, hosts, items, ready), daemon=True
            )
            for k in range(servers)
        ]
        for proc in self.procs:
            proc.start()
        self.ports: dict[str, int] = {}
        for _ in self.procs:
            self.ports.update(ready.get(timeout=60))
        self.feeds, self.hosts = feeds, hosts
        # One address per server process, for /stats and /reset.
        self.admin = [
            f"http://{host_of(k, hosts)}:{self.ports[host_of(k, hosts)]}" for k in range(servers)
        ]

    def url(self, index: int) -> str:
        host = host_of(index, self.hosts)
        return f"http://{host}:{self.ports[host]}/feed/{index}"

    def _get(self, path: str) -> list[Any]:
        return [json.loads(httpx.get(a + path, timeout=60).content) for a in self.admin]

    def reset(self) -> None:
        for a in self.admin:
            httpx.get(a + "/reset", timeout=60)

    def stats(self) -> tuple[dict[int, list[int]], dict[int, list[float]]]:
        counts: dict[int, list[int]] = {}
        times: dict[int, list[float]] = {}
        for part in self._get("/stats"):
            counts.update({int(k): v for k, v in part["counts"].items()})
            for status, (first, last) in part["times"].items():
                old = times.setdefault(int(status), [first, last])
                old[0], old[1] = min(old[0], first), max(old[1], last)
        return counts, times

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()


class Producers(Services):
    """``newsradar producers run`` instances (what users run), settings by environment."""

    def __init__(self, root: Path, env: dict[str, str], names: list[str]) -> None:
        super().__init__(root, env)
        for name in names:
            self.start(name, ["producers", "run"])

    def instance_names(self) -> dict[str, str]:
        """FeedStatus.producer (host:pid) -> our name."""
        return {f"{socket.gethostname()}:{p.pid}": n for n, p in self.procs.items()}


def wait_polled(
    servers: FeedServers, producers: Producers, status: int, feeds: int, timeout: float
) -> tuple[dict[int, list[int]], dict[int, list[float]]]:
    """Until every feed got a ``status`` answer (200 or 304); then 5 s more, to see repeats."""
    slot = int(status == 304)
    deadline = time.monotonic() + timeout
    last_report = time.monotonic()
    while True:
        producers.check()
        counts, _ = servers.stats()
        done = sum(1 for c in counts.values() if c[slot])
        if done >= feeds:
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"bench: {done} of {feeds} feeds answered {status} in {timeout:.0f}s")
        if time.monotonic() - last_report > 30:
            print(f"  ... {done:,} of {feeds:,} feeds answered {status}", file=sys.stderr)
            last_report = time.monotonic()
        time.sleep(2)
    time.sleep(5)
    return servers.stats()


def mark_due(settings: Settings, feeds: int) -> float:
    """Every feed due now: rewrite each status in the feed-state topic with next_poll = now,
    as a fleet restarted after an outage longer than the interval finds them. Validators,
    poll counts and seen items stay."""
    table = read_table(settings, settings.topics.feed_state.name, timeout_seconds=300)
    if len(table) != feeds:
        raise SystemExit(f"bench: {len(table)} feed states of {feeds} feeds")
    now = time.time()
    changes: dict[str, bytes | None] = {
        key: encode(decode(FeedStatus, value).model_copy(update={"next_poll": now}))
        for key, value in table.items()
    }
    write_table(settings, settings.topics.feed_state.name, changes, timeout_seconds=300)
    return now


def bare_httpx(servers: FeedServers, feeds: int) -> float:
    """Seconds for a bare httpx loop of conditional GETs (304s) over every feed: 64 at once,
    no politeness, no state."""

    async def run() -> float:
        sem = asyncio.Semaphore(64)
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        async with httpx.AsyncClient(limits=limits, timeout=60) as client:

            async def one(i: int) -> None:
                async with sem:
                    r = await client.get(servers.url(i), headers={"If-None-Match": f'"{i}"'})
                    assert r.status_code == 304, r.status_code

            started = time.perf_counter()
            for k in range(0, feeds, 5000):
                await asyncio.gather(*(one(i) for i in range(k, min(feeds, k + 5000))))
            return time.perf_counter() - started

    return asyncio.run(run())


def scale_run(
    feeds: int,
    hosts: int,
    server_count: int,
    items: int,
    *,
    keep: bool,
    baseline: bool = True,
    synthetic_state: bool = False,
) -> None:
    """Producers in a group on a real broker: one instance, then two, over ``feeds`` local
    feeds; per phase every feed is due once (interval 1 h, so none is due twice)."""
    run = f"{time.time_ns()}"
    hour = "3600"
    env = {
        "NEWSRADAR_TOPICS__FEEDS__NAME": f"bench.feeds-{run}",
        "NEWSRADAR_TOPICS__FEED_STATE__NAME": f"bench.feed-state-{run}",
        "NEWSRADAR_TOPICS__ARTICLES__NAME": f"bench.articles-{run}",
        "NEWSRADAR_PRODUCERS__GROUP_ID": f"bench-producers-{run}",
        "NEWSRADAR_PRODUCERS__METRICS_PORT": "0",
        # Every feed polled once per phase: nothing is due again within the hour.
        "NEWSRADAR_PRODUCERS__DEFAULT_INTERVAL_SECONDS": hour,
        "NEWSRADAR_PRODUCERS__MIN_INTERVAL_SECONDS": hour,
        "NEWSRADAR_PRODUCERS__MAX_INTERVAL_SECONDS": hour,
        # Politeness as shipped (defaults): 64 fetches at once, 2 per host, 1 s between two
        # requests to one host.
    }
    servers = FeedServers(feeds, hosts, server_count, items)
    producers: Producers | None = None
    result: dict[str, Any] = {"feeds": feeds, "hosts": hosts, "items": items}
    try:
        with throwaway_broker("newsradar-bench-polling-", env, keep=keep) as kafka:
            root, settings = kafka.root, kafka.settings
            seed = root / "no-feeds.yaml"
            seed.write_text("feeds: []\n")
            env = {**kafka.env, "NEWSRADAR_PRODUCERS__FEEDS_FILE": str(seed)}
            conf = settings.producers
            per_host = -(-feeds // hosts)
            print(
                f"{feeds:,} feeds on {hosts:,} hosts ({server_count} server processes), "
                f"{items} item(s) each; politeness as shipped: {conf.max_concurrency} fetches "
                f"at once, {conf.per_host_concurrency} per host, "
                f"{conf.per_host_delay_seconds:g} s between two requests to a host, so one "
                f"instance needs >= {per_host * conf.per_host_delay_seconds:.0f} s per cycle",
                file=sys.stderr,
            )
            try:
                t0 = time.perf_counter()
                write_table(
                    settings,
                    settings.topics.feeds.name,
                    {
                        feed_key(servers.url(i)): feed_record(FeedSpec(url=servers.url(i)))
                        for i in range(feeds)
                    },
                    timeout_seconds=300,
                )
                result["feeds_written_seconds"] = round(time.perf_counter() - t0, 1)
                print(
                    f"feeds topic: {feeds:,} records written in {result['feeds_written_seconds']}s"
                )

                bare = 0.0
                if baseline:
                    bare = bare_httpx(servers, feeds)
                    servers.reset()
                    result["bare_httpx_304_seconds"] = round(bare, 1)
                    print(f"bare httpx, 64 at once, no politeness: {feeds:,} 304s in {bare:.1f}s")

                if synthetic_state:
                    # Cycle 1 left out: the statuses it would leave (the servers' ETags, no items).
                    now = time.time()
                    write_table(
                        settings,
                        settings.topics.feed_state.name,
                        {
                            feed_key(servers.url(i)): encode(
                                FeedStatus(
                                    url=servers.url(i),
                                    etag=f'"{i}"',
                                    polls=1,
                                    last_attempt=now - 3600,
                                    last_success=now - 3600,
                                    interval_seconds=3600,
                                    next_poll=now,
                                    producer="bench",
                                )
                            )
                            for i in range(feeds)
                        },
                        timeout_seconds=300,
                    )
                    print(f"cycle 1 left out: {feeds:,} statuses written with the servers' ETags")
                else:
                    # Cycle 1 (changed: 200 with a body, which gives the validators), one instance.
                    producers = Producers(root, env, ["prime"])
                    counts, times = wait_polled(servers, producers, 200, feeds, timeout=3600)
                    prime_rss = producers.peak_rss_mb()["prime"]
                    producers.stop()
                    producers = None
                    first = times[200]
                    result["cycle_200_seconds"] = round(first[1] - first[0], 1)
                    result["cycle_200_rss_mb"] = prime_rss
                    print(
                        f"cycle 1 (200 + body), 1 instance: {feeds:,} feeds in "
                        f"{first[1] - first[0]:.1f}s, peak resident {prime_rss:.0f} MB"
                    )

                for mode, names in (("one", ["one"]), ("two", ["two-a", "two-b"])):
                    mark_due(settings, feeds)
                    servers.reset()
                    producers = Producers(root, env, names)
                    counts, times = wait_polled(servers, producers, 304, feeds, timeout=3600)
                    rss = producers.peak_rss_mb()
                    owners = producers.instance_names()
                    started = producers.started
                    producers.stop()
                    producers = None
                    first, last = times[304]
                    per_feed = [sum(counts.get(i, [0, 0])) for i in range(feeds)]
                    table = read_table(
                        settings, settings.topics.feed_state.name, timeout_seconds=300
                    )
                    split: dict[str, int] = {}
                    for value in table.values():
                        status = decode(FeedStatus, value)
                        if status.last_attempt and status.last_attempt >= started:
                            who = owners.get(status.producer, status.producer)
                            split[who] = split.get(who, 0) + 1
                    figures = {
                        "cycle_304_seconds": round(last - first, 1),
                        "start_to_last_304_seconds": round(last - started, 1),
                        "rss_mb": rss,
                        "requests_per_feed_min": min(per_feed),
                        "requests_per_feed_max": max(per_feed),
                        "feeds_polled_0_times": per_feed.count(0),
                        "feeds_polled_more_than_once": sum(1 for n in per_feed if n > 1),
                        "answers_200": sum(c[0] for c in counts.values()),
                        "split": split,
                    }
                    result[mode] = figures
                    print(
                        f"cycle (304), {len(names)} instance(s): {feeds:,} feeds in "
                        f"{last - first:.1f}s (first to last request; {last - started:.1f}s from "
                        f"start), {feeds / (last - first):.0f} feeds/s; peak resident "
                        + ", ".join(f"{n} {mb:.0f} MB" for n, mb in rss.items())
                        + f"; requests per feed min {min(per_feed)} max {max(per_feed)}, "
                        f"{figures['feeds_polled_0_times']} polled 0 times, "
                        f"{figures['feeds_polled_more_than_once']} more than once; split {split}"
                    )
                if bare:
                    result["one_to_bare_httpx"] = round(
                        result["one"]["cycle_304_seconds"] / bare, 2
                    )
                print(json.dumps(result))
            finally:
                if producers is not None:
                    producers.stop()
    finally:
        servers.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--group",
        action="store_true",
        help="the scale run: real broker, `newsradar producers run` as one and two instances",
    )
    parser.add_argument("--feeds", type=int, default=None, help="default 5,000; --group: 100,000")
    parser.add_argument("--hosts", type=int, default=1000, help="--group: feed hosts")
    parser.add_argument("--servers", type=int, default=4, help="--group: server processes")
    parser.add_argument("--items", type=int, default=1, help="--group: items per feed")
    parser.add_argument("--keep", action="store_true", help="--group: keep the logs and data")
    parser.add_argument("--no-baseline", action="store_true", help="--group: no bare httpx loop")
    parser.add_argument(
        "--no-cycle-1",
        action="store_true",
        help="--group: write the statuses cycle 1 would leave instead of running it",
    )
    args = parser.parse_args()
    if not args.group:
        if args.feeds not in (None, FEEDS):
            raise SystemExit("the default run has 5,000 feeds; use --group for other counts")
        small_run()
        return
    scale_run(
        args.feeds or 100_000,
        args.hosts,
        args.servers,
        args.items,
        keep=args.keep,
        baseline=not args.no_baseline,
        synthetic_state=args.no_cycle_1,
    )


if __name__ == "__main__":
    main()
