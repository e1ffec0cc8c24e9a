"""Promotion prices per channel (E5): what sellers may buy for a published ad (a 24-hour pin, N
extra re-posts), in Stars and optionally points; each change audited."""

from __future__ import annotations

from aiohttp import web

from app.db.queries import channels as channel_q
from app.domain import promotions
from app.domain.promotions import PromotionError, PromotionKind
from app.domain.staff import Role
from app.web import keys
from app.web.forms import path_id, read_form, whole_number
from app.web.panel.auth.access import require
from app.web.panel.auth.language import gettext
from app.web.panel.auth.pages import render
from app.web.panel.auth.routes import PanelRoutes
from app.web.panel.auth.sessions import STAFF

ROUTES = PanelRoutes()


async def _page(request: web.Request, *, status: int = 200, **extra: object) -> web.StreamResponse:
    async with request.app[keys.POOL].acquire() as conn:
        rows = []
        for channel in await channel_q.list_channels(conn):
            options, points = await promotions.channel_options(conn, channel.id)
            rows.append({"channel": channel, "options": options, "accepts_points": points})
    context = {"channels": rows, "error": None, "done_message": None, **extra}
    return await render(request, "panel/promotions.html", context, status=status)


@ROUTES.get("/panel/promotions", name="panel.promotions")
@require(Role.ADMIN)
async def promotions_page(request: web.Request) -> web.StreamResponse:
    return await _page(request)


@ROUTES.post(
    "/panel/promotions/{channel_id}/option",
    name="panel.promotion_option",
    example="/panel/promotions/0/option",
    ok_status=400,
)
@require(Role.ADMIN)
async def save_option(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    channel_id = path_id(request, "channel_id", _("This channel does not exist."))
    form = await read_form(request)
    kind = str(form.get("kind", ""))
    stars = whole_number(str(form.get("price_stars", "")), 6)
    points_text = str(form.get("price_points", "")).strip()
    points = whole_number(points_text, 9) if points_text else None
    reposts = whole_number(str(form.get("reposts", "")), 2) if kind == "reposts" else None
    try:
        if kind not in ("pin", "reposts"):
            raise PromotionError(_("Choose a pin or extra re-posts."))
        if stars is None or (points_text and points is None):
            raise PromotionError(_("Prices are whole numbers."))
        async with request.app[keys.POOL].acquire() as conn:
            if await channel_q.get_channel(conn, channel_id) is None:
                raise PromotionError(_("This channel does not exist."))
            await promotions.save_option(
                conn,
                request[STAFF],
                channel_id,
                PromotionKind(kind),
                reposts,
                stars,
                points,
                bool(form.get("active")),
            )
    except PromotionError as exc:
        return await _page(request, status=400, error=exc.text(_))
    return await _page(request, done_message=_("Saved. Sellers see the new prices from now on."))


@ROUTES.post(
    "/panel/promotions/{channel_id}/points",
    name="panel.promotion_points",
    example="/panel/promotions/0/points",
    ok_status=400,
)
@require(Role.ADMIN)
async def accept_points(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    channel_id = path_id(request, "channel_id", _("This channel does not exist."))
    form = await read_form(request)
    try:
        async with request.app[keys.POOL].acquire() as conn:
            if await channel_q.get_channel(conn, channel_id) is None:
                raise PromotionError(_("This channel does not exist."))
            await promotions.set_accepts_points(
                conn, request[STAFF], channel_id, bool(form.get("accept_points"))
            )
    except PromotionError as exc:
        return await _page(request, status=400, error=exc.text(_))
    return await _page(request, done_message=_("Saved. Sellers see the new prices from now on."))
