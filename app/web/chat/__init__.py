"""The web chat: sign-in pages, conversations, the WebSocket, the account page (app/domain/chat).

setup_chat() adds the guard (CSRF, headers), the real-time hub and the routes of every module.
"""

from __future__ import annotations

from aiohttp import web

from app.web.chat import account, pages, signin, socket
from app.web.chat.auth import chat_guard
from app.web.chat.realtime import chat_realtime
from app.web.chat.services import setup_services

MODULES = (signin, pages, socket, account)


def setup_chat(app: web.Application) -> None:
    """The hook for create_web_app (after the panel: the panel's translator is reused)."""
    app.middlewares.append(chat_guard)
    setup_services(app)
    for module in MODULES:
        app.add_routes(module.routes)
    app.cleanup_ctx.append(chat_realtime)
