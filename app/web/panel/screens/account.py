"""My account (every staff member): who I am, and setting or changing my own password."""

from __future__ import annotations

import aiohttp_session
from aiohttp import web

from app.domain import staff as staff_domain
from app.domain import staff_tokens
from app.domain.staff import MIN_PASSWORD, PasswordError
from app.web import keys
from app.web.forms import path_id, read_form
from app.web.panel.auth.access import require
from app.web.panel.auth.language import gettext
from app.web.panel.auth.pages import render
from app.web.panel.auth.routes import PanelRoutes
from app.web.panel.auth.sessions import STAFF

ROUTES = PanelRoutes()

MAX_PASSWORD = 1000  # scrypt hashes anything, but a megabyte "password" is only a burden


async def _page(
    request: web.Request,
    *,
    error: str | None = None,
    status: int = 200,
    token_error: str | None = None,
    new_token: str | None = None,
) -> web.Response:
    async with request.app[keys.POOL].acquire() as conn:
        has_password = await staff_domain.has_password(conn, request[STAFF].id)
        tokens = await staff_tokens.tokens(conn, request[STAFF])
    return await render(
        request,
        "panel/account.html",
        {
            "has_password": has_password,
            "min_password": MIN_PASSWORD,
            "error": error,
            "saved": request.query.get("saved") == "1",
            "tokens": tokens,
            "token_error": token_error,
            "new_token": new_token,
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


@ROUTES.post("/panel/account/tokens", name="panel.account_token_create", ok_status=400)
@require()
async def create_token(request: web.Request) -> web.StreamResponse:
    """A staff API token with my role: its text is on this page once, never again."""
    _ = gettext(request)
    form = await read_form(request)
    try:
        async with request.app[keys.POOL].acquire() as conn:
            _token, secret = await staff_tokens.create_token(conn, request[STAFF], str(form.get("name", "")))
    except staff_tokens.TokenError as exc:
        return await _page(request, token_error=exc.text(_), status=400)
    return await _page(request, new_token=secret)


@ROUTES.post(
    "/panel/account/tokens/{token_id}/revoke",
    name="panel.account_token_revoke",
    example="/panel/account/tokens/0/revoke",
    ok_status=303,
)
@require()
async def revoke_token(request: web.Request) -> web.StreamResponse:
    """Revoke one of my tokens (someone else's, or one already revoked: nothing happens)."""
    _ = gettext(request)
    await read_form(request)
    token_id = path_id(request, "token_id", _("This token does not exist."))
    async with request.app[keys.POOL].acquire() as conn:
        await staff_tokens.revoke_token(conn, request[STAFF], token_id)
    raise web.HTTPSeeOther("/panel/account")
