"""The moderation queue: pending ads with photos, flags and the seller's history, decided live."""

from __future__ import annotations

import json

import aiohttp_jinja2
import asyncpg
from aiohttp import web

from app.db.queries import channels as channel_q
from app.db.queries import moderation_queue as q
from app.db.queries.ads import MODERATION_CHANNEL
from app.domain import moderation, publishing
from app.domain import staff as staff_domain
from app.domain.ads import AdError, Price, describe_flag, format_price
from app.domain.staff import Role, Staff
from app.i18n import N_
from app.storage import InvalidKey, NotFound, S3Storage
from app.web import keys
from app.web.errors import wants_json
from app.web.forms import path_id, whole_number
from app.web.live import Event, serve_events
from app.web.panel.auth.access import require
from app.web.panel.auth.csrf import csrf_token
from app.web.panel.auth.language import gettext, language
from app.web.panel.auth.pages import render
from app.web.panel.auth.routes import PanelRoutes
from app.web.panel.auth.sessions import STAFF

ROUTES = PanelRoutes()

STATUS_NAMES = {
    "pending": N_("pending"),
    "published": N_("published"),
    "rejected": N_("rejected"),
    "sold": N_("sold"),
    "expired": N_("expired"),
    "withdrawn": N_("withdrawn"),
}
CARD_TEMPLATE = "panel/_ad_card.html"


def _card(row: asyncpg.Record, reasons: list[asyncpg.Record], lang: str, _) -> dict:
    """What the card template shows, with every text already in the panel's language."""
    price = Price(row["price"], row["currency"], row["negotiable"])
    history = json.loads(row["history"]) if isinstance(row["history"], str) else row["history"]
    return {
        "id": row["id"],
        "title": row["title"],
        "description": row["description"],
        "price": format_price(price, _),
        "district": row["district"],
        "contact": row["contact"],
        "category": row["category"],
        "channel": row["channel_title"],
        "flags": [describe_flag(f, _) for f in row["flags"]],
        "photos": list(row["photo_positions"]),
        "seller": {"id": row["seller_id"], "name": row["seller_name"], "username": row["seller_username"]},
        "history": [(_(STATUS_NAMES.get(s, s)), n) for s, n in sorted((history or {}).items())],
        "reasons": [{"id": r["id"], "text": r[f"text_{lang}"]} for r in reasons],
        "submitted_at": row["submitted_at"],
    }


async def _cards(conn: asyncpg.Connection, rows: list[asyncpg.Record], lang: str, _) -> list[dict]:
    reasons: dict[int, list[asyncpg.Record]] = {}
    for row in rows:
        if row["channel_id"] not in reasons:
            reasons[row["channel_id"]] = await channel_q.list_reasons(conn, row["channel_id"])
    return [_card(row, reasons[row["channel_id"]], lang, _) for row in rows]


