"""Channels and their settings (M10): validated here, so the CLI, the panel and the bot agree."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from datetime import time, timedelta
from typing import Any, TypedDict, Unpack
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import asyncpg

from app.db import Conn
from app.db.queries import channels as q
from app.db.queries.channels import Category, Channel, RejectReason
from app.domain import staff as staff_domain
from app.domain import users as users_domain
from app.i18n import N_, UserError

LANGUAGES = ("uz", "ru", "en")
USERNAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")
HASHTAG_RE = re.compile(r"^\w{1,32}$")
QUIET_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)-([01]?\d|2[0-3]):([0-5]\d)$")


class ChannelError(UserError):
    """A channel setting that cannot be accepted: the panel shows it in the staff member's
    language, the CLI in English."""


class NoSuchThing(ChannelError):
    """The category, reason or channel asked for does not exist (in that channel)."""


def snapshot(record: object) -> dict[str, Any] | None:
    """A JSON-safe copy of a record for the audit log (intervals and times as text)."""
    if record is None:
        return None
    values = (
        dataclasses.asdict(record)
        if dataclasses.is_dataclass(record) and not isinstance(record, type)
        else {}
    )
    return {k: v if isinstance(v, (int, str, bool, type(None))) else str(v) for k, v in values.items()}


async def _audit(conn: Conn, by: int | None, action: str, target: str, before: object, after: object) -> None:
    """Changes made in the panel are audited (`by` the staff member); the terminal's are not."""
    if by is not None:
        await staff_domain.audit(conn, by, action, target, before, after)


# What the bot must be allowed in a channel: post ads, edit them (SOLD), delete old copies.
POSTING_RIGHTS = (
    ("can_post_messages", N_("post messages")),
    ("can_edit_messages", N_("edit messages")),
    ("can_delete_messages", N_("delete messages")),
)


def missing_rights(status: str, rights: Mapping[str, bool | None]) -> list[str] | None:
    """The one rule of "may the bot post in this channel?": None when the bot is not an
    administrator there at all, else the rights it lacks (msgids; empty: it may)."""
    if status == "creator":
        return []
    if status != "administrator":
        return None
    return [name for right, name in POSTING_RIGHTS if not rights.get(right)]


def parse_chat_ref(ref: str) -> tuple[int | None, str | None]:
    """'@name', 'name', 't.me/name' or a numeric chat id -> (chat_id, username)."""
    text = ref.strip().removeprefix("https://").removeprefix("http://").removeprefix("t.me/")
    text = text.removeprefix("@")
    if re.fullmatch(r"-?\d+", text):
        chat_id = int(text)
        if chat_id >= 0:
            raise ChannelError(N_("A channel's chat id is negative, like -1001234567890."))
        return chat_id, None
    if not USERNAME_RE.match(text):
        raise ChannelError(
            N_("“{ref}” is neither an @username (5–32 letters, digits, _) nor a chat id."), ref=ref
        )
    return None, text


def parse_quiet_hours(value: str | None) -> tuple[time | None, time | None]:
    """'23:00-07:00' -> (23:00, 07:00); '' or None -> no quiet hours."""
    if not value:
        return None, None
    match = QUIET_RE.match(value.strip())
    if not match:
        raise ChannelError(N_("Quiet hours look like 23:00-07:00."))
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if (h1, m1) == (h2, m2):
        raise ChannelError(N_("Quiet hours must not start and end at the same minute."))
    return time(h1, m1), time(h2, m2)


def _minutes(value: int, low: int, high: int, message: str) -> timedelta:
    if not low <= value <= high:
        raise ChannelError(message, low=low, high=high)
    return timedelta(minutes=value)


OVER_LIMIT = ("flag", "refuse")  # what a channel does with a seller's ad past its daily limit


