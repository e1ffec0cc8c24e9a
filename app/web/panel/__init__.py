"""The admin panel: its screens, each a module under screens/ that declares its own routes.

setup_panel() installs sessions and the guard (app/web/panel/auth/) and adds the routes of every
module in SCREENS. A new area (support, chat, tasks, ledger, broadcasts) adds
`screens/<area>.py` with `ROUTES = PanelRoutes()` and one line to SCREENS (and, for the menu,
one to NAV in auth/pages.py).
"""

from __future__ import annotations

import aiohttp_session
from aiohttp import web

from app.config import Config
from app.i18n import Translator
from app.web import keys
from app.web.panel.auth.guard import panel_guard
from app.web.panel.auth.language import PANEL_TRANSLATOR, gettext
from app.web.panel.auth.pages import PANEL_PATHS
from app.web.panel.auth.routes import PanelRoute, add_routes
from app.web.panel.auth.sessions import session_storage
from app.web.panel.screens import (
    account,
    ads,
    audit,
    balances,
    broadcasts,
    channels,
    chat,
    commands,
    dashboard,
    exports,
    login,
    menus,
    messages,
    moderation,
    promotions,
    settings,
    staff,
    support,
    support_stats,
    tasks,
    users,
)

SCREENS = (
    login,
    dashboard,
    moderation,
    ads,
    users,
    support,
    support_stats,
    messages,
    commands,
    menus,
    tasks,
    balances,
    promotions,
    broadcasts,
    channels,
    staff,
    settings,
    audit,
    exports,
    account,
    chat,
)


def routes() -> list[PanelRoute]:
    """Every panel route with its declared access, screen by screen (tests walk them all)."""
    collected = [route for screen in SCREENS for route in screen.ROUTES]
    names = [route.name for route in collected]
    if len(names) != len(set(names)):
        raise ValueError(f"a panel route name is used twice: {sorted(names)}")
    return collected


def setup_panel(app: web.Application, config: Config) -> None:
    """The hook for create_web_app: sessions, the guard (access, CSRF), then every screen's routes."""
    aiohttp_session.setup(app, session_storage(config))
    app.middlewares.append(panel_guard)
    translator = app.get(keys.TRANSLATOR)
    app[PANEL_TRANSLATOR] = translator if translator is not None else Translator(config.default_language)
    app[keys.REQUEST_GETTEXT] = gettext
    panel_routes = routes()
    app[PANEL_PATHS] = frozenset(route.path for route in panel_routes)
    add_routes(app, panel_routes)
