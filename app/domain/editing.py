"""The seller edits an ad (M8): it goes back to moderation; its channel post changes once approved."""

from __future__ import annotations

import asyncpg

from app.db.queries import ads as q
from app.db.queries import channels as channel_q
from app.domain.ads import AdError, Draft, premoderate, text_key
from app.domain.moderation import check_complete
from app.domain.ports import AdMessages
from app.domain.publishing import notify_admins
from app.domain.users import Languages
from app.i18n import N_

EDITABLE_STATUSES = ("pending", "published", "rejected")


async def edit_ad(
    conn: asyncpg.Connection, ad_id: int, seller_id: int, draft: Draft, msgs: AdMessages, languages: Languages
) -> asyncpg.Record:
    """Put the ad back to 'pending' with the new content and tell the admins again.

    The channel post stays as it was while the edit waits: re-posts and check-ins only pick
    published ads, and the approval edits the post in place (publishing.decide_ad).
    """
    ad = await conn.fetchrow(
        "SELECT * FROM ads WHERE id = $1 AND seller_id = $2 FOR UPDATE", ad_id, seller_id
    )
    if ad is None or ad["status"] not in EDITABLE_STATUSES:
        raise AdError(N_("This ad cannot be changed any more."))
    check_complete(draft)
    channel = await channel_q.get_channel(conn, ad["channel_id"])
    key = text_key(draft.title, draft.description)
    flags = await premoderate(
        conn,
        channel_id=channel["id"],
        seller_id=seller_id,
        key=key,
        photo_ids=[p.file_unique_id for p in draft.photos],
        banned=await channel_q.list_banned_words(conn, channel["id"]),
        ads_per_day=channel["ads_per_day"],
        exclude_ad=ad_id,
    )
    # The daily limit is about new ads; an edit of one is not another ad.
    flags = [f for f in flags if f["kind"] != "daily_limit"]
    old_photos = [p["file_unique_id"] for p in await q.list_photos(conn, ad_id)]
    photos_changed = old_photos != [p.file_unique_id for p in draft.photos]
    price = draft.price
    edited = await conn.fetchrow(
        """UPDATE ads SET status = 'pending', category_id = $2, title = $3, description = $4,
                          price = $5, currency = $6, negotiable = $7, district = $8,
                          contact = $9, flags = $10, text_key = $11, revision = revision + 1,
                          reject_reason = NULL, decided_by = NULL, decided_at = NULL,
                          decided_by_staff = NULL, next_checkin_at = NULL, updated_at = now()
           WHERE id = $1 RETURNING *""",
        ad_id,
        draft.category_id,
        draft.title,
        draft.description,
        price.amount,
        price.currency,
        price.negotiable,
        draft.district,
        draft.contact,
        flags,
        key,
    )
    if photos_changed:
        await conn.execute("DELETE FROM ad_photos WHERE ad_id = $1", ad_id)
        await q.insert_photos(
            conn, ad_id, [(p.file_id, p.file_unique_id, p.storage_key) for p in draft.photos]
        )
    await q.add_event(
        conn,
        ad_id,
        "edited",
        seller_id,
        {
            "revision": edited["revision"],
            "photos_changed": photos_changed,
            "flags": flags,
            "from_status": ad["status"],
        },
    )
    await q.notify_moderation(conn, {"event": "submitted", "ad_id": ad_id, "channel_id": ad["channel_id"]})
    await notify_admins(conn, ad_id, msgs, languages)
    return edited


async def photos_changed_since(conn: asyncpg.Connection, ad_id: int, revision: int) -> bool:
    """Whether an edit after `revision` replaced the photos (then the post cannot be edited)."""
    return bool(
        await conn.fetchval(
            "SELECT bool_or((detail->>'photos_changed')::boolean) FROM ad_events "
            "WHERE ad_id = $1 AND kind = 'edited' AND (detail->>'revision')::int > $2",
            ad_id,
            revision,
        )
    )
