"""The aiohttp application factory: views, error pages, static files, webhook and sandbox."""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import WSCloseCode, web

from app.config import Config
from app.domain.settings import RunningSettings
from app.domain.users import Languages
from app.web import keys
from app.web.api import setup_api
from app.web.chat import setup_chat
from app.web.errors import error_pages
from app.web.forms import FORM_LIMIT, input_guard
from app.web.live import live_updates
from app.web.metrics import routes as metrics_routes
from app.web.panel import setup_panel
from app.web.views import routes

ROOT = Path(__file__).resolve().parents[2]


def create_web_app(config: Config, *, services: dict[web.AppKey, object]) -> web.Application:
    """Build the app; `services` fills its AppKeys (their owner, app.main, closes them)."""
    # input_guard before the session middleware (setup_panel): it may give the request its
    # route's body limit, which makes a new request object.
    app = web.Application(middlewares=[error_pages, input_guard], client_max_size=FORM_LIMIT)
    app[keys.CONFIG] = config
    app[keys.BOT_PARTS] = keys.BotParts()
    # app.main passes the process's own (shared with the bot); a web-only app gets its own.
    app[keys.RUNNING_SETTINGS] = RunningSettings(Languages(default=config.default_language))
    for key, value in services.items():
        app[key] = value
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(ROOT / "templates"),
        autoescape=True,
        context_processors=[aiohttp_jinja2.request_processor],
    )
    app.add_routes(routes)
    app.add_routes(metrics_routes)  # /metrics: this machine or METRICS_TOKEN
    setup_panel(app, config)  # sessions, the CSRF and role guard, the panel's routes
    setup_chat(app)  # the web chat: its guard and pages (app/web/chat)
    setup_api(app)  # /api/v1 and its OpenAPI document (app/web/api)
    app.router.add_static("/static", ROOT / "static", name="static")
    app.cleanup_ctx.append(websocket_registry)
    app.cleanup_ctx.append(live_updates)  # after the registry: its listener stops first
    return app


async def websocket_registry(app: web.Application) -> AsyncIterator[None]:
    """Open WebSockets are closed on shutdown, so browsers reconnect instead of hanging."""
    registry: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()
    app[keys.WEBSOCKETS] = registry
    yield
    for ws in list(registry):
        await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")
