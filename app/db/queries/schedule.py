"""Queries for the re-post schedule."""

from __future__ import annotations

from datetime import datetime

import asyncpg


async def least_recently_shown(
    conn: asyncpg.Connection, channel_id: int, exclude: int | None, limit: int
) -> list[asyncpg.Record]:
    """The channel's published ads shown longest ago first (never shown first of all).

    Served by ads_repost_idx: an index range scan that stops after `limit` rows.
    """
    return await conn.fetch(
        """SELECT id, last_shown_at FROM ads
           WHERE channel_id = $1 AND status = 'published' AND id IS DISTINCT FROM $2
           ORDER BY last_shown_at NULLS FIRST, id
           LIMIT $3""",
        channel_id,
        exclude,
        limit,
    )


async def claim_due_channels(
    conn: asyncpg.Connection, now: datetime, limit: int = 20
) -> list[asyncpg.Record]:
    """Channels whose re-post slot is due, locked so another process skips them."""
    return await conn.fetch(
        """SELECT * FROM channels
           WHERE active AND (next_repost_at IS NULL OR next_repost_at <= $1)
           ORDER BY next_repost_at NULLS FIRST, id
           FOR UPDATE SKIP LOCKED
           LIMIT $2""",
        now,
        limit,
    )


async def record_repost(
    conn: asyncpg.Connection, channel_id: int, ad_id: int | None, now: datetime, next_at: datetime
) -> None:
    """Close the slot: the ad shown (if any) and when the next slot is due."""
    if ad_id is not None:
        await conn.execute(
            "UPDATE ads SET last_shown_at = $2, shown_count = shown_count + 1 WHERE id = $1", ad_id, now
        )
    await conn.execute(
        """UPDATE channels SET next_repost_at = $2,
                               last_repost_ad = coalesce($3, last_repost_ad)
           WHERE id = $1""",
        channel_id,
        next_at,
        ad_id,
    )
