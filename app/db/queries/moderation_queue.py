"""Queries for the panel's moderation queue: pending ads with their seller's history."""

from __future__ import annotations

import asyncpg

QUEUE_LIMIT = 50

_CARD = """
SELECT a.*, u.first_name AS seller_name, u.username AS seller_username,
       c.title AS channel_title, cat.hashtag AS category,
       (SELECT coalesce(jsonb_object_agg(status, n), '{}'::jsonb) FROM (
            SELECT e.status, count(*) AS n FROM ads e
            WHERE e.seller_id = a.seller_id AND e.id <> a.id GROUP BY e.status) s) AS history,
       (SELECT coalesce(array_agg(p.position ORDER BY p.position), '{}') FROM ad_photos p
        WHERE p.ad_id = a.id) AS photo_positions
FROM ads a
JOIN users u ON u.id = a.seller_id
JOIN channels c ON c.id = a.channel_id
LEFT JOIN categories cat ON cat.id = a.category_id
"""


async def pending_cards(
    conn: asyncpg.Connection, channel_ids: list[int] | None, limit: int = QUEUE_LIMIT
) -> list[asyncpg.Record]:
    """Pending ads, oldest first, of the given channels (None = every channel)."""
    return await conn.fetch(
        _CARD
        + """WHERE a.status = 'pending'
                   AND ($1::bigint[] IS NULL OR a.channel_id = ANY($1::bigint[]))
                   ORDER BY a.submitted_at, a.id LIMIT $2""",
        channel_ids,
        limit,
    )


async def card(conn: asyncpg.Connection, ad_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(_CARD + "WHERE a.id = $1", ad_id)


async def photo_key(conn: asyncpg.Connection, ad_id: int, position: int) -> asyncpg.Record | None:
    """The photo's Storage key and its ad's channel (for the access check)."""
    return await conn.fetchrow(
        "SELECT p.storage_key, a.channel_id FROM ad_photos p JOIN ads a ON a.id = p.ad_id "
        "WHERE p.ad_id = $1 AND p.position = $2",
        ad_id,
        position,
    )


async def edit_text(
    conn: asyncpg.Connection, ad_id: int, title: str, description: str, key: str
) -> asyncpg.Record | None:
    """Change a pending ad's text; None when it is no longer pending."""
    return await conn.fetchrow(
        """UPDATE ads SET title = $2, description = $3, text_key = $4, revision = revision + 1,
                          updated_at = now()
           WHERE id = $1 AND status = 'pending' RETURNING *""",
        ad_id,
        title,
        description,
        key,
    )
