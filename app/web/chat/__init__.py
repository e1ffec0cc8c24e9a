"""The web chat: sign-in pages, conversations, the WebSocket, the account page (app/domain/chat).

setup_chat() adds the guard (CSRF, headers) and the routes of every module here.
"""

from __future__ import annotations

from aiohttp import web

from app.web.chat import home, signin
from app.web.chat.auth import chat_guard

MODULES = (signin, home)


def setup_chat(app: web.Application) -> None:
    """The hook for create_web_app (after the panel: the panel's translator is reused)."""
    app.middlewares.append(chat_guard)
    for module in MODULES:
        app.add_routes(module.routes)
