"""Staff screen (admins): list, invite with a one-time link, new links, deactivate, change role."""

from __future__ import annotations

from aiohttp import web

from app.db.queries import channels as channels_q
from app.db.queries import panel_admin as q
from app.domain import staff as staff_domain
from app.domain.staff import ROLES, Role, StaffError
from app.web import keys
from app.web.forms import path_id, read_form, whole_number
from app.web.panel.auth.access import require
from app.web.panel.auth.language import gettext
from app.web.panel.auth.pages import ROLE_NAMES, render
from app.web.panel.auth.routes import PanelRoutes
from app.web.panel.auth.sessions import STAFF

ROUTES = PanelRoutes()


async def _page(
    request: web.Request,
    *,
    error: str | None = None,
    link: str | None = None,
    link_for: str | None = None,
    form: dict | None = None,
    status: int = 200,
) -> web.Response:
    """`link_for`: whose new login link `link` is (None: the account was just created)."""
    _ = gettext(request)
    async with request.app[keys.POOL].acquire() as conn:
        staff = await q.list_staff(conn)
        channels = await channels_q.list_channels(conn)
    return await render(
        request,
        "panel/staff.html",
        {
            "members": staff,
            "channels": channels,
            "error": error,
            "link": link,
            "link_for": link_for,
            "form": form or {},
            "roles": [(r.value, _(ROLE_NAMES[r])) for r in ROLES],
        },
        status=status,
    )


@ROUTES.get("/panel/staff", name="panel.staff")
@require(Role.ADMIN)
async def staff_page(request: web.Request) -> web.StreamResponse:
    return await _page(request)


@ROUTES.post("/panel/staff/invite", name="panel.staff_invite", ok_status=400)
@require(Role.ADMIN)
async def staff_invite(request: web.Request) -> web.StreamResponse:
    """A new account without a password; the page shows its one-time login link once."""
    _ = gettext(request)
    data = await read_form(request)
    form = {k: str(data.get(k, "")).strip() for k in ("username", "role", "display_name", "telegram_user_id")}
    channel_ids = [str(v) for v in data.getall("channel_id", [])]
    try:
        if form["role"] not in [r.value for r in ROLES]:
            raise StaffError(_("Choose a role."))
        tg = form["telegram_user_id"]
        if tg and whole_number(tg) is None:  # Telegram ids have at most 52 bits
            raise StaffError(_("A Telegram user id is a positive number."))
        if not form["display_name"].isprintable():  # PostgreSQL text cannot hold NUL
            raise StaffError(_("A display name has no control characters."))
        if any(whole_number(c, 18) is None for c in channel_ids):
            raise StaffError(_("Choose channels from the list."))
        async with request.app[keys.POOL].acquire() as conn, conn.transaction():
            member = await staff_domain.create_staff(
                conn,
                form["username"],
                None,
                Role(form["role"]),
                display_name=form["display_name"][:128] or None,
                telegram_user_id=int(tg) if tg else None,
                by=request[STAFF].id,
            )
            for channel_id in channel_ids:
                if await channels_q.get_channel(conn, int(channel_id)) is None:
                    raise StaffError(_("Choose channels from the list."))
                await staff_domain.give_channel(conn, member.id, int(channel_id), by=request[STAFF].id)
            link = await staff_domain.issue_login_link(
                conn, member.id, request.app[keys.CONFIG].base_url, by=request[STAFF].id
            )
    except StaffError as exc:
        return await _page(request, error=_(str(exc)), form=form, status=400)
    return await _page(request, link=link)


@ROUTES.post("/panel/staff/{id}", name="panel.staff_change", example="/panel/staff/999999", ok_status=404)
@require(Role.ADMIN)
async def staff_change(request: web.Request) -> web.StreamResponse:
    """action=deactivate|reactivate|role (with role=...)|link (a new one-time login link: the
    only way back in for someone without a password once their session or invite link ends)."""
    _ = gettext(request)
    staff_id = path_id(request, "id", _("No such staff member."))
    data = await read_form(request)
    action, role = str(data.get("action", "")), str(data.get("role", ""))
    base_url = request.app[keys.CONFIG].base_url
    try:
        async with request.app[keys.POOL].acquire() as conn, conn.transaction():
            link = await staff_domain.change_member(
                conn, staff_id, request[STAFF], action=action, role=role, base_url=base_url
            )
            member = await staff_domain.get_any_staff(conn, staff_id)
    except staff_domain.StaffNotFound:
        raise web.HTTPNotFound(text=_("No such staff member.")) from None
    except StaffError as exc:
        return await _page(request, error=_(str(exc)), status=400)
    if link is not None and member is not None:  # shown once, on this page: not a redirect
        return await _page(request, link=link, link_for=member.username)
    raise web.HTTPSeeOther("/panel/staff")
