"""Panel pages: the menu, rendering with the page's common values, refusals and redirects."""

from __future__ import annotations

from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web

from app.domain.staff import Role, Staff
from app.i18n import N_, Gettext
from app.urls import split
from app.web.errors import wants_json
from app.web.keys import RUNNING_SETTINGS as RUNNING
from app.web.panel.auth.csrf import CSRF_HEADER, csrf_token
from app.web.panel.auth.language import LANGUAGE_NAMES, gettext, language
from app.web.panel.auth.sessions import STAFF

PANEL_PREFIX = "/panel"
LOGIN_PATH = "/panel/login"
ROLE_NAMES = {Role.ADMIN: N_("Administrator"), Role.MODERATOR: N_("Moderator"), Role.OPERATOR: N_("Operator")}
PANEL_PATHS = web.AppKey("panel_paths", frozenset)  # every path the panel serves (set by setup_panel)

# The menu: (path, label, roles); an item shows to staff whose role opens its page.
NAV = (
    ("/panel", N_("Dashboard"), ()),
    ("/panel/moderation", N_("Moderation"), (Role.MODERATOR,)),
    ("/panel/ads", N_("Ads"), (Role.MODERATOR,)),
    ("/panel/users", N_("Users"), (Role.MODERATOR, Role.OPERATOR)),
    ("/panel/support", N_("Support"), (Role.OPERATOR,)),
    ("/panel/support/kb", N_("Knowledge base"), (Role.ADMIN,)),
    ("/panel/support/stats", N_("Desk statistics"), (Role.ADMIN,)),
    ("/panel/messages", N_("Messages"), (Role.OPERATOR,)),
    ("/panel/commands", N_("Bot commands"), (Role.ADMIN,)),
    ("/panel/menu", N_("Bot menu"), (Role.ADMIN,)),
    ("/panel/tasks", N_("Tasks"), (Role.ADMIN,)),
    ("/panel/tasks/review", N_("Screenshots"), (Role.MODERATOR,)),
    ("/panel/promotions", N_("Promotion"), (Role.ADMIN,)),
    ("/panel/broadcasts", N_("Broadcasts"), (Role.ADMIN,)),
    ("/panel/channels", N_("Channels"), (Role.ADMIN,)),
    ("/panel/staff", N_("Staff"), (Role.ADMIN,)),
    ("/panel/settings", N_("Settings"), (Role.ADMIN,)),
    ("/panel/audit", N_("Audit log"), (Role.ADMIN,)),
    ("/panel/chat/reports", N_("Reported chats"), (Role.OPERATOR,)),
)


def nav_items(request: web.Request, staff: Staff | None, _: Gettext) -> list[dict]:
    if staff is None:
        return []
    paths = request.app[PANEL_PATHS]
    items = []
    for path, label, roles in NAV:
        if path in paths and staff.has_role(*roles):
            active = request.path == path if path == PANEL_PREFIX else request.path.startswith(path)
            items.append({"url": path, "label": _(label), "active": active})
    return items


async def render(
    request: web.Request, template: str, context: dict | None = None, *, status: int = 200
) -> web.Response:
    """A panel page: the template gets `_`, `lang`, `csrf_token`, `staff` and `role_name`."""
    _ = gettext(request)
    staff = request.get(STAFF)
    values = {
        "_": _,
        "lang": language(request),
        "csrf_token": await csrf_token(request),
        "staff": staff,
        "role_name": _(ROLE_NAMES[staff.role]) if staff else None,
        "nav": nav_items(request, staff, _),
        "languages": LANGUAGE_NAMES,
        # A bot token saved here that did not work at start: every staff page says so.
        "bot_problem": running.bot_problem if staff and (running := request.app.get(RUNNING)) else None,
    }
    values.update(context or {})
    response = aiohttp_jinja2.render_template(template, request, values, status=status)
    return response


def is_api_style(request: web.Request) -> bool:
    """A page script's request (it wants JSON back), not a browser's navigation."""
    return (
        wants_json(request)
        or request.content_type == "application/json"
        or CSRF_HEADER in request.headers
        or "X-Requested-With" in request.headers
    )


async def refusal(
    request: web.Request,
    status: int,
    message: str,
    *,
    back: str = PANEL_PREFIX,
    back_label: str | None = None,
) -> web.Response:
    """A refused request: JSON for page scripts, else a panel page in the visitor's language
    with the reason and a way back (the menu shows too, for logged-in staff)."""
    if is_api_style(request):
        return web.json_response({"error": message, "status": status}, status=status)
    _ = gettext(request)
    return await render(
        request,
        "panel/error.html",
        {"status": status, "message": message, "back": back, "back_label": back_label or _("Open the panel")},
        status=status,
    )


def came_from(request: web.Request) -> str:
    """The panel page (on this site) the visitor came from, else the panel's start page."""
    referer = split(request.headers.get("Referer", ""))
    if referer is None or referer.netloc != request.host:
        return PANEL_PREFIX
    path = referer.path + (f"?{referer.query}" if referer.query else "")
    return path if referer.path == LOGIN_PATH else safe_next(path)


def safe_next(value: str | None) -> str:
    """Only a path inside the panel: never another site (no open redirect)."""
    if (
        value
        and value.startswith(PANEL_PREFIX)
        and not value.startswith("//")
        and "\\" not in value
        and not value.startswith(LOGIN_PATH)
    ):
        return value
    return PANEL_PREFIX


def login_redirect(request: web.Request) -> web.HTTPException:
    if wants_json(request):
        _ = gettext(request)
        return web.HTTPUnauthorized(text=_("Please log in."))
    query = "?" + urlencode({"next": request.path_qs}) if request.method == "GET" else ""
    return web.HTTPFound(LOGIN_PATH + query)
