"""Queries for the panel's moderation queue: pending ads with their seller's history."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from app.db import Conn
from app.db.queries.ads import Ad, AdStatus
from app.db.records import from_row

QUEUE_LIMIT = 50


@dataclass(frozen=True, slots=True)
class Card:
    """A pending ad as a moderator sees it: with its seller, channel and the seller's history."""

    ad: Ad
    seller_name: str
    seller_username: str | None
    channel_title: str
    hashtag: str | None
    history: dict[AdStatus, int]  # the seller's other ads by status
    photo_positions: list[int]
    admin_notes: int = 0  # notifications of this revision to the channel's admins in the bot
    notes_failed: int = 0  # of them, refused by Telegram for good
    failures: tuple[str, ...] = ()  # why deliveries about the ad failed


@dataclass(frozen=True, slots=True)
class PhotoKey:
    storage_key: str | None
    channel_id: int


_CARD = """
SELECT a.*, u.first_name AS seller_name, u.username AS seller_username,
       c.title AS channel_title, cat.hashtag AS category,
       (SELECT coalesce(jsonb_object_agg(status, n), '{}'::jsonb) FROM (
            SELECT e.status, count(*) AS n FROM ads e
            WHERE e.seller_id = a.seller_id AND e.id <> a.id GROUP BY e.status) s) AS history,
       (SELECT coalesce(array_agg(p.position ORDER BY p.position), '{}') FROM ad_photos p
        WHERE p.ad_id = a.id) AS photo_positions,
       (SELECT count(*) FROM ad_messages m
        WHERE m.ad_id = a.id AND m.kind = 'admin_note' AND m.revision = a.revision) AS admin_notes,
       (SELECT count(*) FROM ad_messages m JOIN outbox o ON o.id = m.outbox_id
        WHERE m.ad_id = a.id AND m.kind = 'admin_note' AND m.revision = a.revision
          AND o.status = 'failed') AS notes_failed,
       (SELECT coalesce(array_agg(DISTINCT coalesce(o.error, '?')), '{}') FROM outbox o
        WHERE o.ref_kind = 'ad' AND o.ref_id = a.id AND o.status = 'failed') AS failures
FROM ads a
JOIN users u ON u.id = a.seller_id
JOIN channels c ON c.id = a.channel_id
LEFT JOIN categories cat ON cat.id = a.category_id
"""


def _card(row: Any) -> Card:
    history = row["history"]
    if isinstance(history, str):
        history = json.loads(history)
    return Card(
        ad=from_row(Ad, row),
        seller_name=row["seller_name"],
        seller_username=row["seller_username"],
        channel_title=row["channel_title"],
        hashtag=row["category"],
        history={AdStatus(status): n for status, n in sorted(history.items())},
        photo_positions=list(row["photo_positions"]),
        admin_notes=row["admin_notes"],
        notes_failed=row["notes_failed"],
        failures=tuple(row["failures"]),
    )


async def pending_cards(conn: Conn, channel_ids: list[int] | None, limit: int = QUEUE_LIMIT) -> list[Card]:
    """Pending ads, oldest first, of the given channels (None = every channel)."""
    rows = await conn.fetch(
        _CARD
        + """WHERE a.status = 'pending'
                   AND ($1::bigint[] IS NULL OR a.channel_id = ANY($1::bigint[]))
                   ORDER BY a.submitted_at, a.id LIMIT $2""",
        channel_ids,
        limit,
    )
    return [_card(row) for row in rows]


async def card(conn: Conn, ad_id: int) -> Card | None:
    row = await conn.fetchrow(_CARD + "WHERE a.id = $1", ad_id)
    return None if row is None else _card(row)


@dataclass(frozen=True, slots=True)
class MediaOwner:
    """Who may fetch a stored key: anyone when a published ad shows it, else staff of its
    ads' channels (`channel_ids` empty: the key belongs to no ad)."""

    published: bool
    channel_ids: list[int]


async def media_owner(conn: Conn, storage_key: str) -> MediaOwner:
    row = await conn.fetchrow(
        "SELECT coalesce(bool_or(a.status = $2), false) AS published, "
        "coalesce(array_agg(DISTINCT a.channel_id) FILTER (WHERE a.id IS NOT NULL), '{}') AS channel_ids "
        "FROM ad_photos p JOIN ads a ON a.id = p.ad_id WHERE p.storage_key = $1",
        storage_key,
        AdStatus.PUBLISHED,
    )
    return MediaOwner(bool(row["published"]), list(row["channel_ids"])) if row else MediaOwner(False, [])


async def photo_key(conn: Conn, ad_id: int, position: int) -> PhotoKey | None:
    """The photo's Storage key and its ad's channel (for the access check)."""
    row = await conn.fetchrow(
        "SELECT p.storage_key, a.channel_id FROM ad_photos p JOIN ads a ON a.id = p.ad_id "
        "WHERE p.ad_id = $1 AND p.position = $2",
        ad_id,
        position,
    )
    return None if row is None else PhotoKey(row["storage_key"], row["channel_id"])
