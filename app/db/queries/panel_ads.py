"""Queries for the panel's Ads screen: filtered keyset pages and one ad's whole story."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.db import Conn
from app.db.queries.ads import Ad, AdStatus, MessageKind
from app.db.queries.exports import Export, utc
from app.db.records import from_row, from_rows

PAGE_SIZE = 50


@dataclass(frozen=True, slots=True)
class AdLine:
    """One row of the Ads list."""

    id: int
    title: str
    status: AdStatus
    submitted_at: datetime
    seller_id: int
    channel_id: int
    channel_title: str
    seller_name: str
    seller_username: str | None


@dataclass(frozen=True, slots=True)
class ChannelChoice:
    id: int
    title: str


@dataclass(frozen=True, slots=True)
class CategoryChoice:
    id: int
    name_uz: str
    name_ru: str
    name_en: str
    channel_title: str


@dataclass(frozen=True, slots=True)
class AdStory:
    """An ad with what its page shows beside it."""

    ad: Ad
    channel_title: str
    category_uz: str | None
    category_ru: str | None
    category_en: str | None
    seller_name: str
    seller_username: str | None
    photo_positions: list[int]

    def category(self, language: str) -> str | None:
        return {"uz": self.category_uz, "ru": self.category_ru}.get(language, self.category_en)


@dataclass(frozen=True, slots=True)
class EventLine:
    """Something that happened to an ad, with who did it: staff by name, else the Telegram user."""

    id: int
    at: datetime
    kind: str
    detail: dict[str, Any]
    actor_id: int | None
    staff_name: str | None
    actor_name: str | None
    actor_username: str | None


@dataclass(frozen=True, slots=True)
class PostLine:
    """A message sent about an ad (a channel copy or an admin's note) and its delivery."""

    id: int
    kind: MessageKind
    chat_id: int
    outbox_id: int
    revision: int
    created_at: datetime
    removed_at: datetime | None
    outbox_status: str | None


@dataclass(frozen=True, slots=True)
class AdFilter:
    """What the list is narrowed to; None means "any"."""

    status: AdStatus | None = None
    channel_id: int | None = None
    category_id: int | None = None
    seller_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    q: str | None = None
    channels: list[int] | None = None  # a moderator's channels; None = every channel


def _where(f: AdFilter, after: tuple[datetime, int] | None) -> tuple[str, list[Any]]:
    """Only the conditions in use, so each page is planned for its own index (no `$1 IS NULL OR`)."""
    parts: list[str] = []
    args: list[Any] = []

    def add(sql: str, *values: Any) -> None:
        args.extend(values)
        parts.append(sql.format(*(f"${len(args) - len(values) + i + 1}" for i in range(len(values)))))

    if f.channels is not None:
        add("a.channel_id = ANY({0}::bigint[])", f.channels)
    if f.status is not None:
        add("a.status = {0}", f.status.value)
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
    conn: Conn, f: AdFilter, after: tuple[datetime, int] | None, limit: int = PAGE_SIZE
) -> list[AdLine]:
    """One page newest first, plus one row more to tell whether a next page exists."""
    where, args = _where(f, after)
    rows = await conn.fetch(
        "SELECT a.id, a.title, a.status, a.submitted_at, a.seller_id, a.channel_id, "
        "c.title AS channel_title, u.first_name AS seller_name, u.username AS seller_username "
        "FROM ads a JOIN channels c ON c.id = a.channel_id JOIN users u ON u.id = a.seller_id"
        f"{where} ORDER BY a.submitted_at DESC, a.id DESC LIMIT {int(limit) + 1}",
        *args,
    )
    return from_rows(AdLine, rows)


def export(f: AdFilter) -> Export:
    """Every ad the list shows with these filters, newest first, for CSV."""
    where, args = _where(f, None)
    return Export(
        "ads",
        EXPORT_COLUMNS,
        f"SELECT a.id, {utc('a.submitted_at')}, a.status, a.title, a.price, a.currency, a.negotiable,"
        " a.district, a.channel_id, c.title, cat.hashtag, a.seller_id, u.first_name, u.username,"
        f" {utc('a.decided_at')}, a.reject_reason, {utc('a.published_at')}, a.shown_count "
        "FROM ads a JOIN channels c ON c.id = a.channel_id JOIN users u ON u.id = a.seller_id "
        "LEFT JOIN categories cat ON cat.id = a.category_id"
        f"{where} ORDER BY a.submitted_at DESC, a.id DESC",
        tuple(args),
    )


EXPORT_COLUMNS = (
    "id",
    "submitted_at",
    "status",
    "title",
    "price",
    "currency",
    "negotiable",
    "district",
    "channel_id",
    "channel",
    "category",
    "seller_id",
    "seller_name",
    "seller_username",
    "decided_at",
    "reject_reason",
    "published_at",
    "reposts",
)


async def channel_choices(conn: Conn, channels: list[int] | None) -> list[ChannelChoice]:
    rows = await conn.fetch(
        "SELECT id, title FROM channels WHERE $1::bigint[] IS NULL OR id = ANY($1) ORDER BY title", channels
    )
    return from_rows(ChannelChoice, rows)


async def category_choices(conn: Conn, channels: list[int] | None) -> list[CategoryChoice]:
    rows = await conn.fetch(
        "SELECT g.id, g.name_en, g.name_ru, g.name_uz, c.title AS channel_title "
        "FROM categories g JOIN channels c ON c.id = g.channel_id "
        "WHERE $1::bigint[] IS NULL OR g.channel_id = ANY($1) ORDER BY c.title, g.position",
        channels,
    )
    return from_rows(CategoryChoice, rows)


async def story(conn: Conn, ad_id: int) -> AdStory | None:
    row = await conn.fetchrow(
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
    if row is None:
        return None
    return AdStory(
        ad=from_row(Ad, row),
        channel_title=row["channel_title"],
        category_uz=row["category_uz"],
        category_ru=row["category_ru"],
        category_en=row["category_en"],
        seller_name=row["seller_name"],
        seller_username=row["seller_username"],
        photo_positions=list(row["photo_positions"]),
    )


async def events(conn: Conn, ad_id: int) -> list[EventLine]:
    """Every event with who did it: a staff member's name, else the Telegram user."""
    rows = await conn.fetch(
        "SELECT e.id, e.at, e.kind, e.detail, e.actor_id, "
        "coalesce(s.display_name, s.username) AS staff_name, "
        "u.first_name AS actor_name, u.username AS actor_username "
        "FROM ad_events e LEFT JOIN staff s ON s.id = e.staff_id "
        "LEFT JOIN users u ON u.id = e.actor_id WHERE e.ad_id = $1 ORDER BY e.at, e.id",
        ad_id,
    )
    return [from_row(EventLine, {**dict(r), "detail": _detail(r["detail"])}) for r in rows]


def _detail(value: Any) -> dict[str, Any]:
    data = json.loads(value) if isinstance(value, str) else value
    return data if isinstance(data, dict) else {"value": data}


async def posts(conn: Conn, ad_id: int) -> list[PostLine]:
    rows = await conn.fetch(
        "SELECT m.id, m.kind, m.chat_id, m.outbox_id, m.revision, m.created_at, m.removed_at, "
        "o.status AS outbox_status FROM ad_messages m "
        "LEFT JOIN outbox o ON o.id = m.outbox_id WHERE m.ad_id = $1 ORDER BY m.id",
        ad_id,
    )
    return from_rows(PostLine, rows)
