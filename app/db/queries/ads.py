"""Queries on ads, their photos, messages and events."""

from __future__ import annotations

from datetime import datetime

import asyncpg

LIVE = ("pending", "published")


async def live_ad_with_text(
    conn: asyncpg.Connection, channel_id: int, seller_id: int, key: str, exclude_ad: int | None
) -> int | None:
    """A pending or published ad with the same normalised text, in the channel or by the seller."""
    return await conn.fetchval(
        """SELECT id FROM ads
           WHERE text_key = $3 AND status = ANY($5::text[]) AND id IS DISTINCT FROM $4
             AND (channel_id = $1 OR seller_id = $2)
           ORDER BY id LIMIT 1""",
        channel_id,
        seller_id,
        key,
        exclude_ad,
        list(LIVE),
    )


async def live_ad_with_photo(
    conn: asyncpg.Connection, channel_id: int, seller_id: int, unique_ids: list[str], exclude_ad: int | None
) -> int | None:
    if not unique_ids:
        return None
    return await conn.fetchval(
        """SELECT a.id FROM ad_photos p JOIN ads a ON a.id = p.ad_id
           WHERE p.file_unique_id = ANY($3::text[]) AND a.status = ANY($5::text[])
             AND a.id IS DISTINCT FROM $4 AND (a.channel_id = $1 OR a.seller_id = $2)
           ORDER BY a.id LIMIT 1""",
        channel_id,
        seller_id,
        unique_ids,
        exclude_ad,
        list(LIVE),
    )


async def ads_submitted_since(conn: asyncpg.Connection, seller_id: int, *, hours: int) -> int:
    return await conn.fetchval(
        "SELECT count(*) FROM ads WHERE seller_id = $1 AND submitted_at > now() - make_interval(hours => $2)",
        seller_id,
        hours,
    )


async def insert_ad(conn: asyncpg.Connection, values: dict[str, object]) -> asyncpg.Record:
    """Insert an ad from column values chosen by the domain (names never come from input)."""
    columns = ", ".join(values)
    params = ", ".join(f"${i}" for i in range(1, len(values) + 1))
    return await conn.fetchrow(f"INSERT INTO ads ({columns}) VALUES ({params}) RETURNING *", *values.values())


async def insert_photos(
    conn: asyncpg.Connection, ad_id: int, photos: list[tuple[str, str, str | None]]
) -> None:
    await conn.executemany(
        "INSERT INTO ad_photos (ad_id, position, file_id, file_unique_id, storage_key) "
        "VALUES ($1, $2, $3, $4, $5)",
        [(ad_id, i, fid, uid, key) for i, (fid, uid, key) in enumerate(photos)],
    )


async def add_event(
    conn: asyncpg.Connection,
    ad_id: int,
    kind: str,
    actor_id: int | None,
    detail: dict | None = None,
    *,
    staff_id: int | None = None,
) -> None:
    await conn.execute(
        "INSERT INTO ad_events (ad_id, kind, actor_id, detail, staff_id) VALUES ($1, $2, $3, $4, $5)",
        ad_id,
        kind,
        actor_id,
        detail or {},
        staff_id,
    )


MODERATION_CHANNEL = "bozor_moderation"  # LISTENed to by the panel's live queue


async def notify_moderation(conn: asyncpg.Connection, payload: dict[str, object]) -> None:
    """Tell every panel process about a queue change; PostgreSQL delivers it at commit only."""
    await conn.execute("SELECT pg_notify($1, $2::jsonb::text)", MODERATION_CHANNEL, payload)


async def decide(
    conn: asyncpg.Connection,
    ad_id: int,
    admin_id: int | None,
    status: str,
    reason: str | None,
    staff_id: int | None = None,
) -> asyncpg.Record | None:
    """The first decision wins: only a pending ad changes; None when someone decided first."""
    return await conn.fetchrow(
        """UPDATE ads SET status = $3, decided_by = $2, decided_at = now(), reject_reason = $4,
                          decided_by_staff = $5,
                          published_at = CASE WHEN $3 = 'published' THEN now() END,
                          next_checkin_at = CASE WHEN $3 = 'published' THEN now() + (
                              SELECT checkin_every FROM channels c WHERE c.id = ads.channel_id) END,
                          checkin_asks = 0, updated_at = now()
           WHERE id = $1 AND status = 'pending'
           RETURNING *""",
        ad_id,
        admin_id,
        status,
        reason,
        staff_id,
    )


async def get_ad(conn: asyncpg.Connection, ad_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM ads WHERE id = $1", ad_id)


async def list_photos(conn: asyncpg.Connection, ad_id: int) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT * FROM ad_photos WHERE ad_id = $1 ORDER BY position", ad_id)


async def list_events(conn: asyncpg.Connection, ad_id: int) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT * FROM ad_events WHERE ad_id = $1 ORDER BY at, id", ad_id)


async def is_admin_for_ad(conn: asyncpg.Connection, ad_id: int, user_id: int) -> bool:
    """Whether the user moderates the channel the ad was submitted to."""
    return await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM ads a JOIN channel_admins c ON c.channel_id = a.channel_id "
        "WHERE a.id = $1 AND c.user_id = $2)",
        ad_id,
        user_id,
    )


