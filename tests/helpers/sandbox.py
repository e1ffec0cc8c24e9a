"""The sandbox tests' kit: a sandbox under /sandbox, an aiogram bot on it, personas, raw HTTP."""

from __future__ import annotations

import io
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiohttp import web
from PIL import Image

from app.sandbox.app import make_sandbox_app
from app.sandbox.driver import Persona, Sandbox
from app.sandbox.world import World

BOT_ID = 7001
TOKEN = f"{BOT_ID}:AAH-sandbox_test_token_0123456789abcdef"
OTHER_TOKEN = "7002:AAH-another_test_token_0123456789abcdef"
NOT_MODIFIED = "message is not modified: specified new message content and reply markup are exactly"


class FastSession(AiohttpSession):
    """aiogram's session minus the 0.25 s grace sleep in close(), which adds up in a suite."""

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


def make_bot(base: str, token: str = TOKEN) -> Bot:
    return Bot(token, session=FastSession(api=TelegramAPIServer.from_base(base)))


def says(description: str) -> str:
    """A pytest.raises pattern matching exactly Telegram's `description` in an aiogram error."""
    return f"^{re.escape('Telegram server says - ' + description)}$"


def keyboard(*buttons: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=t, callback_data=d)] for t, d in buttons]
    )


def jpeg(width: int, height: int, rgb: tuple[int, int, int] = (30, 120, 200)) -> bytes:
    """A real JPEG of one colour, made with Pillow."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), rgb).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
async def world() -> AsyncIterator[World]:
    w = World()
    yield w
    assert w.spec_violations == []  # every result the tests saw matched the Bot API spec


@pytest.fixture
async def base(aiohttp_server: Any, world: World) -> str:
    """The sandbox mounted under /sandbox of a parent app, as our web server mounts it."""
    root = web.Application()
    root.add_subapp("/sandbox", make_sandbox_app(world, validate=True, http_webhooks=True))
    server = await aiohttp_server(root)
    return str(server.make_url("/sandbox"))


@pytest.fixture
async def bot(base: str) -> AsyncIterator[Bot]:
    b = make_bot(base)
    await b.get_me()  # the bot comes to exist on its first call, as a bot's first getMe
    yield b
    await b.session.close()


@pytest.fixture
async def sandbox(base: str) -> AsyncIterator[Sandbox]:
    async with Sandbox(base) as s:
        yield s


@pytest.fixture
async def ali(sandbox: Sandbox, bot: Bot) -> Persona:
    return await sandbox.user("Ali", language_code="uz", username="ali")


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


async def raw(http: aiohttp.ClientSession, method: str, url: str, **kw: Any) -> tuple[int, dict[str, Any]]:
    async with http.request(method, url, **kw) as resp:
        return resp.status, await resp.json()


async def call(http: aiohttp.ClientSession, base: str, method: str, **params: Any) -> dict[str, Any]:
    """A Bot API call as JSON, for methods aiogram does not know; the whole answer."""
    async with http.post(f"{base}/bot{TOKEN}/{method}", json=params) as resp:
        return await resp.json()


async def next_updates(bot: Bot, after: int = 0, **kw: Any) -> list[Any]:
    return await bot.get_updates(offset=after + 1 if after else None, timeout=2, **kw)


class Api:
    """Bot API calls as JSON (many methods are newer than aiogram): the result, or the error."""

    def __init__(self, http: aiohttp.ClientSession, base: str):
        self.http, self.url = http, f"{base}/bot{TOKEN}"

    async def __call__(self, method: str, **params: Any) -> Any:
        async with self.http.post(f"{self.url}/{method}", json=params) as resp:
            body = await resp.json()
        assert body["ok"], f"{method}: {body}"
        return body["result"]

    async def fails(self, method: str, **params: Any) -> str:
        async with self.http.post(f"{self.url}/{method}", json=params) as resp:
            body = await resp.json()
        assert not body["ok"], f"{method} should have failed: {body}"
        return body["description"]

    async def upload(self, method: str, files: dict[str, tuple[bytes, str]], **params: Any) -> Any:
        form = aiohttp.FormData({k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()})
        for name, (data, filename) in files.items():
            form.add_field(name, data, filename=filename)
        async with self.http.post(f"{self.url}/{method}", data=form) as resp:
            body = await resp.json()
        assert body["ok"], f"{method}: {body}"
        return body["result"]
