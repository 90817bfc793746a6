"""The dashboard's versioned API (/api/v1) in process: its OpenAPI description, validated and
held to the routes the app serves; cursor pages, search, triage, export, and the token."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from openapi_spec_validator import validate

from newsradar.schemas import Alert, alert_id
from newsradar.settings import Settings, load_settings
from sinks.dashboard.api import OPENAPI, encode_cursor
from sinks.dashboard.app import create_app
from sinks.export import BOM, COLUMNS
from sinks.sqlite import SqliteSink

NOW = datetime(2026, 11, 29, 12, 30, tzinfo=UTC)
TOKEN = "api-token-0123456789abcdef"
ARABIC = "بحث رئيس الوزراء العراقي مع نائب رئيس الحكومة الروسية مكافحة الإرهاب"
Client = TestClient[Any, Any]
JSON = {"Content-Type": "application/json"}


def alert(n: int, title: str = "", **extra: Any) -> Alert:
    fields: dict[str, Any] = {
        "id": alert_id("iraq-russia", f"a{n}"),
        "rule_id": "iraq-russia",
        "article_id": f"a{n}",
        "article_title": title or f"Story {n}",
        "article_published": NOW,
        "language": "en",
        "countries": ("IQ", "RU"),
        "pairs": ("IQ-RU",),
        "created_at": NOW + timedelta(minutes=n),
        **extra,
    }
    return Alert(**fields)


def settings(tmp_path: Path, **env: str) -> Settings:
    return load_settings(
        None,
        env={
            "NEWSRADAR_DATA_DIR": str(tmp_path),
            "NEWSRADAR_DASHBOARD__POLL_SECONDS": "0.05",
            **env,
        },
    )


def store(s: Settings, *alerts: Alert) -> None:
    sink = SqliteSink(s.alerts_db)
    sink.write(alerts)
    sink.close()


def serve(s: Settings, test: Callable[[Client], Awaitable[None]]) -> None:
    async def go() -> None:
        async with TestClient(TestServer(create_app(s))) as client:
            await test(client)

    asyncio.run(go())


def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(OPENAPI.read_text(encoding="utf-8"))
    return loaded


def test_the_description_is_valid_openapi_and_names_every_route(tmp_path: Path) -> None:
    described = spec()
    validate(described)  # raises on any departure from OpenAPI 3.1
    assert described["openapi"].startswith("3.1")
    served = {
        (route.resource.canonical, route.method.lower())
        for route in create_app(settings(tmp_path)).router.routes()
        if route.method != "HEAD" and route.resource is not None
    }
    verbs = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
    documented = {
        (path, method)
        for path, item in described["paths"].items()
        for method in item
        if method in verbs
    }
    assert served - documented == set(), "served but not described"
    assert documented - served == set(), "described but not served"
    # The alert's schema is the record's own, as the model now defines it.
    schema = Alert.model_json_schema(
        ref_template="#/components/schemas/{model}", mode="serialization"
    )
    for name, part in schema.pop("$defs").items():
        assert described["components"]["schemas"][name] == part, name
    assert described["components"]["schemas"]["Alert"] == schema


def test_openapi_is_served(tmp_path: Path) -> None:
    async def check(client: Client) -> None:
        response = await client.get("/api/openapi.json")
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("application/json")
        assert await response.json() == spec()

    serve(settings(tmp_path), check)


def test_pages_search_and_filters(tmp_path: Path) -> None:
    s = settings(tmp_path)
    store(s, *(alert(n) for n in range(1, 6)), alert(6, ARABIC, language="ar"))

    async def check(client: Client) -> None:
        seen: list[str] = []
        url = "/api/v1/alerts?limit=2"
        while True:
            page = await (await client.get(url)).json()
            seen += [i["alert"]["article_id"] for i in page["alerts"]]
            if page["next"] is None:
                break
            assert "before" not in page["next"]  # opaque
            url = f"/api/v1/alerts?limit=2&cursor={page['next']}"
        assert seen == ["a6", "a5", "a4", "a3", "a2", "a1"]

        async def ids(query: str) -> list[str]:
            response = await client.get("/api/v1/alerts?" + query)
            assert response.status == 200, await response.text()
            return [i["alert"]["article_id"] for i in (await response.json())["alerts"]]

        assert await ids("q=الحكومه%20الروسيّة") == ["a6"]
        assert await ids("q=story&language=ar") == []
        assert await ids("q=story%203") == ["a3"]
        assert await ids("since=2026-11-29T12:34:00Z&limit=10") == ["a6", "a5", "a4"]
        assert await ids("unread=true&limit=1") == ["a6"]
        for query, name in [
            ("cursor=nonsense!", "cursor"),
            ("cursor=" + encode_cursor(1)[:-2] + "xx", "cursor"),
            ("q=%2A%2A%2A", "q"),
            ("q=" + "x" * 501, "q"),
            ("unread=maybe", "unread"),
            ("since=yesterday", "since"),
            ("limit=0", "limit"),
        ]:
            response = await client.get("/api/v1/alerts?" + query)
            assert response.status == 400, query
            assert (await response.json())["error"].startswith(f"{name}: "), query

    serve(s, check)


def test_triage(tmp_path: Path) -> None:
    s = settings(tmp_path)
    store(s, alert(1), alert(2))
    one = alert_id("iraq-russia", "a1")

    async def check(client: Client) -> None:
        url = f"/api/v1/alerts/{one}"
        changed = await client.patch(
            url, data=json.dumps({"read": True, "starred": True}), headers=JSON
        )
        assert changed.status == 200
        body = await changed.json()
        assert (body["read"], body["starred"], body["alert"]["id"]) == (True, True, one)
        got = await (await client.get(url)).json()
        assert (got["read"], got["starred"]) == (True, True)
        unread = await (await client.get("/api/v1/alerts?unread=1")).json()
        assert [i["alert"]["article_id"] for i in unread["alerts"]] == ["a2"]
        starred = await (await client.get("/api/v1/alerts?starred=true")).json()
        assert [i["alert"]["article_id"] for i in starred["alerts"]] == ["a1"]
        again = await client.patch(url, data='{"read": false}', headers=JSON)
        assert (await again.json())["read"] is False

        refused = [
            (await client.patch(url, data='{"read": true}'), 415),
            (
                await client.patch(
                    url,
                    data="read=1",
                    headers={"Content-Type": "application/x-www-form-urlencoded"},
                ),
                415,
            ),
            (await client.patch(url, data='{"read": "yes"}', headers=JSON), 400),
            (await client.patch(url, data='{"hidden": true}', headers=JSON), 400),
            (await client.patch(url, data="{}", headers=JSON), 400),
            (await client.patch(url, data="[", headers=JSON), 400),
            (await client.patch(url, data='{"read": true}' + " " * 2000, headers=JSON), 400),
            (
                await client.patch(
                    url, data='{"read": true}', headers={**JSON, "Sec-Fetch-Site": "cross-site"}
                ),
                403,
            ),
            (await client.patch("/api/v1/alerts/nope", data='{"read": true}', headers=JSON), 404),
            (await client.post(url, data='{"read": true}', headers=JSON), 405),
        ]
        for response, status in refused:
            assert response.status == status, await response.text()
            assert "error" in await response.json()
        final = await (await client.get(url)).json()
        assert (final["read"], final["starred"]) == (False, True)

    serve(s, check)


def test_export_of_the_current_filter(tmp_path: Path) -> None:
    s = settings(tmp_path)
    store(s, alert(1, '=HYPERLINK("http://evil.example")'), alert(2, ARABIC, language="ar"))

    async def check(client: Client) -> None:
        response = await client.get("/api/v1/export?format=csv")
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
        assert response.headers["Content-Disposition"].startswith(
            'attachment; filename="newsradar-alerts-'
        )
        text = await response.text()
        assert text.startswith(BOM)
        rows = list(csv.DictReader(io.StringIO(text.removeprefix(BOM))))
        assert list(rows[0]) == list(COLUMNS)
        assert [r["article_title"] for r in rows] == [ARABIC, '\'=HYPERLINK("http://evil.example")']
        only = await client.get("/api/v1/export?format=jsonl&language=ar")
        assert only.headers["Content-Type"] == "application/jsonl; charset=utf-8"
        lines = [json.loads(x) for x in (await only.text()).splitlines()]
        assert [(x["article_title"], x["read"]) for x in lines] == [(ARABIC, False)]
        searched = await client.get("/api/v1/export?format=csv&q=hyperlink")
        assert len((await searched.text()).splitlines()) == 2
        bad = await client.get("/api/v1/export?format=xlsx")
        assert (bad.status, await bad.json()) == (400, {"error": "format: must be csv or jsonl"})

    serve(s, check)


def test_the_token_protects_the_api_and_its_description(tmp_path: Path) -> None:
    s = settings(tmp_path, NEWSRADAR_DASHBOARD__TOKEN=TOKEN)
    store(s, alert(1))
    one = alert_id("iraq-russia", "a1")

    async def check(client: Client) -> None:
        for method, path in [
            ("GET", "/api/v1/alerts"),
            ("GET", "/api/v1/export"),
            ("GET", "/api/openapi.json"),
            ("GET", "/api/v1/stream"),
            ("PATCH", f"/api/v1/alerts/{one}"),
        ]:
            response = await client.request(method, path, data='{"read": true}', headers=JSON)
            assert response.status == 401, path
            assert "token" in (await response.json())["error"]
        bearer = {"Authorization": f"Bearer {TOKEN}", **JSON}
        listed = await client.get("/api/v1/alerts", headers=bearer)
        assert listed.status == 200
        changed = await client.patch(
            f"/api/v1/alerts/{one}", data='{"starred": true}', headers=bearer
        )
        assert (await changed.json())["starred"] is True

    serve(s, check)
