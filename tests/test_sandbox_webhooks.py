"""Sandbox webhooks as strict as Telegram's, delivered up to max_connections at once."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiogram.exceptions import TelegramBadRequest
from aiohttp import web

from app.sandbox.app import make_sandbox_app
from app.sandbox.driver import Persona, Sandbox
from app.sandbox.world import World
from tests.helpers import sandbox as kit
from tests.helpers.sandbox import BOT_ID, make_bot, says

world, base, bot, sandbox, ali, http = kit.world, kit.base, kit.bot, kit.sandbox, kit.ali, kit.http


async def test_only_https_on_telegrams_ports_unless_started_for_local_http(aiohttp_server: Any) -> None:
    strict = World()
    server = await aiohttp_server(make_sandbox_app(strict, validate=True))  # no http_webhooks
    b = make_bot(str(server.make_url("")))
    try:
        refused = [
            (
                "http://bot.example/hook",
                "Bad Request: bad webhook: An HTTPS URL must be provided for webhook",
            ),
            (
                "https://bot.example:8080/hook",
                "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443",
            ),
            ("https://127.0.0.1/hook", "Bad Request: bad webhook: IP address 127.0.0.1 is reserved"),
            ("https://10.1.2.3:8443/hook", "Bad Request: bad webhook: IP address 10.1.2.3 is reserved"),
        ]
        for url, description in refused:
            with pytest.raises(TelegramBadRequest, match=says(description)):
                await b.set_webhook(url)
        assert (await b.get_webhook_info()).url == ""  # nothing was set
        for port in ("", ":443", ":80", ":88", ":8443"):
            assert await b.set_webhook(f"https://bot.example{port}/hook")
        assert (await b.get_webhook_info()).url == "https://bot.example:8443/hook"
    finally:
        await b.session.close()
    assert strict.spec_violations == []


async def test_local_http_webhooks_with_the_option(bot: Any, world: World) -> None:
    assert world.http_webhooks  # the kit's sandbox, like make run's and the tests'
    assert await bot.set_webhook("http://127.0.0.1:8081/hook")
    assert (await bot.get_webhook_info()).url == "http://127.0.0.1:8081/hook"
    await bot.delete_webhook()


class Gate:
    """A webhook endpoint that holds every request until released, counting them."""

    def __init__(self) -> None:
        self.arrived: list[int] = []
        self.open = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        self.arrived.append((await request.json())["update_id"])
        await self.open.wait()
        return web.Response()


async def wait_until(condition: Any, timeout: float = 5.0) -> None:  # noqa: ASYNC109 - part of the check
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


@pytest.mark.parametrize("max_connections", [1, 3])
async def test_up_to_max_connections_deliveries_are_in_flight(
    max_connections: int, aiohttp_server: Any, world: World, sandbox: Sandbox, ali: Persona, bot: Any
) -> None:
    gate = Gate()
    app = web.Application()
    app.router.add_post("/hook", gate.handle)
    server = await aiohttp_server(app)
    await bot.set_webhook(str(server.make_url("/hook")), max_connections=max_connections)
    for i in range(6):
        await ali.send(f"message {i}")
    await wait_until(lambda: len(gate.arrived) == max_connections)
    queue = world.bots[BOT_ID]
    # Every delivery starts at once when allowed: had the limit not held, all six would be out.
    assert len(queue.in_flight) == max_connections and len(queue.updates) == 6
    assert (await bot.get_webhook_info()).pending_update_count == 6
    gate.open.set()
    await wait_until(lambda: not queue.updates)
    if max_connections == 1:
        assert gate.arrived == sorted(gate.arrived)  # one at a time: strictly in order
    assert sorted(gate.arrived) == list(range(min(gate.arrived), min(gate.arrived) + 6))
    await bot.delete_webhook()
