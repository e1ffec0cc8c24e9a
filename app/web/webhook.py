"""The Telegram webhook endpoint: checks the secret header, journals the update, answers 200 only
then (Telegram keeps and resends what we do not acknowledge), and handles it in the background."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging

import asyncpg
from aiogram import Bot, Dispatcher
from aiogram.types import Update
from aiohttp import web
from pydantic import ValidationError

from app.bot.polling import journal, unhandled

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class WebhookEndpoint:
    """Answers Telegram at once (it resends after a slow answer) and tracks the work it started."""

    def __init__(self, bot: Bot, secret: str, pool: asyncpg.Pool) -> None:
        self.dispatcher: Dispatcher | None = None  # set once built; until then: 503
        self.bot = bot
        self.pool = pool
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
        try:
            parsed = Update.model_validate(update, context={"bot": self.bot})
        except ValidationError:
            return web.json_response({"error": "not a Telegram update"}, status=400)
        try:
            await journal(self.pool, self.bot.id, [parsed])  # acknowledged only once stored
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning(
                "webhook update %d not journaled (%s): Telegram will resend it", parsed.update_id, exc
            )
            return web.json_response({"error": "try again later"}, status=503)
        task = asyncio.create_task(self._feed(parsed))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return web.json_response({})

    async def handle_unhandled(self) -> None:
        """Updates answered 200 whose handling never started (the process stopped): now, once."""
        for update in await unhandled(self.pool, self.bot):
            task = asyncio.create_task(self._feed(update))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _feed(self, update: Update) -> None:
        dispatcher = self.dispatcher
        if dispatcher is None:  # set before the webhook is registered with Telegram
            raise RuntimeError("an update arrived before the dispatcher was ready")
        try:
            await dispatcher.feed_update(self.bot, update)
        except Exception:
            log.exception("webhook update %s failed", update.update_id)
