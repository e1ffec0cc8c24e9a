"""The JSON API: a valid OpenAPI 3.1 document naming every route, bearer tokens (revoked: 401),
keyset pages, sending, reading, someone else's conversation (404), JSON errors with stable codes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from openapi_spec_validator import validate

from app.domain.chat import accounts
from tests.helpers.ads import SELLER
from tests.helpers.chat import ad_for_sale, csrf, register, start_about, with_media
from tests.helpers.panel import SECRET_KEY, Panel, build_panel


@pytest.fixture
async def panel(aiohttp_client, make_config, database_url: str, tmp_path: Path) -> AsyncIterator[Panel]:
    config = make_config(SECRET_KEY=SECRET_KEY, DEFAULT_LANGUAGE="en")
    async for built in build_panel(aiohttp_client, config, database_url, with_media(tmp_path / "media")):
        yield built


async def _token(db: asyncpg.Connection, account_id: int, name: str = "script") -> str:
    return (await accounts.create_api_token(db, account_id, name))[1]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_the_openapi_document_is_valid_and_describes_every_route(panel: Panel) -> None:
    response = await panel.client.get("/api/v1/openapi.json")
    assert response.status == 200
    spec = await response.json()
    validate(spec)  # OpenAPI 3.1, by openapi-spec-validator
    assert spec["openapi"] == "3.1.0"
    served = {
        (route.method.lower(), route.resource.canonical)
        for route in panel.app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith("/api/v1/")
        and route.method != "HEAD"
        and not route.resource.canonical.endswith(("/openapi.json", "/docs"))
    }
    described = {(method, path) for path, item in spec["paths"].items() for method in item}
    assert served == described and len(served) >= 7
    docs = await panel.client.get("/api/v1/docs")
    assert docs.status == 200 and "/static/vendor/redoc.standalone.js" in await docs.text()
    assert (await panel.client.get("/static/vendor/redoc.standalone.js")).status == 200


async def test_a_token_reads_and_writes_and_a_revoked_one_gets_401(
    panel: Panel, db: asyncpg.Connection
) -> None:
    ad_id = await ad_for_sale(db)
    await register(panel.client, "kamola", name="Kamola")
    conversation_id = await start_about(panel.client, ad_id)
    kamola = await db.fetchval("SELECT id FROM chat_accounts WHERE username = 'kamola'")
    token = await _token(db, kamola)
    api = panel.client
    api.session.cookie_jar.clear()  # a program: no cookies, only the token

    me = await (await api.get("/api/v1/me", headers=_bearer(token))).json()
    assert me["display_name"] == "Kamola" and me["telegram_linked"] is False and me["unread"] == 0
    listing = await (await api.get("/api/v1/conversations", headers=_bearer(token))).json()
    assert [c["id"] for c in listing["items"]] == [conversation_id]

    for n in range(1, 6):
        sent = await api.post(
            f"/api/v1/conversations/{conversation_id}/messages",
            json={"body": f"api {n}", "client_id": f"k-{n}"},
            headers=_bearer(token),
        )
        assert sent.status == 201, await sent.text()
    again = await api.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json={"body": "api 5", "client_id": "k-5"},
        headers=_bearer(token),
    )
    assert again.status == 201 and (await again.json())["body"] == "api 5"
    assert await db.fetchval("SELECT count(*) FROM chat_messages") == 5  # the resend is the same message

    page = await (
        await api.get(f"/api/v1/conversations/{conversation_id}/messages?limit=2", headers=_bearer(token))
    ).json()
    assert [m["body"] for m in page["items"]] == ["api 4", "api 5"]
    older = await (
        await api.get(
            f"/api/v1/conversations/{conversation_id}/messages?limit=2&before={page['next_before']}",
            headers=_bearer(token),
        )
    ).json()
    assert [m["body"] for m in older["items"]] == ["api 2", "api 3"]
    first_id = older["items"][0]["id"]
    newer = await (
        await api.get(
            f"/api/v1/conversations/{conversation_id}/messages?after={first_id}", headers=_bearer(token)
        )
    ).json()
    assert [m["body"] for m in newer["items"]] == ["api 3", "api 4", "api 5"]

    seller_account = await accounts.account_for_telegram(db, SELLER)
    seller_token = await _token(db, seller_account.id)
    read = await api.post(
        f"/api/v1/conversations/{conversation_id}/read",
        json={"upto": newer["items"][-1]["id"]},
        headers=_bearer(seller_token),
    )
    assert read.status == 200 and (await read.json())["last_read_id"] == newer["items"][-1]["id"]
    card = await (await api.get(f"/api/v1/conversations/{conversation_id}", headers=_bearer(token))).json()
    assert card["peer_read_id"] == newer["items"][-1]["id"] and card["ad"]["title"] == "Velosiped Stels"
    mine = await (await api.get("/api/v1/ads/mine", headers=_bearer(seller_token))).json()
    assert [a["title"] for a in mine["items"]] == ["Velosiped Stels"] and mine["items"][0]["closable"]

    token_id = await db.fetchval("SELECT id FROM chat_api_tokens WHERE account_id = $1", kamola)
    await accounts.revoke_api_token(db, kamola, token_id)
    revoked = await api.get("/api/v1/me", headers=_bearer(token))
    assert revoked.status == 401 and (await revoked.json())["error"]["code"] == "unauthorized"
    assert (await api.get("/api/v1/me", headers=_bearer("bzr_not-a-token"))).status == 401
    assert (await api.get("/api/v1/me")).status == 401
    last_used = await db.fetchval("SELECT last_used_at FROM chat_api_tokens WHERE id = $1", token_id)
    assert last_used is not None


async def test_errors_are_json_with_stable_codes_and_others_conversations_are_404(
    panel: Panel, db: asyncpg.Connection
) -> None:
    ad_id = await ad_for_sale(db)
    await register(panel.client, "lola")
    conversation_id = await start_about(panel.client, ad_id)
    stranger = await accounts.account_for_telegram(db, 2001)  # Olga: not in this conversation
    token = await _token(db, stranger.id)
    api = panel.client

    async def error(method: str, url: str, **kw: object) -> tuple[int, str]:
        response = await api.request(method, url, headers=_bearer(token), **kw)
        body = await response.json()
        return response.status, body["error"]["code"]

    base = f"/api/v1/conversations/{conversation_id}"
    assert await error("GET", base) == (404, "not_found")
    assert await error("GET", base + "/messages") == (404, "not_found")
    assert await error("POST", base + "/messages", json={"body": "hi"}) == (404, "not_found")
    assert await error("POST", base + "/read", json={"upto": 1}) == (404, "not_found")
    assert await error("POST", base + "/messages", json={"body": ""}) == (422, "invalid")
    assert await error("POST", base + "/messages", data=b"not json") == (422, "invalid")
    assert await error("POST", base + "/messages", json={"body": "x" * 4097}) == (422, "invalid")
    assert await error("GET", base + "/messages?before=abc") == (422, "invalid")
    assert await error("GET", "/api/v1/nothing-here") == (404, "not_found")
    assert await error("DELETE", "/api/v1/me") == (405, "method_not_allowed")
    assert await db.fetchval("SELECT count(*) FROM chat_messages") == 0

    # The web front-end's own calls: the session cookie, and its CSRF token on changes.
    no_csrf = await api.post(base + "/messages", json={"body": "from the page"})
    assert no_csrf.status == 403 and (await no_csrf.json())["error"]["code"] == "csrf"
    with_csrf = await api.post(
        base + "/messages", json={"body": "from the page"}, headers={"X-CSRF-Token": await csrf(api, "/chat")}
    )
    assert with_csrf.status == 201
