"""/api/v1/staff: the staff API (E3). A staff API token (bzs_…) acts with its owner's role, and
every operation checks it as the panel's screen does: moderators see and decide only the ads of
their channels and the users who sell there, broadcasts and channels are for admins. Decisions
and broadcasts call the same domain use cases as the bot and the panel."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, date, datetime

from aiohttp import web

from app.db.queries import channels as channel_q
from app.db.queries import dashboard as dashboard_q
from app.db.queries import panel_ads, panel_users
from app.db.queries.panel_ads import AdLine
from app.db.queries.panel_users import UserLine
from app.domain import ads, broadcasts, daterange, stats
from app.domain import staff as staff_domain
from app.domain import users as users_domain
from app.domain.actors import StaffMember
from app.domain.ads import AdStatus
from app.domain.broadcasts import Audience, BroadcastStatus
from app.domain.daterange import MAX_DAYS, DateRange, RangeError
from app.domain.staff import Role, Staff
from app.domain.stats import Metric
from app.web import keys
from app.web.api import staff_models as m
from app.web.api.registry import ApiError, ApiRoutes, Param, path_number, query_number
from app.web.chat.auth import gettext

ROUTES = ApiRoutes(staff=True)
PREFIX = "/staff"
PAGE = 50
MAX_PAGE = 200
LIMIT = Param("limit", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": PAGE}, "Page size.")
ANYONE: tuple[Role, ...] = ()  # any staff member (as the panel's dashboard and account page)
MODERATION = (Role.MODERATOR,)
PEOPLE = (Role.MODERATOR, Role.OPERATOR)
ADMIN = (Role.ADMIN,)


def _limit(request: web.Request) -> int:
    return min(query_number(request, "limit", PAGE) or PAGE, MAX_PAGE)


def _not_found(request: web.Request, msgid: str) -> ApiError:
    return ApiError(404, "not_found", gettext(request)(msgid))


# --- who am I -----------------------------------------------------------------------------------


@ROUTES.op(
    "GET",
    PREFIX + "/me",
    name="api.staff_me",
    summary="Who the token acts as",
    response=m.StaffMe,
    roles=ANYONE,
)
async def me(request: web.Request, staff: Staff) -> m.StaffMe:
    async with request.app[keys.POOL].acquire() as conn:
        channels = await staff_domain.moderated_channel_ids(conn, staff)
    return m.StaffMe(
        id=staff.id,
        username=staff.username,
        display_name=staff.display_name,
        role=staff.role.value,
        channels=channels,
    )


# --- ads ----------------------------------------------------------------------------------------


def _cursor(line: AdLine) -> str:
    raw = f"{line.submitted_at.isoformat()}|{line.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _after(request: web.Request) -> tuple[datetime, int] | None:
    value = request.query.get("after", "")
    if not value:
        return None
    try:
        at, _sep, ad_id = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode().partition("|")
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None or not (ad_id.isascii() and ad_id.isdigit() and len(ad_id) <= 18):
            raise ValueError(value)
        return moment.astimezone(UTC), int(ad_id)  # year 1 at +14:00 is before the calendar starts
    except (ValueError, OverflowError, binascii.Error, UnicodeDecodeError):
        raise ApiError(422, "invalid", "after: a cursor from next_after") from None


def _ad(line: AdLine) -> m.StaffAd:
    return m.StaffAd(
        id=line.id,
        title=line.title,
        status=line.status.value,
        channel_id=line.channel_id,
        channel_title=line.channel_title,
        seller_id=line.seller_id,
        seller_name=line.seller_name,
        seller_username=line.seller_username,
        submitted_at=line.submitted_at,
    )


@ROUTES.op(
    "GET",
    PREFIX + "/ads",
    name="api.staff_ads",
    summary="Ads, newest first (a moderator: only their channels' ads); keyset pages",
    response=m.StaffAdPage,
    query=(
        Param("status", {"type": "string", "enum": [s.value for s in AdStatus]}, "Only ads in this status."),
        Param("channel_id", {"type": "integer", "minimum": 1}, "Only ads of this channel."),
        Param("after", {"type": "string"}, "The `next_after` of the previous page."),
        LIMIT,
    ),
    errors=(401, 403, 422),
    roles=MODERATION,
)
async def list_ads(request: web.Request, staff: Staff) -> m.StaffAdPage:
    status = request.query.get("status") or None
    if status is not None and status not in {s.value for s in AdStatus}:
        raise ApiError(422, "invalid", "status: one of " + ", ".join(s.value for s in AdStatus))
    limit, after = _limit(request), _after(request)
    async with request.app[keys.POOL].acquire() as conn:
        channels = await staff_domain.moderated_channel_ids(conn, staff)
        wanted = panel_ads.AdFilter(
            status=AdStatus(status) if status else None,
            channel_id=query_number(request, "channel_id"),
            channels=channels,
        )
        rows = await panel_ads.page(conn, wanted, after, limit)
    more = len(rows) > limit
    rows = rows[:limit]
    return m.StaffAdPage(items=[_ad(r) for r in rows], next_after=_cursor(rows[-1]) if more else None)


@ROUTES.op(
    "GET",
    PREFIX + "/ads/{id}",
    name="api.staff_ad",
    summary="One ad with what moderation looks at",
    response=m.StaffAdDetail,
    errors=(401, 403, 404),
    roles=MODERATION,
)
async def get_ad(request: web.Request, staff: Staff) -> m.StaffAdDetail:
    _ = gettext(request)
    try:
        async with request.app[keys.POOL].acquire() as conn:
            story = await ads.story_for_staff(conn, path_number(request, "id"), staff)
    except ads.AdNotFound:
        raise _not_found(request, "This ad does not exist.") from None
    except ads.NotAllowed as exc:
        raise ApiError(403, "forbidden", exc.text(_)) from None
    ad = story.ad
    return m.StaffAdDetail(
        id=ad.id,
        title=ad.title,
        status=ad.status.value,
        channel_id=ad.channel_id,
        channel_title=story.channel_title,
        seller_id=ad.seller_id,
        seller_name=story.seller_name,
        seller_username=story.seller_username,
        submitted_at=ad.submitted_at,
        description=ad.description,
        price=None if ad.price is None else str(ad.price),
        currency=ad.currency,
        negotiable=ad.negotiable,
        district=ad.district,
        contact=ad.contact,
        flags=ad.flags,
        reject_reason=ad.reject_reason,
        decided_at=ad.decided_at,
        published_at=ad.published_at,
        photos=len(story.photo_positions),
    )


async def _decide(
    request: web.Request, staff: Staff, *, approve: bool, reason: ads.Reason | None
) -> m.Decided:
    """ads.decide, as the bot's buttons and the panel's queue call it: the first decision wins."""
    _ = gettext(request)
    msgs = request.app[keys.BOT_PARTS].ad_messages
    assert msgs is not None, "app.main sets the ad messages before the API takes requests"
    ad_id = path_number(request, "id")
    try:
        async with request.app[keys.POOL].acquire() as conn, conn.transaction():
            decision = await ads.decide(
                conn,
                ad_id,
                StaffMember(staff),
                approve=approve,
                reason=reason,
                msgs=msgs,
                languages=request.app[keys.RUNNING_SETTINGS].languages,
            )
    except ads.AdNotFound:
        raise _not_found(request, "This ad does not exist.") from None
    except ads.NotAllowed as exc:
        raise ApiError(403, "forbidden", exc.text(_)) from None
    if not decision.won:
        raise ApiError(409, "conflict", decision.reply.text(_))
    return m.Decided(id=ad_id, status=decision.ad.status.value, decided_by=decision.decider)


@ROUTES.op(
    "POST",
    PREFIX + "/ads/{id}/approve",
    name="api.staff_ad_approve",
    summary="Approve a pending ad: it is published (the same use case as the bot and the panel)",
    response=m.Decided,
    errors=(400, 401, 403, 404, 409),
    roles=MODERATION,
)
async def approve(request: web.Request, staff: Staff) -> m.Decided:
    return await _decide(request, staff, approve=True, reason=None)


@ROUTES.op(
    "POST",
    PREFIX + "/ads/{id}/reject",
    name="api.staff_ad_reject",
    summary="Reject a pending ad with a typed or canned reason; the seller is told",
    response=m.Decided,
    body=m.Reject,
    errors=(400, 401, 403, 404, 409, 422),
    roles=MODERATION,
)
async def reject(request: web.Request, staff: Staff, body: m.Reject) -> m.Decided:
    reason: ads.Reason | None = body.reason.strip() if body.reason and body.reason.strip() else None
    if reason is None and body.reason_id is not None:
        reason = ads.Canned(body.reason_id)
    return await _decide(request, staff, approve=False, reason=reason)


# --- users --------------------------------------------------------------------------------------


def _user(line: UserLine) -> m.StaffUser:
    return m.StaffUser(
        id=line.id,
        first_name=line.first_name,
        last_name=line.last_name,
        username=line.username,
        last_seen=line.last_seen,
        blocked_bot=line.blocked_bot_at is not None,
        banned=line.banned_at is not None,
    )


@ROUTES.op(
    "GET",
    PREFIX + "/users",
    name="api.staff_users",
    summary="Users by id, @username or name (a moderator: sellers in their channels); keyset pages",
    response=m.StaffUserPage,
    query=(
        Param("q", {"type": "string", "maxLength": 100}, "An id, @username prefix or part of the name."),
        Param("after", {"type": "integer", "minimum": 1}, "The `next_after` of the previous page."),
        LIMIT,
    ),
    errors=(401, 403, 422),
    roles=PEOPLE,
)
async def list_users(request: web.Request, staff: Staff) -> m.StaffUserPage:
    text = request.query.get("q", "").strip()
    if len(text) > 100:
        raise ApiError(422, "invalid", "q: at most 100 characters")
    limit, after = _limit(request), query_number(request, "after")
    async with request.app[keys.POOL].acquire() as conn:
        channels = await users_domain.user_scope(conn, staff)
        rows = await panel_users.search(conn, text, after, limit, channels=channels)
    more = len(rows) > limit
    rows = rows[:limit]
    return m.StaffUserPage(items=[_user(r) for r in rows], next_after=rows[-1].id if more else None)


@ROUTES.op(
    "GET",
    PREFIX + "/users/{id}",
    name="api.staff_user",
    summary="One user",
    response=m.StaffUserDetail,
    errors=(401, 403, 404),
    roles=PEOPLE,
)
async def get_user(request: web.Request, staff: Staff) -> m.StaffUserDetail:
    user_id = path_number(request, "id")
    async with request.app[keys.POOL].acquire() as conn:
        user = await panel_users.user(conn, user_id)
        if user is None or not await users_domain.may_see(conn, staff, user_id):
            raise _not_found(request, "This user does not exist.")
    return m.StaffUserDetail(
        **_user(user).model_dump(),
        language=user.language,
        first_seen=user.first_seen,
        banned_reason=user.banned_reason,
    )


# --- channels -----------------------------------------------------------------------------------


@ROUTES.op(
    "GET",
    PREFIX + "/channels",
    name="api.staff_channels",
    summary="The marketplace channels",
    response=m.StaffChannelList,
    errors=(401, 403),
    roles=ADMIN,
)
async def list_channels(request: web.Request, staff: Staff) -> m.StaffChannelList:
    async with request.app[keys.POOL].acquire() as conn:
        rows = await channel_q.list_channels(conn)
    return m.StaffChannelList(
        items=[
            m.StaffChannel(
                id=c.id,
                title=c.title,
                username=c.username,
                chat_id=c.chat_id,
                language=c.language,
                active=c.active,
            )
            for c in rows
        ]
    )


# --- broadcasts ---------------------------------------------------------------------------------


async def _state(request: web.Request, broadcast_id: int) -> m.BroadcastState:
    async with request.app[keys.POOL].acquire() as conn:
        item = await broadcasts.get(conn, broadcast_id)
        if item is None:
            raise _not_found(request, "This broadcast does not exist.")
        progress = await broadcasts.progress(conn, broadcast_id)
        recipients = item.total
        if item.status == BroadcastStatus.DRAFT:
            recipients = await broadcasts.count_audience(
                conn, Audience.of_json(item.audience), request.app[keys.RUNNING_SETTINGS].languages
            )
    return m.BroadcastState(
        id=item.id,
        status=item.status.value,
        texts=item.texts,
        photo=item.photo_key is not None,
        audience=item.audience,
        created_at=item.created_at,
        started_at=item.started_at,
        finished_at=item.finished_at,
        recipients=recipients,
        sent=progress.sent,
        failed=progress.failed,
        blocked=progress.blocked,
        uncertain=progress.uncertain,
        left=progress.left,
    )


@ROUTES.op(
    "POST",
    PREFIX + "/broadcasts",
    name="api.staff_broadcast_create",
    summary="A broadcast draft: texts per language, URL buttons, a segment",
    response=m.BroadcastState,
    status=201,
    body=m.NewBroadcast,
    errors=(400, 401, 403, 422),
    roles=ADMIN,
)
async def create_broadcast(request: web.Request, staff: Staff, body: m.NewBroadcast) -> m.BroadcastState:
    segment = body.audience
    audience = Audience(
        languages=tuple(segment.languages),
        seen_days=segment.seen_days,
        channel_id=segment.channel_id,
        task_participants=segment.task_participants,
        min_balance=segment.min_balance,
    )
    buttons = [b.model_dump() for b in body.buttons]
    async with request.app[keys.POOL].acquire() as conn:
        made = await broadcasts.create(
            conn, StaffMember(staff), {str(k): v for k, v in body.texts.items()}, buttons, audience
        )
    return await _state(request, made.id)


@ROUTES.op(
    "GET",
    PREFIX + "/broadcasts/{id}",
    name="api.staff_broadcast",
    summary="A broadcast and its progress: sent, failed, blocked, uncertain, left",
    response=m.BroadcastState,
    errors=(401, 403, 404),
    roles=ADMIN,
)
async def broadcast_progress(request: web.Request, staff: Staff) -> m.BroadcastState:
    return await _state(request, path_number(request, "id"))


async def _act(request: web.Request, staff: Staff, action: str) -> m.BroadcastState:
    broadcast_id = path_number(request, "id")
    async with request.app[keys.POOL].acquire() as conn:
        if await broadcasts.get(conn, broadcast_id) is None:
            raise _not_found(request, "This broadcast does not exist.")
        if action == "start":
            languages = request.app[keys.RUNNING_SETTINGS].languages
            await broadcasts.start(conn, StaffMember(staff), broadcast_id, languages=languages)
        else:
            use_case = {"pause": broadcasts.pause, "resume": broadcasts.resume}[action]
            await use_case(conn, StaffMember(staff), broadcast_id)
    return await _state(request, broadcast_id)


@ROUTES.op(
    "POST",
    PREFIX + "/broadcasts/{id}/start",
    name="api.staff_broadcast_start",
    summary="Start a draft: the recipients are fixed now and fed at a low priority",
    response=m.BroadcastState,
    errors=(400, 401, 403, 404),
    roles=ADMIN,
)
async def start_broadcast(request: web.Request, staff: Staff) -> m.BroadcastState:
    return await _act(request, staff, "start")


@ROUTES.op(
    "POST",
    PREFIX + "/broadcasts/{id}/pause",
    name="api.staff_broadcast_pause",
    summary="Pause a running broadcast: nothing more leaves until it is resumed",
    response=m.BroadcastState,
    errors=(400, 401, 403, 404),
    roles=ADMIN,
)
async def pause_broadcast(request: web.Request, staff: Staff) -> m.BroadcastState:
    return await _act(request, staff, "pause")


@ROUTES.op(
    "POST",
    PREFIX + "/broadcasts/{id}/resume",
    name="api.staff_broadcast_resume",
    summary="Resume a paused broadcast",
    response=m.BroadcastState,
    errors=(400, 401, 403, 404),
    roles=ADMIN,
)
async def resume_broadcast(request: web.Request, staff: Staff) -> m.BroadcastState:
    return await _act(request, staff, "resume")


# --- statistics ---------------------------------------------------------------------------------


RANGE_QUERY = (
    Param(
        "from",
        {"type": "string", "format": "date"},
        "The first day (UTC, YYYY-MM-DD); without it, 30 days ending `to`.",
    ),
    Param("to", {"type": "string", "format": "date"}, "The last day, included; without it, today."),
    Param(
        "days",
        {"type": "integer", "minimum": 1, "maximum": MAX_DAYS},
        "The last N days ending today (the panel's quick choices are 7, 30 and 90); wins over from/to.",
    ),
)


def _range(request: web.Request, today: date) -> DateRange:
    """The panel's date range (`from`/`to` or `days`); a 400 bad_range saying what is wrong."""
    query = request.query
    try:
        if query.get("days", "").strip():
            return daterange.recent(query["days"][:8], today)
        rng = daterange.parse(query.get("from", ""), query.get("to", ""), today)
    except RangeError as exc:
        raise ApiError(400, "bad_range", exc.text(gettext(request))) from None
    assert rng is not None  # with a default length, there is always a range
    return rng