def settings_changes(
    *,
    title: str | None = None,
    language: str | None = None,
    timezone: str | None = None,
    repost_minutes: int | None = None,
    quiet_hours: str | None = None,
    keep_old_posts: bool | None = None,
    checkin_days: float | None = None,
    checkin_max_asks: int | None = None,
    ads_per_day: int | None = None,
    over_limit: str | None = None,
    active: bool | None = None,
) -> dict[str, object]:
    """Validate the given settings and map them to columns; None means 'leave as it is'."""
    changes: dict[str, object] = {}
    if title is not None:
        if not 1 <= len(title.strip()) <= 128:
            raise ChannelError(N_("A title has 1 to 128 characters."))
        changes["title"] = title.strip()
    if language is not None:
        if language not in LANGUAGES:
            raise ChannelError(N_("The language must be one of {languages}."), languages=", ".join(LANGUAGES))
        changes["language"] = language
    if timezone is not None:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ChannelError(
                N_("Unknown time zone “{zone}” (e.g. Asia/Tashkent)."), zone=timezone
            ) from None
        changes["timezone"] = timezone
    if repost_minutes is not None:
        changes["repost_every"] = _minutes(
            repost_minutes, 1, 24 * 60, N_("The re-post interval must be from {low} to {high} minutes.")
        )
    if quiet_hours is not None:
        changes["quiet_from"], changes["quiet_to"] = parse_quiet_hours(quiet_hours)
    if keep_old_posts is not None:
        changes["keep_old_posts"] = keep_old_posts
    if checkin_days is not None:
        changes["checkin_every"] = _minutes(
            round(checkin_days * 24 * 60),
            60,
            90 * 24 * 60,
            N_("The check-in interval must be from 1 hour to 90 days."),
        )
    if checkin_max_asks is not None:
        if not 1 <= checkin_max_asks <= 20:
            raise ChannelError(N_("Asks before expiry must be from 1 to 20."))
        changes["checkin_max_asks"] = checkin_max_asks
    if ads_per_day is not None:
        if not 1 <= ads_per_day <= 1000:
            raise ChannelError(N_("Ads per seller per day must be from 1 to 1000."))
        changes["ads_per_day"] = ads_per_day
    if over_limit is not None:
        if over_limit not in OVER_LIMIT:
            raise ChannelError(N_("Past the daily limit an ad is either flagged or refused."))
        changes["over_limit"] = over_limit
    if active is not None:
        changes["active"] = active
    return changes


async def create_channel(conn: Conn, *, title: str, chat_ref: str, language: str = "uz") -> Channel:
    chat_id, username = parse_chat_ref(chat_ref)
    settings_changes(title=title, language=language)
    try:
        return await q.insert_channel(
            conn, title=title.strip(), chat_id=chat_id, username=username, language=language
        )
    except asyncpg.UniqueViolationError:
        raise ChannelError(N_("A channel “{ref}” already exists."), ref=chat_ref) from None


async def require_channel(conn: Conn, ref: str) -> Channel:
    channel = await q.find_channel(conn, ref)
    if channel is None:
        raise ChannelError(N_("No channel “{ref}”; see `run.py channel list`."), ref=ref)
    return channel


class ChannelSettings(TypedDict, total=False):
    """settings_changes' arguments, for callers that pass some of them on."""

    title: str | None
    language: str | None
    timezone: str | None
    repost_minutes: int | None
    quiet_hours: str | None
    keep_old_posts: bool | None
    checkin_days: float | None
    checkin_max_asks: int | None
    ads_per_day: int | None
    over_limit: str | None
    active: bool | None


async def update_settings(conn: Conn, channel_id: int, **settings: Unpack[ChannelSettings]) -> Channel:
    changes = settings_changes(**settings)
    if not changes:
        raise ChannelError(N_("Nothing to change."))
    row = await q.update_channel(conn, channel_id, changes)
    if row is None:
        raise ChannelError(N_("No channel with id {id}."), id=channel_id)
    return row


async def add_category(
    conn: Conn,
    channel_id: int,
    hashtag: str,
    names: dict[str, str],
    position: int | None = None,
    *,
    by: int | None = None,
) -> Category:
    tag = hashtag.strip().lstrip("#")
    if not HASHTAG_RE.match(tag):
        raise ChannelError(N_("A hashtag has 1 to 32 letters, digits or _."))
    if any(not names.get(lang, "").strip() for lang in LANGUAGES):
        raise ChannelError(N_("A category needs a name in uz, ru and en."))
    try:
        async with conn.transaction():  # a savepoint: the caller's transaction survives a refusal
            category = await q.insert_category(
                conn, channel_id, tag, {k: names[k].strip() for k in LANGUAGES}, position
            )
    except asyncpg.UniqueViolationError:
        raise ChannelError(N_("The channel already has a category #{tag}."), tag=tag) from None
    await _audit(conn, by, "channel.category_add", f"channel:{channel_id}", None, snapshot(category))
    return category


async def change_category(
    conn: Conn,
    channel_id: int,
    category_id: int,
    *,
    names: dict[str, str] | None = None,
    position: int = 0,
    delete: bool = False,
    by: int | None = None,
) -> None:
    """Rename and reorder a channel's category (a name in every language, as when adding one),
    or delete it."""
    before = await q.get_category(conn, category_id)
    if before is None or before.channel_id != channel_id:
        raise NoSuchThing(N_("No such category."))
    target = f"channel:{channel_id}"
    if delete:
        await q.delete_category(conn, category_id)
        await _audit(conn, by, "channel.category_delete", target, snapshot(before), None)
        return
    names = names or {}
    if any(not names.get(lang, "").strip() for lang in LANGUAGES):
        raise ChannelError(N_("A category needs a name in uz, ru and en."))
    await q.update_category(conn, category_id, {k: names[k].strip() for k in LANGUAGES}, position)
    after = await q.get_category(conn, category_id)
    await _audit(conn, by, "channel.category_edit", target, snapshot(before), snapshot(after))


