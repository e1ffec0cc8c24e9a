"""The Telegram webhook endpoint: checks the secret, journals the update, answers, then handles it."""

from __future__ import annotations

import asyncio
import hmac
import logging

from aiogram import Bot, Dispatcher
from aiogram.types import Update
from aiohttp import web
from pydantic import ValidationError

from app.bot.journal import Journaled, handle, journal_of
from app.bot.middlewares import InFlight
from app.web.forms import body_limit, read_json

UPDATE_LIMIT = 1024 * 1024  # an update is a few kB; a long text with its entities stays far below

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class WebhookEndpoint:
    """Answers 200 only once the update is journaled, so Telegram keeps what we could not store;
    answers at once after that (Telegram resends after a slow answer) and handles it in the
    background, once per update id. One whose values PostgreSQL refuses is journaled as far as
    it goes, answered 200 (a refusal would bring it back forever) and not handled."""

    def __init__(self, bot: Bot, secret: str, in_flight: InFlight) -> None:
        self.dispatcher: Dispatcher | None = None  # set once built; until then: 503
        self.bot = bot
        self.secret = secret
        self.in_flight = in_flight
        self.accepting = True
        self._tasks: set[asyncio.Task[None]] = set()

    @body_limit(UPDATE_LIMIT)
    async def handle(self, request: web.Request) -> web.Response:
        # Headers arrive as bytes decoded with surrogateescape: a non-ASCII header is just wrong.
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(given, self.secret.encode()):
            return web.json_response({"error": "wrong secret token"}, status=401)
        dispatcher = self.dispatcher
        if not self.accepting or dispatcher is None:
            # Shutting down: Telegram keeps the update and delivers it again later.
            return web.json_response({"error": "shutting down"}, status=503)
        try:
            raw = await read_json(request, text_only=False)
            update = Update.model_validate(raw, context={"bot": self.bot})
        except web.HTTPException as exc:
            return web.json_response({"error": exc.text}, status=exc.status)
        except (ValueError, ValidationError):
            return web.json_response({"error": "not a Telegram update"}, status=400)
        try:
            [entry] = await journal_of(dispatcher).record(self.bot, [update])
        except Exception as exc:
            log.error("could not journal update %s: %s; Telegram delivers it again", update.update_id, exc)
            await journal_of(dispatcher).apologise(self.bot, [update])
            return web.json_response({"error": "cannot store the update now"}, status=503)
        if entry.to_handle:
            self.in_flight.begin()  # counted from now, so shutdown waits for it
            task = asyncio.create_task(self._feed(dispatcher, update, entry))
            self._tasks.add(task)
            task.add_done_callback(self._done)
        return web.json_response({})

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self.in_flight.end()

    async def _feed(self, dispatcher: Dispatcher, update: Update, entry: Journaled) -> None:
        await handle(dispatcher, self.bot, update, entry)