def _areas(figures: dict[str, dict[Metric, list[int]]]) -> list[m.StatisticsArea]:
    return [
        m.StatisticsArea(
            id=area,  # type: ignore[arg-type]  # a key of stats.CHARTS: the Literal's values
            series=[m.AreaSeries(metric=k.value, data=v, total=sum(v)) for k, v in series.items()],
        )
        for area, series in figures.items()
    ]


@ROUTES.op(
    "GET",
    PREFIX + "/statistics",
    name="api.staff_statistics",
    summary="The dashboard's figures for a date range: ads, moderation times and every area, per day",
    response=m.Statistics,
    query=RANGE_QUERY,
    errors=(400, 401),
    error_texts={400: "The date range cannot be used (code bad_range); the message says why"},
    roles=ANYONE,
)
async def statistics(request: web.Request, staff: Staff) -> m.Statistics:
    """What the panel's dashboard shows this member for the range, from the same queries."""
    now = datetime.now(UTC)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    rng = _range(request, now.date())
    since, until = rng.since(), rng.until()
    async with request.app[keys.POOL].acquire() as conn:
        channels = await stats.ad_channels(conn, staff)  # a moderator's; None: every channel
        counts = await dashboard_q.ad_counts(conn, channels, today)
        per_day = await dashboard_q.ads_per_day(conn, channels, since, until)
        reposts = await dashboard_q.reposts_per_day(conn, channels, since, until)
        decisions = await dashboard_q.decision_times(conn, channels, since, until)
        users = None if channels is not None else (await dashboard_q.global_counts(conn)).users
        figures = await stats.figures_for(conn, staff, rng)
    return m.Statistics(
        since=rng.first,
        until=rng.last,
        days=rng.day_list(),
        pending=counts.pending,
        published=counts.published,
        sold_today=counts.sold_today,
        users=users,
        ads_per_day=[m.DayStatus(day=r.day, status=r.status.value, ads=r.n) for r in per_day],
        reposts_per_day=[m.DayCount(day=r.day, n=r.n) for r in sorted(reposts, key=lambda r: r.day)],
        decision_times=[
            m.ChannelDecisions(
                channel_id=r.channel_id,
                title=r.title,
                decided=r.decided,
                p50_minutes=r.p50,
                p95_minutes=r.p95,
            )
            for r in decisions
        ],
        areas=_areas(figures),
    )
