"""The sandbox as a self-contained aiohttp application (mounted at /sandbox or run alone)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web
from aiohttp.typedefs import Handler

from . import botapi, client, userapi, userapi_actions, userapi_chats
from .keys import WEBHOOKS_KEY, WORLD_KEY
from .webhook import WebhookDelivery
from .world import World

# Uploads reach 50 MB in Telegram; applies when the sandbox is the root app.
MAX_BODY = 60 * 1024 * 1024
SAVE_SECONDS = 1.0
MAX_PATH = 2048


def make_sandbox_app(
    world: World | None = None, *, validate: bool = False, http_webhooks: bool = False
) -> web.Application:
    """Bot API routes (/bot{token}/{method}, /file/...) and the user API (/api/...).

    With `validate`, every Bot API result is checked against the spec and violations are
    collected in `world.spec_violations` (costs time, so off by default). With
    `http_webhooks`, setWebhook also takes http:// URLs on any port and local addresses
    (local runs and tests); without it, only HTTPS on ports 443, 80, 88 or 8443, as Telegram.
    """
    world = world if world is not None else World()
    world.validate = validate
    world.http_webhooks = http_webhooks
    world.closing = False
    app = web.Application(client_max_size=MAX_BODY, middlewares=[_refuse_long_paths])
    app[WORLD_KEY] = world
    app[WEBHOOKS_KEY] = WebhookDelivery(world)
    app.cleanup_ctx.append(_webhooks)
    app.cleanup_ctx.append(_saver)
    app.on_shutdown.append(_release_long_polls)
    botapi.add_routes(app)
    userapi.add_routes(app)
    userapi_chats.add_routes(app)
    userapi_actions.add_routes(app)
    client.add_routes(app)  # the browser client: /, /ws, /static/
    return app


@web.middleware
async def _refuse_long_paths(request: web.Request, handler: Handler) -> web.StreamResponse:
    """An address no file or route has (the OS refuses such file names: not a crash, a 414)."""
    if len(request.raw_path) > MAX_PATH:
        return web.json_response({"ok": False, "error": "the address is too long"}, status=414)
    return await handler(request)


async def _release_long_polls(app: web.Application) -> None:
    """Runs before the server waits for open requests: pending long polls answer at once."""
    app[WORLD_KEY].release_waiters()


async def _saver(app: web.Application) -> AsyncIterator[None]:
    """Requests save what they change; this also saves what changed otherwise (webhook
    deliveries, in-process calls) every second, and closes the world's file at the end."""
    world = app[WORLD_KEY]

    async def loop() -> None:
        while True:
            await asyncio.sleep(SAVE_SECONDS)
            world.save()

    task = asyncio.create_task(loop()) if world.store is not None else None
    yield
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    world.close()


async def _webhooks(app: web.Application) -> AsyncIterator[None]:
    """Webhook delivery lives as long as the app: one ClientSession, one task per bot."""
    delivery = app[WEBHOOKS_KEY]
    await delivery.start()
    yield
    await delivery.stop()
