"""The Users screen: find a user, see their ads and recent messages, block or unblock them."""

from __future__ import annotations

from aiohttp import web

from app.db.queries import panel_users as q
from app.domain import ads as ads_domain
from app.domain import users as users_domain
from app.domain.staff import Role
from app.i18n import N_
from app.web import keys
from app.web.forms import path_id, read_form, whole_number
from app.web.panel.auth.access import require
from app.web.panel.auth.language import gettext
from app.web.panel.auth.pages import render
from app.web.panel.auth.routes import PanelRoutes
from app.web.panel.auth.sessions import STAFF
from app.web.panel.daterange import export_url, filters
from app.web.panel.export import stream_csv

ROUTES = PanelRoutes()
# What a user sent, as staff read it (a pressed button shows its label instead).
UPDATE_KINDS = {
    "message": N_("message"),
    "edited_message": N_("edited message"),
    "my_chat_member": N_("blocked or unblocked the bot"),
    "message_reaction": N_("reaction"),
    "pre_checkout_query": N_("payment"),
    "inline_query": N_("inline query"),
}


def _user_id(request: web.Request) -> int:
    return path_id(request, "user_id", gettext(request)("This user does not exist."))


@ROUTES.get("/panel/users", name="panel.users")
@require(Role.MODERATOR, Role.OPERATOR)
async def users_page(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    text = request.query.get("q", "").strip()
    after_raw = request.query.get("after", "").strip()
    error = None
    if len(text) > 100:
        error = _("Search for at most 100 characters.")
    elif after_raw and whole_number(after_raw) is None:
        error = _("This page link is broken: start from the first page.")
    if error:
        return await render(
            request, "panel/users.html", {"q": text, "rows": [], "next_url": None, "error": error}, status=400
        )
    async with request.app[keys.POOL].acquire() as conn:
        channels = await users_domain.user_scope(conn, request[STAFF])
        rows = await q.search(conn, text, int(after_raw) if after_raw else None, channels=channels)
    next_url = None
    if len(rows) > q.PAGE_SIZE:
        rows = rows[: q.PAGE_SIZE]
        params = {"after": str(rows[-1].id)} | ({"q": text} if text else {})
        next_url = str(request.app.router["panel.users"].url_for().with_query(params))
    return await render(
        request,
        "panel/users.html",
        {
            "q": text,
            "rows": rows,
            "next_url": next_url,
            "error": None,
            "first_page": bool(after_raw),
            "export_url": export_url(request, "panel.users_csv", "q"),
        },
    )


@ROUTES.get("/panel/users.csv", name="panel.users_csv")
@require(Role.MODERATOR, Role.OPERATOR)
async def users_csv(request: web.Request) -> web.StreamResponse:
    """Every user the search finds (a moderator: the sellers of their channels), as CSV."""
    _ = gettext(request)
    text = request.query.get("q", "").strip()
    if len(text) > 100:
        raise web.HTTPBadRequest(text=_("Search for at most 100 characters."))
    async with request.app[keys.POOL].acquire() as conn:
        channels = await users_domain.user_scope(conn, request[STAFF])
    return await stream_csv(request, q.export(text, channels), filters(request, "q"))


@ROUTES.get("/panel/users/{user_id}", name="panel.user", example="/panel/users/0", ok_status=404)
@require(Role.MODERATOR, Role.OPERATOR)
async def user_page(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    user_id = _user_id(request)
    staff = request[STAFF]
    async with request.app[keys.POOL].acquire() as conn:
        user = await q.user(conn, user_id)
        if user is None or not await users_domain.may_see(conn, staff, user_id):
            raise web.HTTPNotFound(text=_("This user does not exist."))
        ads = await q.ads_of(conn, user_id, channels=await users_domain.user_scope(conn, staff))
        reads = await users_domain.sees_private_messages(conn, staff, user_id)
        journal = await q.journal_of(conn, user_id) if reads else None
    # Why no messages show, for an operator: they read those of the users they serve.
    not_served = journal is None and users_domain.reads_messages(staff)
    return await render(
        request,
        "panel/user.html",
        {
            "user": user,
            "journal": journal,
            "not_served": not_served,
            "update_kinds": UPDATE_KINDS,
            "flash": request.query.get("msg"),
            "ads": ads,
            "status_label": lambda status: ads_domain.status_label(status, _),
        },
    )


async def _set_block(request: web.Request, block: bool) -> web.StreamResponse:
    _ = gettext(request)
    user_id = _user_id(request)
    form = await read_form(request)
    reason = str(form.get("reason", ""))
    if len(reason) > 500:
        raise web.HTTPBadRequest(text=_("The reason may be at most 500 characters."))
    staff = request[STAFF]
    try:
        async with request.app[keys.POOL].acquire() as conn, conn.transaction():
            if await q.user(conn, user_id) is None or not await users_domain.may_see(conn, staff, user_id):
                raise web.HTTPNotFound(text=_("This user does not exist."))
            if block:
                await users_domain.block(conn, user_id, staff, reason)
            else:
                await users_domain.unblock(conn, user_id, staff)
    except users_domain.BlockRefused as exc:
        raise web.HTTPForbidden(text=exc.text(_)) from None
    message = _("The user is blocked.") if block else _("The user is unblocked.")
    raise web.HTTPSeeOther(
        request.app.router["panel.user"].url_for(user_id=str(user_id)).with_query(msg=message)
    )


@ROUTES.post(
    "/panel/users/{user_id}/block", name="panel.user_block", example="/panel/users/0/block", ok_status=404
)
@require(Role.MODERATOR, Role.OPERATOR)
async def block(request: web.Request) -> web.StreamResponse:
    return await _set_block(request, True)


@ROUTES.post(
    "/panel/users/{user_id}/unblock",
    name="panel.user_unblock",
    example="/panel/users/0/unblock",
    ok_status=404,
)
@require(Role.MODERATOR, Role.OPERATOR)
async def unblock(request: web.Request) -> web.StreamResponse:
    return await _set_block(request, False)