async def add_admin(conn: Conn, channel_id: int, user_id: int, source: str = "manual") -> bool:
    """Give a Telegram user the admin role for a channel; False if they had it already."""
    if user_id <= 0:
        raise ChannelError(N_("A Telegram user id is a positive number."))
    async with conn.transaction():
        added = await q.insert_admin(conn, channel_id, user_id, source)
        await users_domain.lift_blocks_of_admins(conn, [user_id], channel_id)
    return added


async def remove_admin(conn: Conn, channel_id: int, user_id: int) -> bool:
    return await q.delete_admin(conn, channel_id, user_id)


def normalise_words(words: Iterable[str]) -> list[str]:
    """Lower-case, trimmed, without empties or repeats, in a stable order."""
    seen: dict[str, None] = {}
    for word in words:
        clean = word.strip().lower()
        if clean:
            if len(clean) > 64:
                raise ChannelError(N_("A banned word has at most 64 characters: {word}…"), word=clean[:20])
            seen.setdefault(clean, None)
    return list(seen)


async def set_banned_words(
    conn: Conn, channel_id: int, words: Iterable[str], *, by: int | None = None
) -> list[str]:
    clean = normalise_words(words)
    async with conn.transaction():
        before = await q.list_banned_words(conn, channel_id)
        await q.replace_banned_words(conn, channel_id, clean)
        await _audit(conn, by, "channel.banned_words", f"channel:{channel_id}", before, clean)
    return clean


async def add_reason(
    conn: Conn, channel_id: int, texts: dict[str, str], *, by: int | None = None
) -> RejectReason:
    if any(not texts.get(lang, "").strip() for lang in LANGUAGES):
        raise ChannelError(N_("A rejection reason needs a text in uz, ru and en."))
    reason = await q.insert_reason(conn, channel_id, {k: texts[k].strip() for k in LANGUAGES})
    await _audit(conn, by, "channel.reason_add", f"channel:{channel_id}", None, snapshot(reason))
    return reason


async def delete_reason(conn: Conn, channel_id: int, reason_id: int, *, by: int | None = None) -> None:
    before = await q.get_reason(conn, reason_id)
    if before is None or before.channel_id != channel_id:
        raise NoSuchThing(N_("No such reason."))
    await q.delete_reason(conn, reason_id)
    await _audit(conn, by, "channel.reason_delete", f"channel:{channel_id}", snapshot(before), None)


async def create_checked(
    conn: Conn,
    *,
    chat_id: int | None,
    username: str | None,
    changes: dict[str, object],
    by: int,
) -> Channel:
    """A channel made in the panel, with the settings it parsed and the chat the bot has seen."""
    try:
        async with conn.transaction():
            channel = await q.insert_channel(
                conn,
                title=str(changes["title"]),
                chat_id=chat_id,
                username=username,
                language=str(changes["language"]),
            )
    except asyncpg.UniqueViolationError:
        raise ChannelError(N_("Another channel already uses this chat.")) from None
    saved = await q.update_channel(conn, channel.id, changes)
    assert saved is not None  # made just above, in this transaction
    await _audit(conn, by, "channel.create", f"channel:{saved.id}", None, snapshot(saved))
    return saved


async def save_settings(conn: Conn, channel_id: int, changes: dict[str, object], *, by: int) -> Channel:
    """The panel's settings form: the changes parsed by settings_changes, and the chat."""
    before = await q.get_channel(conn, channel_id)
    if before is None:
        raise NoSuchThing(N_("No such channel."))
    try:
        async with conn.transaction():
            after = await q.update_channel(conn, channel_id, changes)
    except asyncpg.UniqueViolationError:
        raise ChannelError(N_("Another channel already uses this chat.")) from None
    assert after is not None
    await _audit(conn, by, "channel.update", f"channel:{channel_id}", snapshot(before), snapshot(after))
    return after


async def connect_chat(conn: Conn, channel_id: int, chat_id: int, telegram_admins: list[int]) -> None:
    """Record what Telegram says of the channel: its numeric id and its administrators (a block
    of any of them is lifted: it would refuse their decisions)."""
    async with conn.transaction():
        await q.set_chat_id(conn, channel_id, chat_id)
        await q.replace_telegram_admins(conn, channel_id, telegram_admins)
        await users_domain.lift_blocks_of_admins(conn, telegram_admins, channel_id)


async def taking_ads(conn: Conn) -> list[Channel]:
    """The channels a seller may post to."""
    return await q.list_channels(conn, active_only=True)


async def reasons_of(conn: Conn, channel_id: int) -> list[RejectReason]:
    """A channel's canned rejection reasons, as the bot and the panel offer them."""
    return await q.list_reasons(conn, channel_id)


async def categories_of(conn: Conn, channel_id: int) -> list[Category]:
    return await q.list_categories(conn, channel_id)


async def get_category(conn: Conn, category_id: int) -> Category | None:
    return await q.get_category(conn, category_id)