@ROUTES.get("/panel/moderation", name="panel.moderation")
@require(Role.MODERATOR)
async def queue_page(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    async with request.app[keys.POOL].acquire() as conn:
        channels = await staff_domain.moderated_channel_ids(conn, request[STAFF])
        rows = await q.pending_cards(conn, channels)
        cards = await _cards(conn, rows, language(request), _)
    kind = request.query.get("kind")
    return await render(
        request,
        "panel/moderation.html",
        {
            "cards": cards,
            "limit": q.QUEUE_LIMIT,
            "flash": request.query.get("msg"),
            "flash_kind": kind if kind in ("success", "warning", "danger") else "info",
        },
    )


@ROUTES.get(
    "/panel/moderation/{ad_id}/photo/{position}",
    name="panel.moderation_photo",
    example="/panel/moderation/0/photo/0",
    ok_status=404,
)
@require(Role.MODERATOR)
async def photo(request: web.Request) -> web.StreamResponse:
    """A pending ad's photo from Storage; S3 gets a short-lived presigned URL instead."""
    ad_id, position = _id(request, "ad_id"), _id(request, "position")
    async with request.app[keys.POOL].acquire() as conn:
        row = await q.photo_key(conn, ad_id, min(position, 32767))
        if (
            row is None
            or not row["storage_key"]
            or not await staff_domain.can_moderate(conn, request[STAFF], row["channel_id"])
        ):
            raise web.HTTPNotFound(text=gettext(request)("No such photo."))
    storage = request.app[keys.STORAGE]
    try:
        if isinstance(storage, S3Storage):  # the browser fetches from S3 itself
            raise web.HTTPFound(await storage.url(row["storage_key"], expires=600))
        stored = await storage.get(row["storage_key"])
    except (NotFound, InvalidKey):
        raise web.HTTPNotFound(text=gettext(request)("No such photo.")) from None
    return web.Response(
        body=stored.data, content_type=stored.content_type, headers={"Cache-Control": "private, max-age=3600"}
    )


def _id(request: web.Request, name: str) -> int:
    """A number from the path; anything else is a page that does not exist."""
    return path_id(request, name, gettext(request)("This ad does not exist."))


async def _form(request: web.Request) -> dict[str, str]:
    """The fields of a plain form POST or of a fetch() with a JSON body."""
    if request.content_type == "application/json":
        try:
            data = await request.json()
        except ValueError:
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
    return {k: str(v) for k, v in (await request.post()).items()}


def decided_text(_, approve: bool, name: object) -> str:
    """What a decided card says, in the panel and live on every other moderator's page."""
    return (_("Approved by {name}") if approve else _("Rejected by {name}")).format(name=name)


def _answer(
    request: web.Request,
    ok: bool,
    message: str,
    status: int = 200,
    kind: str | None = None,
    decided: str | None = None,
) -> web.StreamResponse:
    """JSON for fetch(); a redirect back to the queue with a flash message for a plain form."""
    if wants_json(request) or "application/json" in request.headers.get("Accept", ""):
        body = {"ok": ok, "message": message} | ({"decided": decided} if decided else {})
        return web.json_response(body, status=status)
    if status in (400, 404):
        return web.Response(text=message, status=status)
    location = (
        request.app.router["panel.moderation"]
        .url_for()
        .with_query(msg=message, kind=kind or ("success" if ok else "warning"))
    )
    raise web.HTTPSeeOther(location)


async def _visible_ad(conn: asyncpg.Connection, staff: Staff, ad_id: int) -> asyncpg.Record | None:
    ad = await conn.fetchrow("SELECT * FROM ads WHERE id = $1", ad_id)
    if ad is None or not await staff_domain.can_moderate(conn, staff, ad["channel_id"]):
        return None
    return ad


async def _decide(request: web.Request, approve: bool) -> web.StreamResponse:
    _ = gettext(request)
    staff = request[STAFF]
    ad_id = _id(request, "ad_id")
    form = await _form(request)
    languages = request.app[keys.RUNNING_SETTINGS].languages  # current: the panel may change them
    async with request.app[keys.POOL].acquire() as conn:
        if await _visible_ad(conn, staff, ad_id) is None:
            return _answer(request, False, _("This ad does not exist."), 404)
        reason = None
        if not approve:
            reason = form.get("reason", "").strip()
            if not reason and form.get("reason_id", "").strip():
                reason_id = whole_number(form["reason_id"], 9) or 0
                reason = await moderation.canned_reason(conn, ad_id, reason_id, languages)
            if not reason:
                return _answer(request, False, _("Choose a reason or type one."), 400)
        try:
            async with conn.transaction():
                decision = await publishing.decide_ad(
                    conn,
                    ad_id,
                    staff.telegram_user_id,
                    approve=approve,
                    reason=reason,
                    msgs=request.app[keys.BOT_PARTS].ad_messages,
                    languages=languages,
                    staff=staff,
                )
                who = await moderation.decider_name(conn, decision.ad)
                if decision.won:
                    await staff_domain.audit(
                        conn,
                        staff.id,
                        "ad.approve" if approve else "ad.reject",
                        f"ad:{ad_id}",
                        {"status": "pending"},
                        {"status": decision.ad["status"], "reason": reason},
                    )
        except AdError as exc:
            return _answer(request, False, exc.text(_), 400)
    if not decision.won:
        return _answer(request, False, _("Already decided by {name}.").format(name=who))
    text = (_("Ad #{id} approved.") if approve else _("Ad #{id} rejected.")).format(id=ad_id)
    return _answer(request, True, text, decided=decided_text(_, approve, who))


@ROUTES.post(
    "/panel/moderation/{ad_id}/approve",
    name="panel.moderation_approve",
    example="/panel/moderation/0/approve",
    ok_status=404,
)
@require(Role.MODERATOR)
async def approve(request: web.Request) -> web.StreamResponse:
    return await _decide(request, True)


@ROUTES.post(
    "/panel/moderation/{ad_id}/reject",
    name="panel.moderation_reject",
    example="/panel/moderation/0/reject",
    ok_status=404,
)
@require(Role.MODERATOR)
async def reject(request: web.Request) -> web.StreamResponse:
    return await _decide(request, False)


@ROUTES.post(
    "/panel/moderation/{ad_id}/edit",
    name="panel.moderation_edit",
    example="/panel/moderation/0/edit",
    ok_status=404,
)
@require(Role.MODERATOR)
async def edit(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    staff = request[STAFF]
    ad_id = _id(request, "ad_id")
    form = await _form(request)
    async with request.app[keys.POOL].acquire() as conn:
        if await _visible_ad(conn, staff, ad_id) is None:
            return _answer(request, False, _("This ad does not exist."), 404)
        try:
            async with conn.transaction():
                await moderation.edit_pending(
                    conn, ad_id, staff, title=form.get("title", ""), description=form.get("description", "")
                )
        except AdError as exc:
            return _answer(request, False, exc.text(_), 400)
    return _answer(request, True, _("The text of ad #{id} is saved.").format(id=ad_id))


@ROUTES.get("/panel/moderation/ws", name="panel.moderation_ws", ok_status=400)
@require(Role.MODERATOR)
async def live(request: web.Request) -> web.StreamResponse:
    """Queue changes as they happen, for this staff member's channels only."""
    _ = gettext(request)
    if not web.WebSocketResponse().can_prepare(request).ok:
        return web.Response(text=_("This address is a WebSocket for the moderation page."), status=400)
    pool = request.app[keys.POOL]
    lang = language(request)
    async with pool.acquire() as conn:
        channels = await staff_domain.moderated_channel_ids(conn, request[STAFF])
    context = {"_": _, "lang": lang, "csrf_token": await csrf_token(request)}

    async def shape(event: Event) -> Event | None:
        if event.get("event") == "resync":
            return event
        if channels is not None and event.get("channel_id") not in channels:
            return None
        kind, ad_id = event.get("event"), event.get("ad_id")
        if kind == "submitted" and isinstance(ad_id, int):
            async with pool.acquire() as conn:
                row = await q.card(conn, ad_id)
                if row is None or row["status"] != "pending":
                    return None
                card = (await _cards(conn, [row], lang, _))[0]
            html = aiohttp_jinja2.render_string(CARD_TEMPLATE, request, {**context, "card": card})
            return {"event": "submitted", "ad_id": ad_id, "html": html}
        if kind in ("published", "rejected"):
            return {
                "event": kind,
                "ad_id": ad_id,
                "text": decided_text(_, kind == "published", event.get("by", "?")),
            }
        return None

    return await serve_events(request, MODERATION_CHANNEL, shape)
