"""The moderation queue: pending ads with photos, flags and the seller's history, decided live."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web

from app.db import Conn
from app.db.queries import moderation_queue as q
from app.db.queries.ads import MODERATION_CHANNEL
from app.db.queries.channels import RejectReason
from app.db.queries.moderation_queue import Card
from app.domain import ads, channels
from app.domain import staff as staff_domain
from app.domain.actors import StaffMember
from app.domain.staff import Role
from app.i18n import Gettext
from app.storage import InvalidKey, NotFound, S3Storage
from app.web import keys
from app.web.errors import wants_json
from app.web.forms import path_id, read_form, whole_number
from app.web.live import Event, serve_events
from app.web.panel.auth.access import require
from app.web.panel.auth.csrf import csrf_token
from app.web.panel.auth.language import gettext, language
from app.web.panel.auth.pages import render
from app.web.panel.auth.routes import PanelRoutes
from app.web.panel.auth.sessions import STAFF

ROUTES = PanelRoutes()

CARD_TEMPLATE = "panel/_ad_card.html"


def _delivery_problem(card: Card, _: Gettext) -> str | None:
    """Why the channel's admins may not know about the ad: none in the bot, or Telegram refused."""
    reasons = "; ".join(card.failures)
    if card.admin_notes and card.notes_failed == card.admin_notes:
        return _("No admin of the channel could be notified in Telegram: {reasons}").format(reasons=reasons)
    if card.failures:
        return _("{n} messages about this ad failed: {reasons}").format(n=len(card.failures), reasons=reasons)
    return None


def _card(card: Card, reasons: list[RejectReason], lang: str, _: Gettext) -> dict[str, Any]:
    """What the card template shows, with every text already in the panel's language."""
    ad = card.ad
    return {
        "id": ad.id,
        "title": ad.title,
        "description": ad.description,
        "price": ads.format_price(ads.Price(ad.price, ad.currency, ad.negotiable), _, lang),
        "district": ad.district,
        "contact": ad.contact,
        "category": card.hashtag,
        "channel": card.channel_title,
        "flags": [ads.describe_flag(f, _) for f in ad.flags],
        "delivery": _delivery_problem(card, _),
        "photos": card.photo_positions,
        "seller": {"id": ad.seller_id, "name": card.seller_name, "username": card.seller_username},
        "history": [(ads.status_label(status, _), n) for status, n in card.history.items()],
        "reasons": [{"id": r.id, "text": r.text(lang)} for r in reasons],
        "submitted_at": ad.submitted_at,
    }


async def _cards(conn: Conn, cards: list[Card], lang: str, _: Gettext) -> list[dict[str, Any]]:
    reasons: dict[int, list[RejectReason]] = {}
    for card in cards:
        channel_id = card.ad.channel_id
        if channel_id not in reasons:
            reasons[channel_id] = await channels.reasons_of(conn, channel_id)
    return [_card(card, reasons[card.ad.channel_id], lang, _) for card in cards]


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
            or not row.storage_key
            or not await staff_domain.can_moderate(conn, request[STAFF], row.channel_id)
        ):
            raise web.HTTPNotFound(text=gettext(request)("No such photo."))
    storage = request.app[keys.STORAGE]
    try:
        if isinstance(storage, S3Storage):  # the browser fetches from S3 itself
            raise web.HTTPFound(await storage.url(row.storage_key, expires=600))
        stored = await storage.get(row.storage_key)
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
    return dict(await read_form(request))


def decided_text(_: Gettext, approve: bool, name: object) -> str:
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


def _reason(form: dict[str, str]) -> ads.Reason | None:
    """A typed reason wins over a canned one; neither: None."""
    typed = form.get("reason", "").strip()
    if typed:
        return typed
    if form.get("reason_id", "").strip():
        return ads.Canned(whole_number(form["reason_id"], 9) or 0)
    return None


async def _decide(request: web.Request, approve: bool) -> web.StreamResponse:
    _ = gettext(request)
    ad_id = _id(request, "ad_id")
    form = await _form(request)
    reason = None if approve else _reason(form)
    languages = request.app[keys.RUNNING_SETTINGS].languages  # current: the panel may change them
    msgs = request.app[keys.BOT_PARTS].ad_messages
    assert msgs is not None, "app.main sets the ad messages before the panel takes requests"
    try:
        async with request.app[keys.POOL].acquire() as conn, conn.transaction():
            decision = await ads.decide(
                conn,
                ad_id,
                StaffMember(request[STAFF]),
                approve=approve,
                reason=reason,
                msgs=msgs,
                languages=languages,
            )
    except ads.AdNotFound:
        return _answer(request, False, _("This ad does not exist."), 404)
    except ads.ReasonMissing:
        return _answer(request, False, _("Choose a reason or type one."), 400)
    except ads.AdError as exc:
        return _answer(request, False, exc.text(_), 400)
    if not decision.won:
        return _answer(request, False, decision.reply.text(_))
    text = (_("Ad #{id} approved.") if approve else _("Ad #{id} rejected.")).format(id=ad_id)
    return _answer(request, True, text, decided=decided_text(_, approve, decision.decider))


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
    ad_id = _id(request, "ad_id")
    form = await _form(request)
    title, description = form.get("title", ""), form.get("description", "")
    try:
        async with request.app[keys.POOL].acquire() as conn, conn.transaction():
            await ads.edit_text(
                conn, ad_id, StaffMember(request[STAFF]), title=title, description=description
            )
    except ads.AdNotFound:
        return _answer(request, False, _("This ad does not exist."), 404)
    except ads.AdError as exc:
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
                found = await q.card(conn, ad_id)
                if found is None or found.ad.status != ads.AdStatus.PENDING:
                    return None
                card = (await _cards(conn, [found], lang, _))[0]
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
