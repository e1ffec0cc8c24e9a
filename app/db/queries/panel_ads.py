"""Queries for the panel's Ads screen: filtered keyset pages and one ad's whole story."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

PAGE_SIZE = 50


@dataclass(frozen=True, slots=True)
class AdFilter:
    """What the list is narrowed to; None means "any"."""

    status: str | None = None
    channel_id: int | None = None
    category_id: int | None = None
    seller_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    q: str | None = None
    channels: list[int] | None = None  # a moderator's channels; None = every channel


def _where(f: AdFilter, after: tuple[datetime, int] | None) -> tuple[str, list]:
    """Only the conditions in use, so each page is planned for its own index (no `$1 IS NULL OR`)."""
    parts: list[str] = []
    args: list = []

    def add(sql: str, *values) -> None:
        args.extend(values)
        parts.append(sql.format(*(f"${len(args) - len(values) + i + 1}" for i in range(len(values)))))

    if f.channels is not None:
        add("a.channel_id = ANY({0}::bigint[])", f.channels)
    if f.status is not None:
        add("a.status = {0}", f.status)
    if f.channel_id is not None:
        add("a.channel_id = {0}", f.channel_id)
    if f.category_id is not None:
        add("a.category_id = {0}", f.category_id)
    if f.seller_id is not None:
        add("a.seller_id = {0}", f.seller_id)
    if f.since is not None:
        add("a.submitted_at >= {0}", f.since)
    if f.until is not None:
        add("a.submitted_at < {0}", f.until)
    if f.q:
        add("lower(a.title) LIKE {0}", "%" + escape_like(f.q.lower()) + "%")
    if after is not None:
        add("(a.submitted_at, a.id) < ({0}, {1})", after[0], after[1])
    return (" WHERE " + " AND ".join(parts)) if parts else "", args


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def page(
    conn: asyncpg.Connection, f: AdFilter, after: tuple[datetime, int] | None, limit: int = PAGE_SIZE
) -> list[asyncpg.Record]:
    """One page newest first, plus one row more to tell whether a next page exists."""
    where, args = _where(f, after)
    return await conn.fetch(
        "SELECT a.id, a.title, a.status, a.submitted_at, a.seller_id, a.channel_id, "
        "c.title AS channel_title, u.first_name AS seller_name, u.username AS seller_username "
        "FROM ads a JOIN channels c ON c.id = a.channel_id JOIN users u ON u.id = a.seller_id"
        f"{where} ORDER BY a.submitted_at DESC, a.id DESC LIMIT {int(limit) + 1}",
        *args,
    )


async def channel_choices(conn: asyncpg.Connection, channels: list[int] | None) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT id, title FROM channels WHERE $1::bigint[] IS NULL OR id = ANY($1) ORDER BY title", channels
    )


async def category_choices(conn: asyncpg.Connection, channels: list[int] | None) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT g.id, g.name_en, g.name_ru, g.name_uz, c.title AS channel_title "
        "FROM categories g JOIN channels c ON c.id = g.channel_id "
        "WHERE $1::bigint[] IS NULL OR g.channel_id = ANY($1) ORDER BY c.title, g.position",
        channels,
    )


async def ad(conn: asyncpg.Connection, ad_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT a.*, c.title AS channel_title, g.name_en AS category_en, g.name_ru AS category_ru, "
        "g.name_uz AS category_uz, u.first_name AS seller_name, u.username AS seller_username, "
        "coalesce(s.display_name, s.username) AS decided_by_name, "
        "(SELECT coalesce(array_agg(p.position ORDER BY p.position), '{}') FROM ad_photos p "
        " WHERE p.ad_id = a.id) AS photo_positions "
        "FROM ads a JOIN channels c ON c.id = a.channel_id JOIN users u ON u.id = a.seller_id "
        "LEFT JOIN categories g ON g.id = a.category_id "
        "LEFT JOIN staff s ON s.id = a.decided_by_staff WHERE a.id = $1",
        ad_id,
    )


async def events(conn: asyncpg.Connection, ad_id: int) -> list[asyncpg.Record]:
    """Every event with who did it: a staff member's name, else the Telegram user."""
    return await conn.fetch(
        "SELECT e.id, e.at, e.kind, e.detail, e.actor_id, "
        "coalesce(s.display_name, s.username) AS staff_name, "
        "u.first_name AS actor_name, u.username AS actor_username "
        "FROM ad_events e LEFT JOIN staff s ON s.id = e.staff_id "
        "LEFT JOIN users u ON u.id = e.actor_id WHERE e.ad_id = $1 ORDER BY e.at, e.id",
        ad_id,
    )


async def posts(conn: asyncpg.Connection, ad_id: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT m.id, m.kind, m.chat_id, m.outbox_id, m.revision, m.created_at, m.removed_at, "
        "o.status AS outbox_status, o.result FROM ad_messages m "
        "LEFT JOIN outbox o ON o.id = m.outbox_id WHERE m.ad_id = $1 ORDER BY m.id",
        ad_id,
    )
