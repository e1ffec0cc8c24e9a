"""The panel in tests: the web app alone on the aiohttp test client, staff, login and CSRF."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
from aiohttp import web
from aiohttp.test_utils import TestClient

from app.bot.ad_messages import BotAdMessages
from app.config import Config
from app.db.pool import create_pool
from app.domain import staff as staff_domain
from app.domain.staff import Role
from app.i18n import Translator
from app.web import keys
from app.web.app import create_web_app

PASSWORD = "correct horse battery"
SECRET_KEY = "test-secret-key-for-the-panel-suite-0123456789"
TOKEN_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
JSON = {"Accept": "application/json"}


@dataclass
class Panel:
    client: TestClient
    app: web.Application
    config: Config


def with_ad_messages(app: web.Application) -> None:
    """What app.main gives the panel once the bot is up: how ad messages look (English)."""
    app[keys.BOT_PARTS].ad_messages = BotAdMessages(Translator("en"), "bozor_test_bot")


async def build_panel(
    aiohttp_client: Any,
    config: Config,
    database_url: str,
    extra: Callable[[web.Application], None] | None = with_ad_messages,
) -> AsyncIterator[Panel]:
    """The web app (the panel and public views, no bot, no scheduler) on a test client."""
    pool = await create_pool(database_url, min_size=1, max_size=4)
    try:
        app = create_web_app(config, services={keys.POOL: pool})  # the factory sets up the panel
        if extra is not None:
            extra(app)
        client = await aiohttp_client(app)
        try:
            yield Panel(client, app, config)
        finally:
            await client.close()  # the app's cleanup (its LISTEN connection) before the pool
    finally:
        await pool.close()


async def make_staff(db: asyncpg.Connection, username: str, role: Role) -> staff_domain.Staff:
    return await staff_domain.create_staff(db, username, PASSWORD, role)


async def csrf(client: TestClient, path: str = "/panel/login") -> str:
    """The CSRF token a page's forms carry (the page must answer 200)."""
    response = await client.get(path, allow_redirects=False)
    assert response.status == 200, path
    match = TOKEN_RE.search(await response.text())
    assert match, f"no CSRF field on {path}"
    return match.group(1)


async def login(client: TestClient, username: str, password: str = PASSWORD, next_url: str = "") -> Any:
    token = await csrf(client)
    return await client.post(
        "/panel/login",
        allow_redirects=False,
        data={"csrf_token": token, "username": username, "password": password, "next": next_url},
    )


async def post_json(
    panel: Panel, url: str, data: dict[str, Any], page: str = "/panel/moderation"
) -> tuple[int, Any]:
    """A fetch() from a panel page: JSON body, the page's CSRF token in the header."""
    token = await csrf(panel.client, page)
    response = await panel.client.post(url, json=data, headers={**JSON, "X-CSRF-Token": token})
    return response.status, await response.json()


async def audit_actions(db: asyncpg.Connection) -> list[str]:
    return [r["action"] for r in await db.fetch("SELECT action FROM audit_log ORDER BY id")]
