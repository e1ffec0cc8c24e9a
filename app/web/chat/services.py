"""What the web chat's views need from the process: how chat messages look in Telegram, and
where live events go."""

from __future__ import annotations

from aiohttp import web

from app.bot.chat_messages import BotChatMessages
from app.domain.chat.ports import NOTIFY, ChatEvents, ChatMessages
from app.i18n import Translator
from app.web import keys
from app.web.chat.realtime import CHAT_HUB
from app.web.panel.auth.language import PANEL_TRANSLATOR

CHAT_MESSAGES = web.AppKey("chat_messages", BotChatMessages)


def chat_messages(app: web.Application) -> ChatMessages:
    """The renderer of relayed messages and notices (the bot's, in each reader's language)."""
    found = app.get(CHAT_MESSAGES)
    if found is None:
        translator = app.get(keys.TRANSLATOR) or app.get(PANEL_TRANSLATOR) or Translator("uz")
        found = BotChatMessages(translator)
    return found


def chat_events(app: web.Application) -> ChatEvents:
    """The process's hub of open pages; NOTIFY alone in an app without one."""
    return app.get(CHAT_HUB) or NOTIFY


def setup_services(app: web.Application) -> None:
    translator = app.get(keys.TRANSLATOR) or app.get(PANEL_TRANSLATOR) or Translator("uz")
    app[CHAT_MESSAGES] = BotChatMessages(translator)
