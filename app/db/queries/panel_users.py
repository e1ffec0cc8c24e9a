"""Queries for the panel's Users screen: search, a user's page, staff blocks."""

from __future__ import annotations

import asyncpg

from app.db.queries.panel_ads import escape_like

PAGE_SIZE = 50
COLUMNS = ("id, first_name, last_name, username, last_seen, blocked_bot_at, banned_at, "
           "banned_by, banned_reason")


async def search(conn: asyncpg.Connection, text: str, after: int | None,
                 limit: int = PAGE_SIZE) -> list[asyncpg.Record]:
    """By exact id, @username prefix or any part of the name; keyset on id, one extra row."""
    text = text.strip()
    after_sql = "" if after is None else f" AND id < {int(after)}"
    tail = f"{after_sql} ORDER BY id DESC LIMIT {int(limit) + 1}"
    if text.isascii() and text.isdigit() and len(text) <= 15:
        return await conn.fetch(f"SELECT {COLUMNS} FROM users WHERE id = $1{tail}", int(text))
    if text.startswith("@"):
        return await conn.fetch(
            f"SELECT {COLUMNS} FROM users WHERE username IS NOT NULL "
            f"AND lower(username) LIKE $1{tail}", escape_like(text[1:].lower()) + "%")
    if text:
        return await conn.fetch(
            f"SELECT {COLUMNS} FROM users "
            f"WHERE lower(first_name || ' ' || coalesce(last_name, '')) LIKE $1{tail}",
            "%" + escape_like(text.lower()) + "%")
    return await conn.fetch(f"SELECT {COLUMNS} FROM users WHERE true{tail}")


async def user(conn: asyncpg.Connection, user_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {', '.join('u.' + c.strip() for c in COLUMNS.split(','))}, u.language, "
        "u.first_seen, coalesce(s.display_name, s.username) AS banned_by_name FROM users u "
        "LEFT JOIN staff s ON s.id = u.banned_by WHERE u.id = $1", user_id)


async def ads_of(conn: asyncpg.Connection, user_id: int, limit: int = 20) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT a.id, a.title, a.status, a.submitted_at, c.title AS channel_title FROM ads a "
        "JOIN channels c ON c.id = a.channel_id WHERE a.seller_id = $1 "
        "ORDER BY a.submitted_at DESC, a.id DESC LIMIT $2", user_id, limit)


async def journal_of(conn: asyncpg.Connection, user_id: int, limit: int = 20
                     ) -> list[asyncpg.Record]:
    """The latest updates from this user with the text (or callback data) they carried."""
    return await conn.fetch(
        "SELECT id, kind, received_at, error, coalesce(payload #>> '{message,text}', "
        "payload #>> '{message,caption}', payload #>> '{callback_query,data}') AS text "
        "FROM update_journal WHERE user_id = $1 ORDER BY id DESC LIMIT $2", user_id, limit)


async def set_ban(conn: asyncpg.Connection, user_id: int, staff_id: int | None,
                  reason: str | None) -> asyncpg.Record | None:
    """Block by staff; the reason is optional."""
    return await conn.fetchrow(
        "UPDATE users SET banned_at = now(), banned_by = $2, banned_reason = $3 WHERE id = $1 "
        "RETURNING banned_at", user_id, staff_id, reason)


async def clear_ban(conn: asyncpg.Connection, user_id: int) -> bool:
    status = await conn.execute(
        "UPDATE users SET banned_at = NULL, banned_by = NULL, banned_reason = NULL "
        "WHERE id = $1 AND banned_at IS NOT NULL", user_id)
    return status != "UPDATE 0"


async def ban_state(conn: asyncpg.Connection, user_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT banned_at, banned_by, banned_reason FROM users WHERE id = $1 FOR UPDATE", user_id)
