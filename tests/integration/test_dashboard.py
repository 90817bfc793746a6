"""The web dashboard end to end in a real headless Chromium (Debian's chromium + chromedriver,
driven by Selenium): live alerts without reload, filters, right-to-left detail with highlights,
the pair chart, the feed-health table, feed text that stays text; search by a variant Arabic
spelling, keyboard triage that survives a reload, CSV export; the Arabic interface laid out right
to left with no English string left, times in the configured zone."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from newsradar.compacted import write_table
from newsradar.kafka_admin import ensure_topics
from newsradar.schemas import Alert, Article, FeedStatus, alert_id, encode, feed_key
from newsradar.settings import Settings, load_settings
from processors.classify import Engine
from producers.feeds import FeedSpec, feed_record
from sinks.export import COLUMNS
from sinks.sqlite import SqliteSink
from tests.browser import chromium
from tests.conftest import REPO, clean_env, free_ports, reference_text
from tests.integration.conftest import KafkaEnv

T = TypeVar("T")
ZONE = "Asia/Baghdad"
CATALOGUES = REPO / "sinks" / "dashboard" / "static" / "i18n"
TIME_HEADER, TIME_CELL = "#alerts th:nth-child(2)", "td:nth-child(2)"  # after the star
PLURAL_FORMS = {"zero", "one", "two", "few", "many", "other"}
NOW = datetime.now(UTC)
HOSTILE = '<script>window.__pwned = 1</script> Iraq & Russia <img src=x onerror="window.__pwned=2">'


def wait_for(check: Callable[[], T], timeout: float = 15, what: str = "condition") -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)


def reference_alert() -> Alert:
    title, body = reference_text()
    article = Article(
        id="elaph-dashboard",
        title=title.strip(),
        content=body,
        url="https://elaph.example/iraq-russia",
        language="ar",
        feed="https://elaph.example/rss",
        published=NOW,
        fetched_at=NOW,
    )
    (alert,) = [a for a in Engine.default().alerts(article) if a.rule_id == "iraq-russia"]
    return alert


def simple_alert(n: int, rule: str, title: str, countries: tuple[str, ...]) -> Alert:
    return Alert(
        id=alert_id(rule, f"a{n}"),
        rule_id=rule,
        article_id=f"a{n}",
        article_title=title,
        article_url=f"https://news.example/{n}",
        article_published=NOW,
        language="en",
        countries=countries,
        pairs=("-".join(sorted(countries)),),
        score=3,
    )


def write_feed_health(settings: Settings) -> None:
    """Two feeds in the settings' feeds topic, their states in its feed-state topic, as the
    producers (on other machines) write them."""
    ensure_topics(settings)
    feeds = [
        FeedSpec(url="https://elaph.example/rss", name="Elaph <b>bold</b>"),
        FeedSpec(url="https://down.example/rss", name="Down"),
    ]
    write_table(
        settings, settings.topics.feeds.name, {feed_key(f.url): feed_record(f) for f in feeds}
    )
    statuses = [
        FeedStatus(
            url="https://elaph.example/rss", last_success=time.time(), producer="prod-a:101"
        ),
        FeedStatus(
            url="https://down.example/rss",
            consecutive_failures=3,
            last_error_class="HTTPStatusError",
            last_error="<script>alert(1)</script> 503",
            producer="prod-b:202",
        ),
    ]
    write_table(
        settings, settings.topics.feed_state.name, {feed_key(s.url): encode(s) for s in statuses}
    )


@contextmanager
def run_dashboard(env: dict[str, str], tmp_path: Path) -> Iterator[tuple[Settings, str]]:
    """``newsradar dashboard run`` with ``env`` and three alerts in its store."""
    (port,) = free_ports(1)
    env = {
        **env,
        "NEWSRADAR_DATA_DIR": str(tmp_path / "data"),
        "NEWSRADAR_DASHBOARD__PORT": str(port),
        "NEWSRADAR_DASHBOARD__POLL_SECONDS": "0.3",
        "NEWSRADAR_DASHBOARD__TIMEZONE": ZONE,
    }
    settings = load_settings(None, env=env)
    store = SqliteSink(settings.alerts_db)
    store.write(
        [
            reference_alert(),
            simple_alert(1, "iraq-russia", HOSTILE, ("IQ", "RU")),
            simple_alert(2, "egypt-china", "Cairo and Beijing sign a port deal", ("CN", "EG")),
        ]
    )
    store.close()
    log = (tmp_path / "dashboard.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "newsradar", "dashboard", "run"],
        cwd=REPO,
        env=clean_env(**env),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    try:

        def answers() -> bool:
            try:
                return httpx.get(url + "healthz").status_code == 200
            except httpx.TransportError:
                return proc.poll() is not None

        wait_for(answers, what="the dashboard to answer")
        assert proc.poll() is None, (tmp_path / "dashboard.log").read_text()
        yield settings, url
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()
        if proc.returncode not in (0, -15):
            print((tmp_path / "dashboard.log").read_text())


@pytest.fixture
def dashboard(kafka: KafkaEnv, tmp_path: Path) -> Iterator[tuple[Settings, str]]:
    """The dashboard on the session's broker, feed health in topics of this test's own."""
    run = time.time_ns()
    env = {
        "NEWSRADAR_KAFKA_BOOTSTRAP": kafka.bootstrap,
        "NEWSRADAR_TOPICS__FEEDS__NAME": f"newsradar.feeds-{run}",
        "NEWSRADAR_TOPICS__FEED_STATE__NAME": f"newsradar.feed-state-{run}",
    }
    write_feed_health(load_settings(None, env=env))
    with run_dashboard(env, tmp_path) as running:
        yield running


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    with chromium() as made:
        yield made


def rows(browser: WebDriver) -> list[Any]:
    return browser.find_elements(By.CSS_SELECTOR, "#alerts tbody tr")


def test_dashboard_in_headless_chromium(
    dashboard: tuple[Settings, str], browser: WebDriver, tmp_path: Path
) -> None:
    settings, url = dashboard
    browser.get(url)
    wait_for(lambda: len(rows(browser)) == 3, what="three alerts")
    wait_for(lambda: browser.find_element(By.ID, "live").text == "live", what="the live stream")

    # Feed text is text: the hostile title shows its markup and nothing of it ran.
    titles = [r.find_element(By.CSS_SELECTOR, "td.title").text for r in rows(browser)]
    assert HOSTILE in titles
    assert browser.execute_script("return window.__pwned === undefined")
    assert browser.find_elements(By.CSS_SELECTOR, "#alerts tbody script, #alerts tbody img") == []

    # A new alert arrives without a reload.
    browser.execute_script("window.__same_page = 42")
    store = SqliteSink(settings.alerts_db)
    store.write([simple_alert(3, "iraq-russia", "Moscow and Baghdad talk energy", ("IQ", "RU"))])
    store.close()
    new_id = alert_id("iraq-russia", "a3")
    wait_for(
        lambda: browser.find_elements(By.CSS_SELECTOR, f'#alerts tbody tr[data-id="{new_id}"]'),
        what="the new alert to appear live",
    )
    assert browser.execute_script("return window.__same_page") == 42
    assert rows(browser)[0].get_attribute("data-id") == new_id

    # Filters.
    Select(browser.find_element(By.ID, "f-rule")).select_by_value("egypt-china")
    assert [r.get_attribute("data-rule") for r in rows(browser)] == ["egypt-china"]
    Select(browser.find_element(By.ID, "f-rule")).select_by_value("")
    Select(browser.find_element(By.ID, "f-country")).select_by_value("EG")
    Select(browser.find_element(By.ID, "f-language")).select_by_value("ar")
    assert rows(browser) == []
    assert browser.find_element(By.ID, "no-alerts").is_displayed()
    Select(browser.find_element(By.ID, "f-country")).select_by_value("")
    (arabic,) = rows(browser)

    # Detail: right to left, the matched terms highlighted in the article's own words.
    reference = reference_alert()
    arabic.click()
    title = browser.find_element(By.ID, "d-title")
    assert browser.find_element(By.ID, "detail").is_displayed()
    assert title.get_attribute("dir") == "rtl"
    assert browser.execute_script("return getComputedStyle(arguments[0]).direction", title) == "rtl"
    assert title.text == reference.article_title
    title_terms = {m.term for m in reference.matches if m.field == "title"}
    marks = [m.text for m in title.find_elements(By.TAG_NAME, "mark")]
    assert marks
    assert set(marks) <= title_terms
    listed = browser.find_elements(By.CSS_SELECTOR, "#d-matches li")
    assert len(listed) == len(reference.matches)
    assert {m.text for m in browser.find_elements(By.CSS_SELECTOR, "#d-matches mark")} == {
        m.term for m in reference.matches
    }

    # Pair chart and feed health.
    wait_for(
        lambda: browser.find_elements(By.CSS_SELECTOR, '#pair-chart polyline[data-pair="IQ-RU"]'),
        what="the pair chart",
    )
    # Three articles mention the pair this hour, the one that arrived live included.
    wait_for(
        lambda: (
            browser.find_element(By.CSS_SELECTOR, '#pair-chart .legend [data-pair="IQ-RU"]').text
            == "IQ-RU (3)"
        ),
        what="the chart to count the live alert",
    )
    feeds = {
        r.get_attribute("data-url"): [c.text for c in r.find_elements(By.TAG_NAME, "td")]
        for r in browser.find_elements(By.CSS_SELECTOR, "#feeds tbody tr")
    }
    assert feeds["https://elaph.example/rss"][:2] == ["Elaph <b>bold</b>", "healthy"]
    assert feeds["https://down.example/rss"][1:4] == ["failing", "-", "3"]
    assert feeds["https://down.example/rss"][5:] == [
        "HTTPStatusError: <script>alert(1)</script> 503",
        "prod-b:202",  # the producer instance that polls it, read from newsradar.feed-state
    ]
    assert feeds["https://elaph.example/rss"][6] == "prod-a:101"
    assert not browser.find_element(By.ID, "feeds-status").is_displayed()

    shot = tmp_path / "dashboard.png"
    assert browser.save_screenshot(str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20_000
    keep = REPO / "test-logs"
    keep.mkdir(exist_ok=True)
    shutil.copy(shot, keep / "dashboard.png")


def test_feed_health_unreadable_is_said_on_the_page_and_the_rest_works(
    tmp_path: Path, browser: WebDriver
) -> None:
    (dead,) = free_ports(1)  # no Kafka answers there
    with run_dashboard({"NEWSRADAR_KAFKA_BOOTSTRAP": f"127.0.0.1:{dead}"}, tmp_path) as (_, url):
        browser.get(url)
        wait_for(lambda: len(rows(browser)) == 3, what="three alerts")
        wait_for(lambda: browser.find_element(By.ID, "live").text == "live", what="the stream")
        status = browser.find_element(By.ID, "feeds-status")
        wait_for(status.is_displayed, timeout=40, what="the feed-health error")
        assert status.text.startswith(
            f"Feed health cannot be read (HTTP 503): feed health not read: Kafka at "
            f"127.0.0.1:{dead} did not answer"
        )
        assert "check kafka.bootstrap" in status.text
        assert browser.find_elements(By.CSS_SELECTOR, "#feeds tbody tr") == []
        wait_for(
            lambda: browser.find_elements(By.CSS_SELECTOR, '#pair-chart [data-pair="IQ-RU"]'),
            what="the pair chart, drawn all the same",
        )


def test_bound_to_this_machine_by_default() -> None:
    assert load_settings(None, env={}).dashboard.host == "127.0.0.1"


def catalogue(language: str) -> dict[str, str]:
    messages: dict[str, str] = json.loads((CATALOGUES / f"{language}.json").read_text("utf-8"))
    return messages


def test_catalogues_have_the_same_keys_and_placeholders() -> None:
    english, arabic = catalogue("en"), catalogue("ar")
    assert english.keys() == arabic.keys()
    for key, text in english.items():
        assert text.strip(), key
        assert arabic[key].strip(), key
        english_names = set(re.findall(r"\{\w+\}", text))
        arabic_names = set(re.findall(r"\{\w+\}", arabic[key]))
        if key.rsplit(".", 1)[-1] in PLURAL_FORMS:  # Arabic says "one alert", "two alerts"
            assert arabic_names <= english_names, key
        else:
            assert arabic_names == english_names, key
        # Arabic words, not English left in: every Arabic message with letters has Arabic ones.
        if re.search(r"[A-Za-z]", re.sub(r"\{\w+\}", "", text)):
            assert re.search(r"[\u0600-\u06FF]", arabic[key]), (key, arabic[key])


def page_text(browser: WebDriver) -> str:
    """What a reader sees or hears: the rendered text, the window title, tooltips and labels."""
    text: str = browser.execute_script(
        "return [document.title, document.body.innerText, ...[...document.querySelectorAll("
        "'[title], [aria-label], [placeholder]')].flatMap((e) => [e.title, "
        "e.getAttribute('aria-label'), e.getAttribute('placeholder')])].join('\\n')"
    )
    return text


def english_left(text: str) -> list[str]:
    """The pieces of English catalogue messages found in ``text``, as whole words."""
    found = []
    for message in catalogue("en").values():
        for part in re.split(r"\{\w+\}", message):
            piece = part.strip(" ():,.…")
            if re.search(r"[A-Za-z]", piece) and re.search(
                rf"(?<![A-Za-z]){re.escape(piece)}(?![A-Za-z])", text
            ):
                found.append(piece)
    return found


def test_arabic_interface_right_to_left_with_no_english_left(
    dashboard: tuple[Settings, str], browser: WebDriver
) -> None:
    _, url = dashboard
    browser.get(url)
    wait_for(lambda: len(rows(browser)) == 3, what="three alerts")
    html = browser.find_element(By.TAG_NAME, "html")
    assert (html.get_attribute("lang"), html.get_attribute("dir")) == ("en", "ltr")
    wait_for(lambda: browser.find_element(By.ID, "live").text == "live", what="the live stream")
    assert english_left(page_text(browser))  # the check sees English where it is

    # Times in the configured zone, the zone named on the page.
    assert browser.find_element(By.ID, "zone").text == f"Times in {ZONE}"
    assert browser.find_element(By.CSS_SELECTOR, TIME_HEADER).text == f"Time ({ZONE})"
    newest = httpx.get(url + "api/v1/alerts?limit=1").json()["alerts"][0]["alert"]
    local = datetime.fromisoformat(newest["created_at"]).astimezone(ZoneInfo(ZONE))
    first_cell = rows(browser)[0].find_element(By.CSS_SELECTOR, TIME_CELL)
    assert first_cell.text == f"{local:%Y-%m-%d %H:%M}"

    Select(browser.find_element(By.ID, "ui-language")).select_by_value("ar")
    wait_for(lambda: html.get_attribute("lang") == "ar", what="the Arabic interface")
    assert html.get_attribute("dir") == "rtl"
    page_direction = "return getComputedStyle(document.body).direction"
    assert browser.execute_script(page_direction) == "rtl"
    # Laid out right to left: the filters sit at the inline end, now the left.
    header = browser.find_element(By.TAG_NAME, "h1").rect
    filters = browser.find_element(By.ID, "filters").rect
    assert header["x"] > filters["x"]
    rows(browser)[-1].click()  # the detail's words too
    wait_for(lambda: browser.find_element(By.ID, "detail").is_displayed(), what="the detail")
    wait_for(
        lambda: browser.find_elements(By.CSS_SELECTOR, '#pair-chart polyline[data-pair="IQ-RU"]'),
        what="the pair chart",
    )
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#feeds tbody tr"), what="feeds")
    text = page_text(browser)
    assert english_left(text) == []
    assert "رادار الأخبار" in text
    assert browser.title == "رادار الأخبار"
    assert browser.find_element(By.ID, "zone").text == f"الأوقات بتوقيت {ZONE}"
    arabic_time = rows(browser)[0].find_element(By.CSS_SELECTOR, TIME_CELL).text
    western = arabic_time.translate(str.maketrans("٠١٢٣٤٥٦٧٨٩", "0123456789"))
    assert f"{local:%H:%M}" in western
    assert western != f"{local:%Y-%m-%d %H:%M}"  # the Arabic locale's own date form
    feeds = {
        r.get_attribute("data-url"): [c.text for c in r.find_elements(By.TAG_NAME, "td")]
        for r in browser.find_elements(By.CSS_SELECTOR, "#feeds tbody tr")
    }
    assert feeds["https://down.example/rss"][1] == "متعثّر"
    # The desk's words too: a search's result, the star's tooltip, the search box.
    browser.find_element(By.ID, "f-q").send_keys(VARIANT_QUERY)
    wait_for(
        lambda: browser.find_element(By.ID, "search-status").text == "عُثر على تنبيه واحد",
        what="the search's result in Arabic",
    )
    assert english_left(page_text(browser)) == []
    assert browser.find_element(By.ID, "f-q").get_attribute("placeholder") == "ابحث في التنبيهات"
    star = rows(browser)[0].find_element(By.CSS_SELECTOR, "button.star")
    assert star.get_attribute("title") == "ميّز هذا التنبيه بنجمة (s)"
    browser.find_element(By.ID, "f-q").clear()
    browser.find_element(By.ID, "f-q").send_keys(" ")  # clear() sends no input event
    wait_for(lambda: len(rows(browser)) == 3, what="all alerts again")

    # Remembered by this browser.
    browser.refresh()
    wait_for(lambda: len(rows(browser)) == 3, what="the alerts after a reload")
    html = browser.find_element(By.TAG_NAME, "html")
    assert (html.get_attribute("lang"), html.get_attribute("dir")) == ("ar", "rtl")
    assert browser.find_element(By.ID, "ui-language").get_attribute("value") == "ar"
    Select(browser.find_element(By.ID, "ui-language")).select_by_value("en")
    wait_for(lambda: html.get_attribute("dir") == "ltr", what="the English interface")
    assert browser.find_element(By.CSS_SELECTOR, TIME_HEADER).text == f"Time ({ZONE})"


# A variant spelling of words in the reference article's title (الإرهاب, الحكومة الروسية,
# الكاظمي): hamza under alef, taa marbuta written as haa, a shadda, alef maqsura for yaa.
VARIANT_QUERY = "الإرهاب الحكومه الروسيّة الكاظمى"


def row_ids(browser: WebDriver) -> list[str]:
    return [r.get_attribute("data-id") for r in rows(browser)]


def test_search_triage_and_export_in_headless_chromium(
    dashboard: tuple[Settings, str], browser: WebDriver, tmp_path: Path
) -> None:
    _settings, url = dashboard
    reference = reference_alert()
    hostile = alert_id("iraq-russia", "a1")
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    browser.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    browser.get(url)
    wait_for(lambda: len(rows(browser)) == 3, what="three alerts")

    # Search: the Arabic alert, found by a variant spelling; then everything again.
    box = browser.find_element(By.ID, "f-q")
    box.send_keys(VARIANT_QUERY)
    wait_for(lambda: row_ids(browser) == [reference.id], what="the search to find the Arabic alert")
    assert browser.find_element(By.ID, "search-status").text == "1 alert found"
    box.clear()
    box.send_keys("Cairo")
    wait_for(lambda: len(rows(browser)) == 1 and row_ids(browser) != [reference.id], what="Cairo")
    box.clear()
    box.send_keys(" ")  # an input event; the blank search lists everything
    wait_for(lambda: len(rows(browser)) == 3, what="the whole list again")

    # Triage by keyboard: j selects the first row, s stars it, j moves on, m marks it read.
    body = browser.find_element(By.TAG_NAME, "body")
    browser.execute_script("document.activeElement.blur()")
    first, second = row_ids(browser)[:2]
    body.send_keys("j")
    wait_for(
        lambda: (
            browser.find_element(By.CSS_SELECTOR, "tr.selected").get_attribute("data-id") == first
        ),
        what="j",
    )
    body.send_keys("s")
    body.send_keys("j")
    wait_for(
        lambda: (
            browser.find_element(By.CSS_SELECTOR, "tr.selected").get_attribute("data-id") == second
        ),
        what="j again",
    )
    body.send_keys("m")

    def stored_triage() -> dict[str, tuple[bool, bool]]:
        listed = httpx.get(url + "api/v1/alerts").json()["alerts"]
        return {i["alert"]["id"]: (i["read"], i["starred"]) for i in listed}

    wait_for(
        lambda: (
            stored_triage()[first] == (False, True) and stored_triage()[second] == (True, False)
        ),
        what="the star and the read mark to be stored",
    )

    # Both survive a reload.
    browser.refresh()
    wait_for(lambda: len(rows(browser)) == 3, what="three alerts after the reload")
    star = browser.find_element(By.CSS_SELECTOR, f'tr[data-id="{first}"] button.star')
    assert star.get_attribute("aria-pressed") == "true"
    assert (
        "read"
        in browser.find_element(By.CSS_SELECTOR, f'tr[data-id="{second}"]')
        .get_attribute("class")
        .split()
    )
    unread_rows = [r for r in rows(browser) if "unread" in r.get_attribute("class").split()]
    assert len(unread_rows) == 2
    browser.find_element(By.ID, "f-unread").click()
    wait_for(lambda: second not in row_ids(browser) and len(rows(browser)) == 2, what="unread only")
    browser.find_element(By.ID, "f-unread").click()
    # Enter marks the selected alert read.
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys("j")
    body.send_keys(Keys.ENTER)
    wait_for(lambda: stored_triage()[first] == (True, True), what="Enter to mark read")

    # CSV export of the current filter opens with the expected columns.
    browser.find_element(By.ID, "export-csv").click()

    def downloaded() -> Path | None:
        done = [p for p in downloads.iterdir() if p.suffix == ".csv"]
        return done[0] if done else None

    exported = wait_for(downloaded, what="the CSV download")
    text = exported.read_text(encoding="utf-8-sig")
    table = list(csv.DictReader(io.StringIO(text)))
    assert tuple(table[0]) == COLUMNS
    assert {r["id"] for r in table} == {reference.id, hostile, alert_id("egypt-china", "a2")}
    by_id = {r["id"]: r for r in table}
    assert by_id[reference.id]["article_title"] == reference.article_title
    assert by_id[hostile]["article_title"] == HOSTILE  # starts with '<': no formula, as is
    assert (by_id[first]["read"], by_id[first]["starred"]) == ("true", "true")
    Select(browser.find_element(By.ID, "f-country")).select_by_value("EG")
    href = browser.find_element(By.ID, "export-csv").get_attribute("href")
    assert href.endswith("/api/v1/export?country=EG&format=csv")

    shot = tmp_path / "dashboard-desk.png"
    assert browser.save_screenshot(str(shot))
    keep = REPO / "test-logs"
    keep.mkdir(exist_ok=True)
    shutil.copy(shot, keep / "dashboard-desk.png")
