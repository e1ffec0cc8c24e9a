"""The Telegram webhook endpoint: checks the secret header, then handles the update in the background."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging

from aiogram import Bot, Dispatcher
from aiohttp import web

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class WebhookEndpoint:
    """Answers Telegram at once (it resends after a slow answer) and tracks the work it started."""

    def __init__(self, bot: Bot, secret: str) -> None:
        self.dispatcher: Dispatcher | None = None  # set once built; until then: 503
        self.bot = bot
        self.secret = secret
        self.accepting = True
        self._tasks: set[asyncio.Task] = set()

    async def handle(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            return web.json_response({"error": "wrong secret token"}, status=401)
        if not self.accepting or self.dispatcher is None:
            # Shutting down: Telegram keeps the update and delivers it again later.
            return web.json_response({"error": "shutting down"}, status=503)
        try:
            update = json.loads(await request.read())
        except ValueError:
            return web.json_response({"error": "body is not JSON"}, status=400)
        if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
            return web.json_response({"error": "not a Telegram update"}, status=400)
        task = asyncio.create_task(self._feed(update))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return web.json_response({})

    async def _feed(self, update: dict) -> None:
        dispatcher = self.dispatcher
        if dispatcher is None:  # set before the webhook is registered with Telegram
            raise RuntimeError("an update arrived before the dispatcher was ready")
        try:
            await dispatcher.feed_raw_update(self.bot, update)
        except Exception:
            log.exception("webhook update %s failed", update.get("update_id"))
