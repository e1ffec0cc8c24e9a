"""Queries for the panel's Users screen: search, a user's page, staff blocks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from app.db import Conn
from app.db.queries.ads import AdStatus
from app.db.queries.exports import Export, utc
from app.db.queries.panel_ads import escape_like
from app.db.records import from_rows, maybe

PAGE_SIZE = 50
COLUMNS = (
    "id, first_name, last_name, username, last_seen, blocked_bot_at, banned_at, banned_by, banned_reason"
)


@dataclass(frozen=True, slots=True)
class UserLine:
    """One row of the Users list."""

    id: int
    first_name: str
    last_name: str | None
    username: str | None
    last_seen: datetime
    blocked_bot_at: datetime | None
    banned_at: datetime | None
    banned_by: int | None
    banned_reason: str | None


@dataclass(frozen=True, slots=True)
class UserPage(UserLine):
    """A user's page: the line, and who blocked them."""

    language: str | None
    first_seen: datetime
    banned_by_name: str | None


@dataclass(frozen=True, slots=True)
class UsersAd:
    id: int
    title: str
    status: AdStatus
    submitted_at: datetime
    channel_title: str


@dataclass(frozen=True, slots=True)
class JournalLine:
    """An update the user sent, with the text it carried, or the label of the button pressed."""

    id: int
    kind: str
    received_at: datetime
    error: str | None
    text: str | None
    button: str | None  # a pressed button's label, found on the message it was under


NAME = "lower(first_name || ' ' || coalesce(last_name, ''))"  # users_name_trgm_idx's expression


def _scope(channels: list[int] | None, n: int) -> str:
    """Only sellers with an ad in `channels` (a moderator's); None: everyone."""
    if channels is None:
        return ""
    return (
        " AND EXISTS (SELECT 1 FROM ads a WHERE a.seller_id = users.id"
        f" AND a.channel_id = ANY(${n}::bigint[]))"
    )


async def search(
    conn: Conn, text: str, after: int | None, limit: int = PAGE_SIZE, channels: list[int] | None = None
) -> list[UserLine]:
    """By exact id, @username prefix or part of the name; keyset on id, one extra row; with
    `channels`, only sellers with an ad in one of them.

    A name of three letters or more matches anywhere (trigram index); one or two letters have
    no trigram, so they match the start of the first or the last name (prefix indexes).
    """
    text = text.strip()
    after_sql = "" if after is None else f" AND id < {int(after)}"
    tail = f"{after_sql} ORDER BY id DESC LIMIT {int(limit) + 1}"
    scoped = [] if channels is None else [channels]
    if text.isascii() and text.isdigit() and len(text) <= 15:
        return from_rows(
            UserLine,
            await conn.fetch(
                f"SELECT {COLUMNS} FROM users WHERE id = $1{_scope(channels, 2)}{tail}", int(text), *scoped
            ),
        )
    if text.startswith("@"):
        where = "username IS NOT NULL AND lower(username) LIKE $1"
        pattern = escape_like(text[1:].lower()) + "%"
    elif len(text) >= 3:
        where, pattern = f"{NAME} LIKE $1", "%" + escape_like(text.lower()) + "%"
    elif text:
        where = "(lower(first_name) LIKE $1 OR lower(last_name) LIKE $1)"
        pattern = escape_like(text.lower()) + "%"
    else:
        return from_rows(
            UserLine,
            await conn.fetch(f"SELECT {COLUMNS} FROM users WHERE true{_scope(channels, 1)}{tail}", *scoped),
        )
    # Whether to walk users by id until 51 match or to read the few matches off an index and
    # sort them depends on the pattern (Dilnoza: 1 user in 16; a rare name: none), and a
    # generic plan cached for `LIKE $1` cannot use the prefix indexes at all: plan each search
    # for its own pattern.
    async with conn.transaction():
        await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        return from_rows(
            UserLine,
            await conn.fetch(
                f"SELECT {COLUMNS} FROM users WHERE {where}{_scope(channels, 2)}{tail}", pattern, *scoped
            ),
        )


EXPORT_COLUMNS = (
    "id",
    "first_name",
    "last_name",
    "username",
    "language",
    "first_seen",
    "last_seen",
    "blocked_bot_at",
    "banned_at",
    "banned_reason",
)


def export(text: str, channels: list[int] | None = None) -> Export:
    """Every user the list finds for `text` (the same matching as `search`), newest id first."""
    text = text.strip()
    args: list[object] = []
    if text.isascii() and text.isdigit() and len(text) <= 15:
        where, args = "id = $1", [int(text)]
    elif text.startswith("@"):
        where = "username IS NOT NULL AND lower(username) LIKE $1"
        args = [escape_like(text[1:].lower()) + "%"]
    elif len(text) >= 3:
        where, args = f"{NAME} LIKE $1", ["%" + escape_like(text.lower()) + "%"]
    elif text:
        where = "(lower(first_name) LIKE $1 OR lower(last_name) LIKE $1)"
        args = [escape_like(text.lower()) + "%"]
    else:
        where = "true"
    if channels is not None:
        args.append(channels)
    return Export(
        "users",
        EXPORT_COLUMNS,
        "SELECT id, first_name, last_name, username, coalesce(language, language_code),"
        f" {utc('first_seen')}, {utc('last_seen')}, {utc('blocked_bot_at')}, {utc('banned_at')},"
        f" banned_reason FROM users WHERE {where}"
        f"{_scope(channels, len(args))} ORDER BY id DESC",
        tuple(args),
    )


