"""Channels screen (admins): settings, the bot's rights, categories, moderators, words, reasons.

Every setting is a row read on each use by the bot and the scheduler, so a change here counts at
once; nothing in this module (or behind it) caches a channel.
"""

from __future__ import annotations

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError
from aiohttp import web

from app.bot.channel_sync import bot_access
from app.db.queries import channels as q
from app.db.queries import panel_admin as admin_q
from app.db.queries.channels import Channel
from app.domain import channels as domain
from app.domain import staff as staff_domain
from app.domain.channels import LANGUAGES, POSTING_RIGHTS, ChannelError
from app.domain.staff import Role
from app.i18n import Gettext
from app.web import keys
from app.web.forms import integer, path_id, read_form
from app.web.panel.auth.access import require
from app.web.panel.auth.language import gettext
from app.web.panel.auth.pages import render
from app.web.panel.auth.routes import PanelRoutes
from app.web.panel.auth.sessions import STAFF

ROUTES = PanelRoutes()

DEFAULTS = {
    "title": "",
    "chat": "",
    "language": "uz",
    "timezone": "Asia/Tashkent",
    "repost_minutes": "30",
    "quiet_from": "",
    "quiet_to": "",
    "keep_old_posts": "",
    "checkin_value": "3",
    "checkin_unit": "days",
    "checkin_max_asks": "3",
    "ads_per_day": "5",
    "over_limit": "flag",
    "active": "on",
}


class FormError(ValueError):
    """A form value that cannot be used; the message is already translated."""


