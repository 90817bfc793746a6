"""Headless Chromium (Debian's chromium and chromedriver) driven by Selenium, for the tests that
must see what a real browser does."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver


@contextmanager
def chromium(*flags: str, network_log: bool = False) -> Iterator[WebDriver]:
    """A headless Chromium with extra command-line ``flags``; with ``network_log``, every
    response it receives can be read back with :func:`responses`."""
    binary, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if binary is None or driver is None:
        pytest.fail(
            "chromium and chromedriver not found: install Debian's chromium and "
            "chromium-driver (scripts/test.sh does)"
        )
    # The drivers are Debian's; Selenium need not look anything up online.
    os.environ.setdefault("SE_AVOID_STATS", "true")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(flag)
    options.add_argument("--window-size=1400,1000")
    for flag in flags:
        options.add_argument(flag)
    if network_log:
        options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    made = webdriver.Chrome(service=Service(driver), options=options)
    try:
        yield made
    finally:
        made.quit()


def responses(browser: WebDriver) -> list[dict[str, Any]]:
    """The responses the browser received since the last call: url, status, type (Document,
    Script, Fetch, EventSource, ...) and headers (names in lower case)."""
    found = []
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] != "Network.responseReceived":
            continue
        params = message["params"]
        response = params["response"]
        found.append(
            {
                "url": response["url"],
                "status": response["status"],
                "type": params.get("type", ""),
                "headers": {k.lower(): v for k, v in response["headers"].items()},
            }
        )
    return found
