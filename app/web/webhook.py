"""The Telegram webhook endpoint: checks the secret header, then handles the update in the background."""

from __future__ import annotations

import asyncio
import hmac
import logging

from aiogram import Bot, Dispatcher
from aiohttp import web

from app.web.forms import body_limit, read_json

UPDATE_LIMIT = 1024 * 1024  # an update is a few kB; a long text with its entities stays far below

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

    @body_limit(UPDATE_LIMIT)
    async def handle(self, request: web.Request) -> web.Response:
        # Headers arrive as bytes decoded with surrogateescape: a non-ASCII header is just wrong.
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(given, self.secret.encode()):
            return web.json_response({"error": "wrong secret token"}, status=401)
        if not self.accepting or self.dispatcher is None:
            # Shutting down: Telegram keeps the update and delivers it again later.
            return web.json_response({"error": "shutting down"}, status=503)
        try:
            update = await read_json(request, text_only=False)
        except web.HTTPException as exc:
            return web.json_response({"error": exc.text}, status=exc.status)
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
