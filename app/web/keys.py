"""Typed keys for what the web application holds."""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import asyncpg
from aiohttp import web

from app.config import Config
from app.domain.settings import RunningSettings
from app.i18n import Gettext, Translator
from app.storage import Storage

if TYPE_CHECKING:
    from aiogram import Bot

    from app.bot.token_check import TokenCheck
    from app.domain.ads import AdMessages
    from app.domain.ledger import LedgerMessages
    from app.domain.support.ports import DeskMessages
    from app.domain.tasks import TaskMessages


@dataclass
class BotParts:
    """What the bot side makes after the web server is up (in sandbox mode the web server is the
    bot's Telegram, so the bot's username is known only later); filled in by app.main."""

    ad_messages: AdMessages | None = None
    desk_messages: DeskMessages | None = None
    task_messages: TaskMessages | None = None
    ledger_messages: LedgerMessages | None = None


CONFIG = web.AppKey("config", Config)
POOL = web.AppKey("pool", asyncpg.Pool)
STORAGE = web.AppKey("storage", Storage)
TRANSLATOR = web.AppKey("translator", Translator)
BOT: web.AppKey[Bot] = web.AppKey("bot")  # missing in a web-only app (tests of the panel alone)
WEBSOCKETS: web.AppKey[weakref.WeakSet[web.WebSocketResponse]] = web.AppKey("websockets")
BOT_PARTS = web.AppKey("bot_parts", BotParts)
# The gettext of a request's reader (the panel sets it): error pages say their msgids with it.
REQUEST_GETTEXT: web.AppKey[Callable[[web.Request], Gettext]] = web.AppKey("request_gettext")
RUNNING_SETTINGS = web.AppKey("running_settings", RunningSettings)  # set by app.main
# getMe with a token an admin saves; missing in a web-only app (tests of the panel alone).
TOKEN_CHECK: web.AppKey[Callable[[str], Awaitable[TokenCheck]]] = web.AppKey("token_check")
