"""My account (every staff member): who I am, and setting or changing my own password."""

from __future__ import annotations

import aiohttp_session
from aiohttp import web

from app.domain import staff as staff_domain
from app.domain.staff import MIN_PASSWORD, PasswordError
from app.web import keys
from app.web.forms import read_form
from app.web.panel.auth.access import require
from app.web.panel.auth.language import gettext
from app.web.panel.auth.pages import render
from app.web.panel.auth.routes import PanelRoutes
from app.web.panel.auth.sessions import STAFF

ROUTES = PanelRoutes()

MAX_PASSWORD = 1000  # scrypt hashes anything, but a megabyte "password" is only a burden


async def _page(request: web.Request, *, error: str | None = None, status: int = 200) -> web.Response:
    async with request.app[keys.POOL].acquire() as conn:
        has_password = await staff_domain.has_password(conn, request[STAFF].id)
    return await render(
        request,
        "panel/account.html",
        {
            "has_password": has_password,
            "min_password": MIN_PASSWORD,
            "error": error,
            "saved": request.query.get("saved") == "1",
        },
        status=status,
    )


@ROUTES.get("/panel/account", name="panel.account")
@require()
async def account_page(request: web.Request) -> web.StreamResponse:
    return await _page(request)


@ROUTES.post("/panel/account/password", name="panel.account_password", ok_status=400)
@require()
async def change_password(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    form = await read_form(request)
    fields = {name: str(form.get(name, ""))[:MAX_PASSWORD] for name in ("current", "new", "repeat")}
    token = str((await aiohttp_session.get_session(request)).get("sid") or "")
    try:
        async with request.app[keys.POOL].acquire() as conn, conn.transaction():
            await staff_domain.change_password(conn, request[STAFF], session_token=token, **fields)
    except PasswordError as exc:
        return await _page(request, error=exc.text(_), status=400)
    raise web.HTTPSeeOther("/panel/account?saved=1")
