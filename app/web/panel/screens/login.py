"""The login screen: choosing the language, logging in (password or one-time link), logging out."""

from __future__ import annotations

import aiohttp_session
from aiohttp import web

from app.config import create_admin_command
from app.domain import staff as staff_domain
from app.i18n import LANGUAGES
from app.web import keys
from app.web.forms import read_form
from app.web.panel.auth.access import public, require
from app.web.panel.auth.language import LANG_COOKIE, gettext
from app.web.panel.auth.pages import LOGIN_PATH, PANEL_PREFIX, render, safe_next
from app.web.panel.auth.routes import PanelRoutes
from app.web.panel.auth.sessions import STAFF, client_address, current_staff, start_session

ROUTES = PanelRoutes()


@ROUTES.get("/panel/lang/{code}", name="panel.language", example="/panel/lang/ru", ok_status=303)
@public
async def choose_language(request: web.Request) -> web.StreamResponse:
    """Remember the chosen language in a cookie (a preference, not a state change)."""
    code = request.match_info["code"]
    back = request.query.get("next")
    response = web.HTTPSeeOther("/" if back == "/" else safe_next(back))  # the start page too
    if code in LANGUAGES:
        response.set_cookie(LANG_COOKIE, code, max_age=365 * 86400, httponly=True, samesite="Lax", path="/")
    raise response


@ROUTES.get(LOGIN_PATH, name="panel.login")
@public
async def login_page(request: web.Request) -> web.StreamResponse:
    await current_staff(request)  # a logged-in visitor sees who they are and a link back
    async with request.app[keys.POOL].acquire() as conn:
        first = not await staff_domain.staff_exists(conn)  # nobody can log in yet: say how
    return await render(
        request,
        "panel/login.html",
        {
            "next": safe_next(request.query.get("next")),
            "create_admin": create_admin_command() if first else None,
        },
    )


@ROUTES.post(LOGIN_PATH, name="panel.login_submit", ok_status=401)
@public
async def login_submit(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    form = await read_form(request)
    username = str(form.get("username", ""))[:200]
    password = str(form.get("password", ""))[:1000]
    next_url = safe_next(str(form.get("next", "")))
    async with request.app[keys.POOL].acquire() as conn:
        result = await staff_domain.login(conn, username, password, client_address(request))
    if result.throttled_for is not None:
        minutes = max(1, -(-int(result.throttled_for.total_seconds()) // 60))
        error = _("Too many failed attempts. Try again in {minutes} min.").format(minutes=minutes)
        return await render(
            request, "panel/login.html", {"error": error, "username": username, "next": next_url}, status=429
        )
    if result.staff is None:
        return await render(
            request,
            "panel/login.html",
            {"error": _("Wrong username or password."), "username": username, "next": next_url},
            status=401,
        )
    await start_session(request, result.staff)
    raise web.HTTPSeeOther(next_url)


@ROUTES.get(
    "/panel/login/once/{token}",
    name="panel.login_once",
    example="/panel/login/once/not-a-real-token",
    ok_status=410,
)
@public
async def login_once_page(request: web.Request) -> web.StreamResponse:
    """A GET never uses the link (chat apps open links to preview them): a button does."""
    async with request.app[keys.POOL].acquire() as conn:
        valid = await staff_domain.link_is_valid(conn, request.match_info["token"])
    if not valid:
        return await _link_used(request)
    return await render(request, "panel/login_once.html", {"token": request.match_info["token"]})


@ROUTES.post(
    "/panel/login/once/{token}",
    name="panel.login_once_submit",
    example="/panel/login/once/not-a-real-token",
    ok_status=410,
)
@public
async def login_once_submit(request: web.Request) -> web.StreamResponse:
    async with request.app[keys.POOL].acquire() as conn:
        staff = await staff_domain.login_with_link(conn, request.match_info["token"], client_address(request))
    if staff is None:
        return await _link_used(request)
    await start_session(request, staff)
    raise web.HTTPSeeOther(PANEL_PREFIX)


async def _link_used(request: web.Request) -> web.Response:
    _ = gettext(request)
    return await render(
        request,
        "panel/login.html",
        {"error": _("This login link has expired or was already used."), "next": PANEL_PREFIX},
        status=410,
    )


@ROUTES.post("/panel/logout", name="panel.logout", ok_status=303)
@require()
async def logout(request: web.Request) -> web.StreamResponse:
    session = await aiohttp_session.get_session(request)
    async with request.app[keys.POOL].acquire() as conn:
        await staff_domain.logout(conn, request[STAFF], client_address(request), session.get("sid"))
    session.invalidate()
    raise web.HTTPSeeOther(LOGIN_PATH)
