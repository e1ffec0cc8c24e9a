"""Queries for the re-post schedule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.db import Conn
from app.db.queries.channels import CHANNEL_COLUMNS, Channel
from app.db.records import from_row


@dataclass(frozen=True, slots=True)
class DueSlot:
    """A channel whose re-post slot is due, and the ad it showed last (never twice in a row)."""

    channel: Channel
    last_repost_ad: int | None


async def least_recently_shown(
    conn: Conn, channel_id: int, exclude: int | None, limit: int
) -> list[tuple[int, datetime | None]]:
    """The channel's published ads shown longest ago first (never shown first of all).

    Served by ads_repost_idx: an index range scan that stops after `limit` rows.
    """
    rows = await conn.fetch(
        """SELECT id, last_shown_at FROM ads
           WHERE channel_id = $1 AND status = 'published' AND id IS DISTINCT FROM $2
           ORDER BY last_shown_at NULLS FIRST, id
           LIMIT $3""",
        channel_id,
        exclude,
        limit,
    )
    return [(r["id"], r["last_shown_at"]) for r in rows]


async def claim_due_channels(conn: Conn, now: datetime, limit: int = 20) -> list[DueSlot]:
    """Channels whose re-post slot is due, locked so another process skips them."""
    rows = await conn.fetch(
        f"""SELECT {CHANNEL_COLUMNS}, last_repost_ad FROM channels
           WHERE active AND (next_repost_at IS NULL OR next_repost_at <= $1)
           ORDER BY next_repost_at NULLS FIRST, id
           FOR UPDATE SKIP LOCKED
           LIMIT $2""",
        now,
        limit,
    )
    return [DueSlot(from_row(Channel, r), r["last_repost_ad"]) for r in rows]


async def record_repost(
    conn: Conn, channel_id: int, ad_id: int | None, now: datetime, next_at: datetime
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