def _form_of(channel: Channel) -> dict[str, str]:
    every = channel.checkin_every
    days = every.total_seconds() / 86400
    in_days = days == int(days)
    return {
        "title": channel.title,
        "chat": f"@{channel.username}" if channel.username else str(channel.chat_id),
        "language": channel.language,
        "timezone": channel.timezone,
        "repost_minutes": str(int(channel.repost_every.total_seconds() // 60)),
        "quiet_from": channel.quiet_from.strftime("%H:%M") if channel.quiet_from else "",
        "quiet_to": channel.quiet_to.strftime("%H:%M") if channel.quiet_to else "",
        "keep_old_posts": "on" if channel.keep_old_posts else "",
        "checkin_value": str(int(days) if in_days else int(every.total_seconds() // 3600)),
        "checkin_unit": "days" if in_days else "hours",
        "checkin_max_asks": str(channel.checkin_max_asks),
        "ads_per_day": str(channel.ads_per_day),
        "over_limit": channel.over_limit,
        "active": "on" if channel.active else "",
    }


def _int(value: str, message: str) -> int:
    number = integer(value)
    if number is None:
        raise FormError(message)
    return number


def parse_settings(form: dict[str, str], _) -> tuple[dict[str, object], int | None, str | None]:
    """The form's values -> (validated column changes, chat id, username); FormError if bad."""
    if not form["title"].strip():
        raise FormError(_("Give the channel a title."))
    if not form["chat"].strip():
        raise FormError(_("Give the channel's chat id (like -1001234567890) or @username."))
    quiet_from, quiet_to = form["quiet_from"].strip(), form["quiet_to"].strip()
    if bool(quiet_from) != bool(quiet_to):
        raise FormError(_("Quiet hours need both a start and an end, or neither."))
    unit = form["checkin_unit"]
    if unit not in ("hours", "days"):
        raise FormError(_("The check-in interval is in hours or days."))
    checkin = _int(form["checkin_value"], _("The check-in interval is a whole number."))
    try:
        chat_id, username = domain.parse_chat_ref(form["chat"])
        changes = domain.settings_changes(
            title=form["title"],
            language=form["language"],
            timezone=form["timezone"].strip(),
            repost_minutes=_int(
                form["repost_minutes"], _("The re-post interval is a whole number of minutes.")
            ),
            quiet_hours=f"{quiet_from}-{quiet_to}" if quiet_from else "",
            keep_old_posts=bool(form["keep_old_posts"]),
            checkin_days=checkin / 24 if unit == "hours" else checkin,
            checkin_max_asks=_int(form["checkin_max_asks"], _("Asks before expiry is a whole number.")),
            ads_per_day=_int(form["ads_per_day"], _("Ads per day is a whole number.")),
            over_limit=form.get("over_limit") or "flag",
            active=bool(form["active"]),
        )
    except ChannelError as exc:
        raise FormError(exc.text(_)) from None
    return changes, chat_id, username


async def check_bot(bot: Bot, chat_id: int | None, username: str | None, _: Gettext) -> int:
    """Ask Telegram whether the bot may post, edit and delete there; the chat's id, or FormError."""
    ref: int | str = chat_id if chat_id is not None else f"@{username}"
    not_admin = _(
        "The bot is not an administrator of {ref}. Make it an administrator allowed to: {rights}."
    ).format(ref=ref, rights=", ".join(_(n) for _r, n in POSTING_RIGHTS))
    try:
        access = await bot_access(bot, ref)
    except TelegramForbiddenError:  # Telegram hides a channel from a bot that is not in it
        raise FormError(not_admin) from None
    except TelegramAPIError as exc:
        raise FormError(
            _(
                "Telegram cannot open the chat {ref}: {error}. Check the id or @username "
                "and that the bot was added to the channel."
            ).format(ref=ref, error=exc.message)
        ) from None
    if access.missing is None:
        raise FormError(not_admin)
    if access.missing:
        raise FormError(
            _(
                "The bot is an administrator of {ref} but may not: {rights}. Give it these "
                "rights in the channel's administrator settings."
            ).format(ref=ref, rights=", ".join(_(name) for name in access.missing))
        )
    return access.chat_id


async def _form(request: web.Request) -> dict[str, str]:
    data = await read_form(request)
    return {k: str(data.get(k, "")) for k in DEFAULTS}


# List, create, edit ------------------------------------------------------------------------


@ROUTES.get("/panel/channels", name="panel.channels")
@require(Role.ADMIN)
async def channels_page(request: web.Request) -> web.StreamResponse:
    async with request.app[keys.POOL].acquire() as conn:
        rows = await q.list_channels(conn)
    return await render(request, "panel/channels.html", {"channels": rows})


@ROUTES.get("/panel/channels/new", name="panel.channel_new")
@require(Role.ADMIN)
async def channel_new(request: web.Request) -> web.StreamResponse:
    return await render(request, "panel/channel.html", _page(None, dict(DEFAULTS)))


def _page(
    channel: Channel | None, form: dict[str, str], error: str | None = None, **extra: object
) -> dict[str, object]:
    return {
        "channel": channel,
        "form": form,
        "error": error,
        "languages_list": LANGUAGES,
        "categories": [],
        "reasons": [],
        "words": "",
        "moderators": [],
        "staff_choices": [],
        **extra,
    }


@ROUTES.post("/panel/channels/new", name="panel.channel_create", ok_status=400)
@require(Role.ADMIN)
async def channel_create(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    form = await _form(request)
    try:
        changes, chat_id, username = parse_settings(form, _)
        bot = request.app.get(keys.BOT)
        if bot is not None:
            chat_id = await check_bot(bot, chat_id, username, _)
        async with request.app[keys.POOL].acquire() as conn, conn.transaction():
            row = await domain.create_checked(
                conn, chat_id=chat_id, username=username, changes=changes, by=request[STAFF].id
            )
    except ChannelError as exc:
        return await render(request, "panel/channel.html", _page(None, form, exc.text(_)), status=400)
    except FormError as exc:
        return await render(request, "panel/channel.html", _page(None, form, str(exc)), status=400)
    raise web.HTTPSeeOther(f"/panel/channels/{row.id}?saved=1")


async def _channel_page(
    request: web.Request,
    channel_id: int,
    *,
    form: dict | None = None,
    error: str | None = None,
    status: int = 200,
) -> web.Response:
    async with request.app[keys.POOL].acquire() as conn:
        channel = await q.get_channel(conn, channel_id)
        if channel is None:
            raise web.HTTPNotFound(text=gettext(request)("No such channel."))
        extra = {
            "categories": await q.list_categories(conn, channel_id),
            "reasons": await q.list_reasons(conn, channel_id),
            "words": "\n".join(await q.list_banned_words(conn, channel_id)),
            "moderators": await admin_q.channel_staff(conn, channel_id),
            "staff_choices": [
                s for s in await admin_q.list_staff(conn) if s.active and s.role == Role.MODERATOR
            ],
        }
    return await render(
        request,
        "panel/channel.html",
        _page(channel, form or _form_of(channel), error, saved=request.query.get("saved"), **extra),
        status=status,
    )


def _match_int(request: web.Request, name: str) -> int:
    """A numeric path part; anything else is a page that does not exist."""
    return path_id(request, name, gettext(request)("No such page."))


def _channel_id(request: web.Request) -> int:
    return _match_int(request, "id")


@ROUTES.get("/panel/channels/{id}", name="panel.channel", example="/panel/channels/1", ok_status=404)
@require(Role.ADMIN)
async def channel_page(request: web.Request) -> web.StreamResponse:
    return await _channel_page(request, _channel_id(request))


@ROUTES.post("/panel/channels/{id}", name="panel.channel_save", example="/panel/channels/1", ok_status=404)
@require(Role.ADMIN)
async def channel_save(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    channel_id = _channel_id(request)
    form = await _form(request)
    async with request.app[keys.POOL].acquire() as conn:
        before = await q.get_channel(conn, channel_id)
    if before is None:
        raise web.HTTPNotFound(text=_("No such channel."))
    try:
        changes, chat_id, username = parse_settings(form, _)
        bot = request.app.get(keys.BOT)
        if bot is not None:
            chat_id = await check_bot(bot, chat_id, username, _)
        changes.update(chat_id=chat_id if chat_id is not None else before.chat_id, username=username)
        async with request.app[keys.POOL].acquire() as conn, conn.transaction():
            await domain.save_settings(conn, channel_id, changes, by=request[STAFF].id)
    except ChannelError as exc:
        return await _channel_page(request, channel_id, form=form, error=exc.text(_), status=400)
    except FormError as exc:
        return await _channel_page(request, channel_id, form=form, error=str(exc), status=400)
    raise web.HTTPSeeOther(f"/panel/channels/{channel_id}?saved=1")


# Categories, banned words, reasons, moderators --------------------------------------------


async def _sub_form(request: web.Request) -> tuple[int, dict[str, str]]:
    """The channel's id (404 if missing) and the posted fields."""
    channel_id = _channel_id(request)
    async with request.app[keys.POOL].acquire() as conn:
        if await q.get_channel(conn, channel_id) is None:
            raise web.HTTPNotFound(text=gettext(request)("No such channel."))
    data = await read_form(request)
    return channel_id, {k: str(v) for k, v in data.items()}


def _back(channel_id: int) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(f"/panel/channels/{channel_id}?saved=1")


def _names(form: dict[str, str], prefix: str) -> dict[str, str]:
    return {lang: form.get(f"{prefix}{lang}", "").strip() for lang in LANGUAGES}


@ROUTES.post(
    "/panel/channels/{id}/categories",
    name="panel.category_add",
    example="/panel/channels/1/categories",
    ok_status=404,
)
@require(Role.ADMIN)
async def category_add(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    channel_id, form = await _sub_form(request)
    position = form.get("position", "").strip()
    try:
        async with request.app[keys.POOL].acquire() as conn, conn.transaction():
            await domain.add_category(
                conn,
                channel_id,
                form.get("hashtag", ""),
                _names(form, "name_"),
                _int(position, _("The order is a whole number.")) if position else None,
                by=request[STAFF].id,
            )
    except ChannelError as exc:
        return await _channel_page(request, channel_id, error=exc.text(_), status=400)
    except FormError as exc:
        return await _channel_page(request, channel_id, error=str(exc), status=400)
    raise _back(channel_id)


@ROUTES.post(
    "/panel/channels/{id}/categories/{cid}",
    name="panel.category_edit",
    example="/panel/channels/1/categories/1",
    ok_status=404,
)
@require(Role.ADMIN)
async def category_edit(request: web.Request) -> web.StreamResponse:
    """Rename or reorder (action=save) or delete (action=delete) one category."""
    _ = gettext(request)
    channel_id, form = await _sub_form(request)
    category_id = _match_int(request, "cid")
    try:
        delete = form.get("action") == "delete"
        position = 0 if delete else _int(form.get("position", ""), _("The order is a whole number."))
        async with request.app[keys.POOL].acquire() as conn, conn.transaction():
            await domain.change_category(
                conn,
                channel_id,
                category_id,
                names=_names(form, "name_"),
                position=position,
                delete=delete,
                by=request[STAFF].id,
            )
    except domain.NoSuchThing as exc:
        raise web.HTTPNotFound(text=exc.text(_)) from None
    except ChannelError as exc:
        return await _channel_page(request, channel_id, error=exc.text(_), status=400)
    except FormError as exc:
        return await _channel_page(request, channel_id, error=str(exc), status=400)
    raise _back(channel_id)


@ROUTES.post(
    "/panel/channels/{id}/words", name="panel.channel_words", example="/panel/channels/1/words", ok_status=404
)
@require(Role.ADMIN)
async def words_save(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    channel_id, form = await _sub_form(request)
    try:
        async with request.app[keys.POOL].acquire() as conn, conn.transaction():
            await domain.set_banned_words(
                conn, channel_id, form.get("words", "").splitlines(), by=request[STAFF].id
            )
    except ChannelError as exc:
        return await _channel_page(request, channel_id, error=exc.text(_), status=400)
    raise _back(channel_id)


@ROUTES.post(
    "/panel/channels/{id}/reasons",
    name="panel.reason_add",
    example="/panel/channels/1/reasons",
    ok_status=404,
)
@require(Role.ADMIN)
async def reason_add(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    channel_id, form = await _sub_form(request)
    try:
        async with request.app[keys.POOL].acquire() as conn, conn.transaction():
            await domain.add_reason(conn, channel_id, _names(form, "text_"), by=request[STAFF].id)
    except ChannelError as exc:
        return await _channel_page(request, channel_id, error=exc.text(_), status=400)
    raise _back(channel_id)


@ROUTES.post(
    "/panel/channels/{id}/reasons/{rid}/delete",
    name="panel.reason_delete",
    example="/panel/channels/1/reasons/1/delete",
    ok_status=404,
)
@require(Role.ADMIN)
async def reason_delete(request: web.Request) -> web.StreamResponse:
    channel_id, _form_data = await _sub_form(request)
    try:
        async with request.app[keys.POOL].acquire() as conn, conn.transaction():
            await domain.delete_reason(conn, channel_id, _match_int(request, "rid"), by=request[STAFF].id)
    except domain.NoSuchThing as exc:
        raise web.HTTPNotFound(text=exc.text(gettext(request))) from None
    raise _back(channel_id)


@ROUTES.post(
    "/panel/channels/{id}/moderators",
    name="panel.channel_moderators",
    example="/panel/channels/1/moderators",
    ok_status=404,
)
@require(Role.ADMIN)
async def moderators_save(request: web.Request) -> web.StreamResponse:
    """Give a moderator this channel (action=add) or take it away (action=remove)."""
    _ = gettext(request)
    channel_id, form = await _sub_form(request)
    try:
        staff_id = _int(form.get("staff_id", ""), _("Choose a moderator."))
    except FormError as exc:
        return await _channel_page(request, channel_id, error=str(exc), status=400)
    async with request.app[keys.POOL].acquire() as conn, conn.transaction():
        if await staff_domain.get_any_staff(conn, staff_id) is None:
            return await _channel_page(request, channel_id, error=_("Choose a moderator."), status=400)
        if form.get("action") == "remove":
            await staff_domain.take_channel(conn, staff_id, channel_id, by=request[STAFF].id)
        else:
            await staff_domain.give_channel(conn, staff_id, channel_id, by=request[STAFF].id)
    raise _back(channel_id)