async def user(conn: Conn, user_id: int) -> UserPage | None:
    row = await conn.fetchrow(
        f"SELECT {', '.join('u.' + c.strip() for c in COLUMNS.split(','))}, u.language, "
        "u.first_seen, coalesce(s.display_name, s.username) AS banned_by_name FROM users u "
        "LEFT JOIN staff s ON s.id = u.banned_by WHERE u.id = $1",
        user_id,
    )
    return maybe(UserPage, row)


async def ads_of(
    conn: Conn, user_id: int, limit: int = 20, channels: list[int] | None = None
) -> list[UsersAd]:
    """The seller's latest ads; with `channels`, only those in them."""
    rows = await conn.fetch(
        "SELECT a.id, a.title, a.status, a.submitted_at, c.title AS channel_title FROM ads a "
        "JOIN channels c ON c.id = a.channel_id WHERE a.seller_id = $1 "
        "AND ($3::bigint[] IS NULL OR a.channel_id = ANY($3)) "
        "ORDER BY a.submitted_at DESC, a.id DESC LIMIT $2",
        user_id,
        limit,
        channels,
    )
    return from_rows(UsersAd, rows)


async def sells_in(conn: Conn, user_id: int, channels: list[int]) -> bool:
    """Whether the user has an ad in one of `channels`."""
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM ads WHERE seller_id = $1 AND channel_id = ANY($2::bigint[]))",
            user_id,
            channels,
        )
    )


async def moderates(conn: Conn, user_id: int) -> bool:
    """Whether the user is a channel's admin or a staff member's Telegram account: blocking them
    would stop their decisions in the bot."""
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM channel_admins WHERE user_id = $1) "
            "OR EXISTS (SELECT 1 FROM staff WHERE telegram_user_id = $1 AND active)",
            user_id,
        )
    )


async def has_support_ticket(conn: Conn, user_id: int) -> bool:
    """Whether the user has (or had) a support ticket: an operator serves them."""
    return bool(
        await conn.fetchval("SELECT EXISTS (SELECT 1 FROM support_tickets WHERE user_id = $1)", user_id)
    )


async def journal_of(conn: Conn, user_id: int, limit: int = 20) -> list[JournalLine]:
    """The latest updates from this user with the text they carried; for a pressed button, its
    label as the user saw it (the callback data is the bot's own business)."""
    rows = await conn.fetch(
        "SELECT id, kind, received_at, error, coalesce(payload #>> '{message,text}', "
        "payload #>> '{message,caption}') AS text, "
        "jsonb_path_query_first(payload, "
        "'$.callback_query.message.reply_markup.inline_keyboard[*][*] ? (@.callback_data == $d).text', "
        "jsonb_build_object('d', payload #>> '{callback_query,data}')) #>> '{}' AS button "
        "FROM update_journal WHERE user_id = $1 ORDER BY id DESC LIMIT $2",
        user_id,
        limit,
    )
    return from_rows(JournalLine, rows)


async def set_ban(conn: Conn, user_id: int, staff_id: int | None, reason: str | None) -> None:
    """Block by staff; the reason is optional."""
    await conn.execute(
        "UPDATE users SET banned_at = now(), banned_by = $2, banned_reason = $3 WHERE id = $1",
        user_id,
        staff_id,
        reason,
    )


async def clear_ban(conn: Conn, user_id: int) -> bool:
    status = await conn.execute(
        "UPDATE users SET banned_at = NULL, banned_by = NULL, banned_reason = NULL "
        "WHERE id = $1 AND banned_at IS NOT NULL",
        user_id,
    )
    return status != "UPDATE 0"


@dataclass(frozen=True, slots=True)
class LiftedBan:
    user_id: int
    banned_at: datetime
    banned_by: int | None
    banned_reason: str | None


async def clear_bans(conn: Conn, user_ids: Sequence[int]) -> list[LiftedBan]:
    """Lift the staff blocks of these users; the blocks lifted, as they were."""
    rows = await conn.fetch(
        "UPDATE users u SET banned_at = NULL, banned_by = NULL, banned_reason = NULL "
        "FROM users old WHERE old.id = u.id AND u.id = ANY($1::bigint[]) AND u.banned_at IS NOT NULL "
        "RETURNING u.id AS user_id, old.banned_at, old.banned_by, old.banned_reason",
        list(user_ids),
    )
    return from_rows(LiftedBan, rows)


async def lock_banned(conn: Conn, user_id: int) -> bool | None:
    """Whether staff blocked the user, the row locked until the transaction ends; None: no such user."""
    row = await conn.fetchrow("SELECT banned_at FROM users WHERE id = $1 FOR UPDATE", user_id)
    return None if row is None else row["banned_at"] is not None
