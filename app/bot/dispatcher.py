"""Build the aiogram Bot and Dispatcher: routers, middlewares and their keyword dependencies."""

from __future__ import annotations

import asyncpg
from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import PRODUCTION, TelegramAPIServer
from aiogram.types import BotCommand

from app.bot.handlers import routers
from app.bot.middlewares import InFlight, JournalMiddleware
from app.config import Config
from app.db.fsm import PostgresStorage
from app.i18n import Translator

WEBHOOK_PATH = "/telegram/webhook"
POLLING_CONCURRENCY = 64  # bounded: aiogram starts one task per update otherwise


def create_bot(token: str, api_base: str | None) -> Bot:
    """A Bot talking to Telegram, to a self-hosted Bot API server, or to the sandbox."""
    server = TelegramAPIServer.from_base(api_base) if api_base else PRODUCTION
    session = AiohttpSession(api=server)
    return Bot(token, session=session, default=DefaultBotProperties(parse_mode=None))


def create_dispatcher(config: Config, pool: asyncpg.Pool, translator: Translator,
                      in_flight: InFlight) -> Dispatcher:
    """Dependencies travel as dispatcher keyword data: handlers ask for them by name."""
    dp = Dispatcher(storage=PostgresStorage(pool), pool=pool, config=config,
                    translator=translator)
    dp.update.outer_middleware(in_flight)
    dp.update.outer_middleware(JournalMiddleware(pool, translator, config.default_language))
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
