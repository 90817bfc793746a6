"""Screenshots of the dashboard in English and Arabic, with the demo's alerts, for docs/.

Runs ``newsradar up --demo`` (its own broker, data directory and ports, a quick replay), waits
for the demo's alerts, and photographs the dashboard in headless Chromium (tests/browser.py) in
each language: the alerts, the pair chart with the demo's surge, feed health:

    .venv/bin/python scripts/screenshots.py        # writes docs/dashboard-en.png, -ar.png
"""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.services import free_ports  # noqa: E402
from tests.browser import chromium  # noqa: E402

ZONE = "Asia/Baghdad"
ALERTS_WANTED = 10


def main() -> None:
    broker, controller, m1, m2, m3, dashboard = free_ports(6)
    with tempfile.TemporaryDirectory() as data:
        env = {
            "PATH": "/usr/bin:/bin",
            "NEWSRADAR_DATA_DIR": data,
            "NEWSRADAR_BROKER__PORT": str(broker),
            "NEWSRADAR_BROKER__CONTROLLER_PORT": str(controller),
            "NEWSRADAR_PRODUCERS__METRICS_PORT": str(m1),
            "NEWSRADAR_PROCESSORS__METRICS_PORT": str(m2),
            "NEWSRADAR_SINKS__METRICS_PORT": str(m3),
            "NEWSRADAR_DASHBOARD__PORT": str(dashboard),
            "NEWSRADAR_DASHBOARD__TIMEZONE": ZONE,
        }
        up = subprocess.Popen(
            [sys.executable, "-m", "newsradar", "up", "--demo", "--demo-minutes", "0.5"],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{dashboard}/"
        try:
            deadline = time.monotonic() + 300
            count = 0
            while count < ALERTS_WANTED and time.monotonic() < deadline:
                time.sleep(3)
                try:
                    count = len(httpx.get(url + "api/alerts").json()["alerts"])
                except (httpx.HTTPError, ValueError, KeyError):
                    continue
            if count < ALERTS_WANTED:
                sys.exit(f"only {count} demo alerts after 5 minutes; see `newsradar up --demo`")
            time.sleep(5)  # the last of the surge
            with chromium("--window-size=1400,1000") as browser:
                browser.get(url)
                for language in ("en", "ar"):
                    Select(browser.find_element(By.ID, "ui-language")).select_by_value(language)
                    time.sleep(3)
                    shot = REPO / "docs" / f"dashboard-{language}.png"
                    browser.save_screenshot(str(shot))
                    print(f"{shot.relative_to(REPO)}: {shot.stat().st_size} bytes")
        finally:
            up.send_signal(signal.SIGINT)
            up.wait(120)


if __name__ == "__main__":
    main()
