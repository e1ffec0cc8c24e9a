"""The Ads screen: filtered keyset pages over every ad, and one ad's whole story."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta

from aiohttp import web

from app.db import Conn
from app.db.queries import panel_ads as q
from app.domain import ads, daterange, outbox
from app.domain import staff as staff_domain
from app.domain.actors import StaffMember
from app.domain.ads import AdStatus
from app.domain.staff import Role
from app.i18n import Gettext
from app.web import keys
from app.web.forms import BadFilter, path_id, whole_number
from app.web.panel.auth.access import require
from app.web.panel.auth.language import gettext, language
from app.web.panel.auth.pages import render
from app.web.panel.auth.routes import PanelRoutes
from app.web.panel.auth.sessions import STAFF
from app.web.panel.daterange import export_url, filters, list_control, utc_today
from app.web.panel.export import stream_csv

ROUTES = PanelRoutes()

MAX_ID = 10**15


def _who(event: q.EventLine, _: Gettext) -> str:
    if event.staff_name:
        return _("{name} (staff)").format(name=event.staff_name)
    if event.actor_id is None:
        return _("Bozor")
    name = event.actor_name or str(event.actor_id)
    return f"{name} @{event.actor_username}" if event.actor_username else name


def event_sentence(event: q.EventLine, _: Gettext, reasons: Mapping[int, str]) -> str:
    """One line of an ad's history as a sentence in the reader's language."""
    who, detail = _who(event, _), event.detail
    kind = event.kind
    if kind == "submitted":
        text = _("{who} submitted the ad.").format(who=who)
    elif kind == "edited" and "changed" not in detail and "title" in detail:  # a moderator's fix
        text = _("{who} edited the title and description.").format(who=who)
    elif kind == "edited":
        changed = detail.get("changed")
        if changed is None and detail.get("photos_changed"):
            changed = ["photos"]
        text = (
            _("{who} edited the ad: {fields}.").format(who=who, fields=ads.field_names(changed, _))
            if changed
            else _("{who} edited the ad.").format(who=who)
        )
        if detail.get("from_status") in set(AdStatus):
            before = ads.status_label(AdStatus(detail["from_status"]), _)
            text += " " + _("It was “{status}” before; it is back in review.").format(status=before)
    elif kind == "approved":
        text = _("{who} approved it.").format(who=who)
    elif kind == "rejected":
        reason = reasons.get(detail.get("reason_id") or 0) or detail.get("reason") or "—"
        text = _("{who} rejected it: {reason}").format(who=who, reason=reason)
    elif kind == "sold":
        text = _("{who} marked it as sold.").format(who=who)
    elif kind == "withdrawn":
        text = _("{who} withdrew it.").format(who=who)
    elif kind == "still_selling":
        text = _("{who} said it is still for sale.").format(who=who)
    elif kind == "expired":
        asks = detail.get("asks", "?")
        text = _("It expired: the seller did not answer {asks} check-ins.").format(asks=asks)
    elif kind == "checkin_asked":
        ask = detail.get("ask", "?")
        text = _("The seller was asked whether it is still for sale (ask {n}).").format(n=ask)
    elif kind == ads.AdEventKind.PROMOTED_REPOST:
        text = _("A paid extra re-post put it in the channel again.")
    else:  # a kind this page does not know (every AdEventKind has its sentence): its name, not a dump
        text = f"{who}: {kind}"
    flags = detail.get("flags") or []
    if flags:
        described = "; ".join(ads.describe_flag(f, _) for f in flags)
        text += " " + _("To look at: {flags}.").format(flags=described)
    return text


def _number(value: str, message: str) -> int:
    number = whole_number(value)
    if number is None:
        raise BadFilter(message)
    return number


def _day(value: str, message: str) -> datetime:
    try:
        return datetime.combine(date.fromisoformat(value.strip()), time(), UTC)
    except ValueError:
        raise BadFilter(message) from None


def encode_cursor(submitted_at: datetime, ad_id: int) -> str:
    raw = f"{submitted_at.isoformat()}|{ad_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(value: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        at, ad_id = raw.split("|")
        moment = datetime.fromisoformat(at)
        number = whole_number(ad_id, 18)
        if moment.tzinfo is None or number is None:
            raise ValueError(raw)
        return moment, number
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadFilter("bad cursor") from None


def parse_filter(
    query: Mapping[str, str], _: Gettext, channels: list[int] | None
) -> tuple[q.AdFilter, tuple[datetime, int] | None]:
    """The list's filters from the query string; BadFilter with a clear message otherwise."""

    def get(name: str) -> str:
        return (query.get(name) or "").strip()

    status = None
    if get("status"):
        try:
            status = AdStatus(get("status"))
        except ValueError:
            raise BadFilter(_("Unknown status: choose one from the list.")) from None
    ids = {
        name: _number(get(name), _("The {field} must be a number.").format(field=label))
        if get(name)
        else None
        for name, label in (
            ("channel", _("channel")),
            ("category", _("category")),
            ("seller", _("seller id")),
        )
    }
    since = _day(get("from"), _("Dates look like 2026-01-31.")) if get("from") else None
    until = _day(get("to"), _("Dates look like 2026-01-31.")) if get("to") else None
    if get("days"):  # a preset of the date-range control: the last 7, 30 or 90 days
        try:
            preset = daterange.parse("", "", utc_today(), days=get("days"))
        except daterange.RangeError as exc:
            raise BadFilter(exc.text(_)) from None
        assert preset is not None
        since, until = preset.since(), datetime.combine(preset.last, time(), UTC)
    if until is not None:
        try:
            until += timedelta(days=1)  # "to" includes that whole day
        except OverflowError:  # 9999-12-31: no day after it
            raise BadFilter(_("Dates look like 2026-01-31.")) from None
    if since and until and since >= until:
        raise BadFilter(_("The start date must be before the end date."))
    text = get("q")
    if len(text) > 100:
        raise BadFilter(_("Search for at most 100 characters."))
    after = None
    if get("after"):
        try:
            after = decode_cursor(get("after"))
        except BadFilter:
            raise BadFilter(_("This page link is broken: start from the first page.")) from None
    return q.AdFilter(
        status=status,
        channel_id=ids["channel"],
        category_id=ids["category"],
        seller_id=ids["seller"],
        since=since,
        until=until,
        q=text or None,
        channels=channels,
    ), after


