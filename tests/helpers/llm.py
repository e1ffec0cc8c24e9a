"""A small OpenAI-compatible server of our own (POST /v1/chat/completions) for the LLM tests, and a
logged-in panel session against a running Bozor.

The server answers with `text`, or holds each request until `release` is set ("slow": the
client's time-out fires first; the fixture releases at teardown), or fails with a 503. It keeps
every request body, so a test sees what the LLM was asked, and whether it was asked at all.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from app.main import Bozor
from tests.helpers.panel import PASSWORD, TOKEN_RE


@dataclass
class FakeLlm:
    url: str = ""  # the base URL to configure, ending in /v1
    mode: str = "answer"  # answer, slow, fail, empty
    text: str = "Здравствуйте! Рассрочки у нас нет, но продавец может договориться с вами."
    requests: list[dict[str, Any]] = field(default_factory=list)
    keys: list[str | None] = field(default_factory=list)  # each request's Authorization header
    arrived: asyncio.Event = field(default_factory=asyncio.Event)  # a request came in
    release: asyncio.Event = field(default_factory=asyncio.Event)  # slow requests go on

    def system(self, index: int = -1) -> str:
        """The system prompt of a request (the knowledge-base grounding)."""
        return str(self.requests[index]["messages"][0]["content"])

    def conversation(self, index: int = -1) -> list[tuple[str, str]]:
        return [(m["role"], m["content"]) for m in self.requests[index]["messages"][1:]]


def fake_llm_app(fake: FakeLlm) -> web.Application:
    async def completions(request: web.Request) -> web.Response:
        body = await request.json()
        fake.requests.append(body)
        fake.keys.append(request.headers.get("Authorization"))
        fake.arrived.set()
        if fake.mode == "slow":
            await fake.release.wait()
        if fake.mode == "fail":
            error = {"error": {"message": "the model is overloaded", "type": "server_error"}}
            return web.json_response(error, status=503)
        content = "" if fake.mode == "empty" else fake.text
        return web.json_response(
            {
                "id": f"chatcmpl-{len(fake.requests)}",
                "object": "chat.completion",
                "created": 1764936000,
                "model": body.get("model", "?"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
            }
        )

    app = web.Application()
    app.router.add_post("/v1/chat/completions", completions)
    return app


def llm_form(fake: FakeLlm, *, timeout: str = "5", auto: bool = False, key: str = "") -> dict[str, str]:
    """The LLM section of the settings page, filled in for the fake server."""
    fields = {
        "section": "llm",
        "llm_enabled": "on",
        "llm_base_url": fake.url,
        "llm_model": "bozor-test-model",
        "llm_timeout": timeout,
        "llm_api_key": key,
    }
    if auto:
        fields["llm_auto_draft"] = "on"
    return fields


@contextlib.asynccontextmanager
async def staff_session(bozor: Bozor, username: str) -> AsyncIterator[aiohttp.ClientSession]:
    """The running Bozor's panel, logged in as `username` (made with tests.helpers.panel's
    PASSWORD), reading English."""
    async with aiohttp.ClientSession(
        base_url=bozor.config.base_url, cookie_jar=aiohttp.CookieJar(unsafe=True)
    ) as session:
        await (await session.get("/panel/lang/en", allow_redirects=False)).release()
        token = await page_token(session, "/panel/login")
        data = {"csrf_token": token, "username": username, "password": PASSWORD}
        async with session.post("/panel/login", allow_redirects=False, data=data) as answer:
            assert answer.status == 303
        yield session


async def page_token(session: aiohttp.ClientSession, page: str) -> str:
    async with session.get(page) as response:
        match = TOKEN_RE.search(await response.text())
    assert match, f"no CSRF field on {page}"
    return match.group(1)


async def submit(
    session: aiohttp.ClientSession, url: str, fields: dict[str, str], page: str, **kwargs: Any
) -> tuple[int, str]:
    """A form of `page` posted as a browser does; the status and the page it ends on."""
    token = await page_token(session, page)
    async with session.post(url, data={"csrf_token": token, **fields}, **kwargs) as answer:
        return answer.status, await answer.text()
