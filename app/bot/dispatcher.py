"""Build the aiogram Bot and Dispatcher: routers, middlewares and their keyword dependencies."""

from __future__ import annotations

from typing import Any, ClassVar

import asyncpg
from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import PRODUCTION, TelegramAPIServer
from aiogram.methods import Response, TelegramMethod
from aiogram.types import BotCommand

from app.bot.handlers import routers
from app.bot.middlewares import InFlight, JournalMiddleware
from app.config import Config
from app.db.fsm import PostgresStorage
from app.i18n import Translator

WEBHOOK_PATH = "/telegram/webhook"
POLLING_CONCURRENCY = 64  # bounded: aiogram starts one task per update otherwise


class Session(AiohttpSession):
    """aiogram's session, keeping the `Response[T]` models it parses with alive.

    aiogram builds `Response[method.__returning__]` on every call and pydantic caches generic
    models only weakly, so after each garbage collection the model was built again: 16% of
    the CPU per update in bench/updates.py. Holding a reference makes the cache hit.
    """

    _pinned: ClassVar[dict[Any, type]] = {}

    def check_response(self, bot: Bot, method: TelegramMethod, status_code: int,
                       content: str) -> Response:
        returning = method.__returning__
        if returning not in self._pinned:
            self._pinned[returning] = Response[returning]
        return super().check_response(bot, method, status_code, content)


def create_bot(token: str, api_base: str | None) -> Bot:
    """A Bot talking to Telegram, to a self-hosted Bot API server, or to the sandbox."""
    server = TelegramAPIServer.from_base(api_base) if api_base else PRODUCTION
    return Bot(token, session=Session(api=server), default=DefaultBotProperties(parse_mode=None))


def create_dispatcher(config: Config, pool: asyncpg.Pool, translator: Translator,
                      in_flight: InFlight) -> Dispatcher:
    """Dependencies travel as dispatcher keyword data: handlers ask for them by name."""
    # FSM is registered by hand so that it runs after the journal, which prefetches its state.
    dp = Dispatcher(storage=PostgresStorage(pool), disable_fsm=True, pool=pool, config=config,
                    translator=translator)
    dp.update.outer_middleware(
        JournalMiddleware(pool, translator, config.default_language, dp.fsm, in_flight))
    dp.update.outer_middleware(dp.fsm)
    dp.include_routers(*routers())
    return dp


async def set_commands(bot: Bot, translator: Translator) -> None:
    """The command menu Telegram shows beside the input field, in each language."""
    for language in ("en", "ru", "uz"):
        _ = translator(language)
        commands = [
            BotCommand(command="start", description=_("Main menu")),
            BotCommand(command="language", description=_("Change the language")),
            BotCommand(command="help", description=_("Help")),
        ]
        await bot.set_my_commands(commands, language_code=None if language == "en" else language)