@ROUTES.get("/panel/ads", name="panel.ads")
@require(Role.MODERATOR)
async def ads_page(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    async with request.app[keys.POOL].acquire() as conn:
        channels = await staff_domain.moderated_channel_ids(conn, request[STAFF])
        context = {
            "channels": await q.channel_choices(conn, channels),
            "categories": await q.category_choices(conn, channels),
            "statuses": [(status.value, ads.status_label(status, _)) for status in AdStatus],
            "query": dict(request.query),
            "lang": language(request),
        }
        try:
            f, after = parse_filter(request.query, _, channels)
        except BadFilter as exc:
            return await render(
                request,
                "panel/ads.html",
                {**context, "error": str(exc), "rows": [], "next_url": None},
                status=400,
            )
        rows = await q.page(conn, f, after)
    next_url = None
    if len(rows) > q.PAGE_SIZE:
        rows = rows[: q.PAGE_SIZE]
        last = rows[-1]
        params = {k: v for k, v in request.query.items() if k != "after" and v}
        params["after"] = encode_cursor(last.submitted_at, last.id)
        next_url = str(request.app.router["panel.ads"].url_for().with_query(params))
    return await render(
        request,
        "panel/ads.html",
        {
            **context,
            "error": None,
            "next_url": next_url,
            "first_page": after is not None,
            "export_url": export_url(request, "panel.ads_csv", *AD_FILTERS),
            "dr": list_control(request, _),
            "rows": rows,
            "status_label": lambda status: ads.status_label(status, _),
        },
    )


AD_FILTERS = ("status", "channel", "category", "seller", "q")


@ROUTES.get("/panel/ads.csv", name="panel.ads_csv")
@require(Role.MODERATOR)
async def ads_csv(request: web.Request) -> web.StreamResponse:
    """Every ad the list shows with its filters (a moderator's channels only), as CSV."""
    _ = gettext(request)
    query = {k: v for k, v in request.query.items() if k != "after"}
    async with request.app[keys.POOL].acquire() as conn:
        channels = await staff_domain.moderated_channel_ids(conn, request[STAFF])
    try:
        f, _after = parse_filter(query, _, channels)
    except BadFilter as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None
    return await stream_csv(request, q.export(f), filters(request, *AD_FILTERS))


def _ad_id(request: web.Request, name: str = "ad_id") -> int:
    return path_id(request, name, gettext(request)("This ad does not exist."))


async def _story(conn: Conn, request: web.Request, ad_id: int) -> q.AdStory:
    """The ad's page, or 404 when missing and 403 when it is in a channel this person does not moderate."""
    _ = gettext(request)
    try:
        return await ads.story_for_staff(conn, ad_id, request[STAFF])
    except ads.AdNotFound:
        raise web.HTTPNotFound(text=_("This ad does not exist.")) from None
    except ads.NotAllowed as exc:
        raise web.HTTPForbidden(text=exc.text(_)) from None


@ROUTES.get("/panel/ads/{ad_id}", name="panel.ad", example="/panel/ads/0", ok_status=404)
@require(Role.MODERATOR)
async def ad_page(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    ad_id = _ad_id(request)
    async with request.app[keys.POOL].acquire() as conn:
        story = await _story(conn, request, ad_id)
        events = await q.events(conn, ad_id)
        posts = await q.posts(conn, ad_id)
        deliveries = await outbox.result_of(conn, ads.REF, ad_id)
        lang = language(request)
        reason_ids = {e.detail["reason_id"] for e in events if e.detail.get("reason_id")}
        reasons = {rid: await ads.canned_reason_text(conn, rid, lang) for rid in reason_ids}
        reason = await ads.rejection_reason(conn, story.ad, lang)
    ad = story.ad
    return await render(
        request,
        "panel/ad.html",
        {
            "ad": ad,
            "story": story,
            "price": ads.format_price(ads.Price(ad.price, ad.currency, ad.negotiable), _, language(request)),
            "category": story.category(language(request)),
            "status_name": ads.status_label(ad.status, _),
            "events": [(e.at, event_sentence(e, _, {k: v for k, v in reasons.items() if v})) for e in events],
            "reason": reason,
            "posts": posts,
            "deliveries": deliveries,
            "delivery_status": outbox.STATUS_LABELS,
            "failed_note": lambda n: _(
                "{n} message(s) about this ad could not be delivered; the reason is in the Note column."
            ).format(n=n),
            "flash": request.query.get("msg"),
        },
    )


async def _settle(request: web.Request, resend: bool) -> web.StreamResponse:
    _ = gettext(request)
    ad_id, outbox_id = _ad_id(request), _ad_id(request, "outbox_id")
    try:
        async with request.app[keys.POOL].acquire() as conn, conn.transaction():
            done = await ads.settle_delivery(
                conn, ad_id, outbox_id, StaffMember(request[STAFF]), resend=resend
            )
    except (ads.AdNotFound, ads.DeliveryNotFound) as exc:
        missing = exc.text(_) if isinstance(exc, ads.DeliveryNotFound) else _("This ad does not exist.")
        raise web.HTTPNotFound(text=missing) from None
    except ads.NotAllowed as exc:
        raise web.HTTPForbidden(text=exc.text(_)) from None
    if not done:
        message = _("This delivery is no longer uncertain: someone already decided.")
    elif resend:
        message = _("The message will be sent again.")
    else:
        message = _("Marked as delivered: it will not be sent again.")
    location = request.app.router["panel.ad"].url_for(ad_id=str(ad_id)).with_query(msg=message)
    raise web.HTTPSeeOther(location)


@ROUTES.post(
    "/panel/ads/{ad_id}/deliveries/{outbox_id}/resend",
    name="panel.ad_resend",
    example="/panel/ads/0/deliveries/0/resend",
    ok_status=404,
)
@require(Role.MODERATOR)
async def resend(request: web.Request) -> web.StreamResponse:
    return await _settle(request, resend=True)


@ROUTES.post(
    "/panel/ads/{ad_id}/deliveries/{outbox_id}/mark-delivered",
    name="panel.ad_mark_delivered",
    example="/panel/ads/0/deliveries/0/mark-delivered",
    ok_status=404,
)
@require(Role.MODERATOR)
async def mark_delivered(request: web.Request) -> web.StreamResponse:
    return await _settle(request, resend=False)
