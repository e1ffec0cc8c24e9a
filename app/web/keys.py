"""Typed keys for what the web application holds."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

import asyncpg
from aiohttp import web

from app.config import Config
from app.i18n import Translator
from app.storage import Storage

if TYPE_CHECKING:
    pass

CONFIG = web.AppKey("config", Config)
POOL = web.AppKey("pool", asyncpg.Pool)
STORAGE = web.AppKey("storage", Storage)
TRANSLATOR = web.AppKey("translator", Translator)
BOT = web.AppKey("bot", "Bot")
WEBSOCKETS = web.AppKey("websockets", weakref.WeakSet)