async def claim_due_checkins(conn: asyncpg.Connection, now: datetime, limit: int) -> list[asyncpg.Record]:
    """Published ads whose seller is due a "still selling?" question, locked for this process."""
    return await conn.fetch(
        """SELECT a.*, c.checkin_every, c.checkin_max_asks FROM ads a
           JOIN channels c ON c.id = a.channel_id
           WHERE a.status = 'published' AND a.next_checkin_at <= $1
           ORDER BY a.next_checkin_at, a.id
           FOR UPDATE OF a SKIP LOCKED
           LIMIT $2""",
        now,
        limit,
    )


async def set_checkin(conn: asyncpg.Connection, ad_id: int, *, asks: int, next_at: datetime | None) -> None:
    await conn.execute(
        "UPDATE ads SET checkin_asks = $2, next_checkin_at = $3, updated_at = now() WHERE id = $1",
        ad_id,
        asks,
        next_at,
    )


async def close_ad(
    conn: asyncpg.Connection, ad_id: int, status: str, from_statuses: list[str], seller_id: int | None
) -> asyncpg.Record | None:
    """Move an ad to sold / expired / withdrawn if it is in one of `from_statuses` (and, when
    given, belongs to `seller_id`); None when it was not."""
    return await conn.fetchrow(
        """UPDATE ads SET status = $2, next_checkin_at = NULL, updated_at = now()
           WHERE id = $1 AND status = ANY($3::text[]) AND ($4::bigint IS NULL OR seller_id = $4)
           RETURNING *""",
        ad_id,
        status,
        from_statuses,
        seller_id,
    )


async def renew_checkin(
    conn: asyncpg.Connection, ad_id: int, seller_id: int, now: datetime
) -> asyncpg.Record | None:
    """The seller still sells: reset the asks and schedule the next question."""
    return await conn.fetchrow(
        """UPDATE ads SET checkin_asks = 0, updated_at = now(),
                          next_checkin_at = $3::timestamptz + (SELECT checkin_every FROM channels c
                                                  WHERE c.id = ads.channel_id)
           WHERE id = $1 AND seller_id = $2 AND status = 'published'
           RETURNING *""",
        ad_id,
        seller_id,
        now,
    )


async def ad_view_rows(
    conn: asyncpg.Connection, ad_id: int
) -> (
    tuple[asyncpg.Record, list[asyncpg.Record], asyncpg.Record, asyncpg.Record | None, asyncpg.Record] | None
):
    """The ad, its photos, channel, category and seller, for showing it anywhere."""
    ad = await conn.fetchrow("SELECT * FROM ads WHERE id = $1", ad_id)
    if ad is None:
        return None
    photos = await list_photos(conn, ad_id)
    channel = await conn.fetchrow("SELECT * FROM channels WHERE id = $1", ad["channel_id"])
    category = await conn.fetchrow("SELECT * FROM categories WHERE id = $1", ad["category_id"])
    seller = await conn.fetchrow("SELECT * FROM users WHERE id = $1", ad["seller_id"])
    return ad, photos, channel, category, seller


async def add_message(
    conn: asyncpg.Connection, ad_id: int, kind: str, chat_id: int, outbox_id: int, revision: int
) -> None:
    await conn.execute(
        "INSERT INTO ad_messages (ad_id, kind, chat_id, outbox_id, revision) VALUES ($1, $2, $3, $4, $5)",
        ad_id,
        kind,
        chat_id,
        outbox_id,
        revision,
    )


async def live_messages(conn: asyncpg.Connection, ad_id: int, kind: str) -> list[asyncpg.Record]:
    """The ad's messages of a kind that are still up (not deleted by us)."""
    return await conn.fetch(
        "SELECT * FROM ad_messages WHERE ad_id = $1 AND kind = $2 AND removed_at IS NULL ORDER BY id",
        ad_id,
        kind,
    )


async def mark_messages_removed(conn: asyncpg.Connection, message_row_ids: list[int]) -> None:
    await conn.execute(
        "UPDATE ad_messages SET removed_at = now() WHERE id = ANY($1::bigint[])", message_row_ids
    )


async def user_languages(conn: asyncpg.Connection, user_ids: list[int]) -> dict[int, tuple]:
    """(chosen language, Telegram language_code) for each known user."""
    rows = await conn.fetch(
        "SELECT id, language, language_code FROM users WHERE id = ANY($1::bigint[])", user_ids
    )
    return {r["id"]: (r["language"], r["language_code"]) for r in rows}


async def seller_ads(
    conn: asyncpg.Connection, seller_id: int, *, offset: int, limit: int
) -> list[asyncpg.Record]:
    """A seller's ads, newest first (sellers have few, so an offset page is cheap)."""
    return await conn.fetch(
        "SELECT id, title, status, reject_reason, submitted_at FROM ads WHERE seller_id = $1 "
        "ORDER BY submitted_at DESC, id DESC OFFSET $2 LIMIT $3",
        seller_id,
        offset,
        limit,
    )


async def reason_for_ad(conn: asyncpg.Connection, ad_id: int, reason_id: int) -> asyncpg.Record | None:
    """A canned reason of the ad's own channel, with the seller's language settings."""
    return await conn.fetchrow(
        """SELECT r.text_uz, r.text_ru, r.text_en, u.language, u.language_code
           FROM ads a
           JOIN reject_reasons r ON r.channel_id = a.channel_id AND r.id = $2
           JOIN users u ON u.id = a.seller_id
           WHERE a.id = $1""",
        ad_id,
        reason_id,
    )
