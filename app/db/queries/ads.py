"""Queries on ads, their photos, messages and events; typed records out."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from app.db import Conn
from app.db.queries.channels import Category, Channel, RejectReason
from app.db.queries.users import User
from app.db.records import from_row, from_rows, maybe


class AdStatus(StrEnum):
    PENDING = "pending"  # waiting for a decision
    PUBLISHED = "published"  # in the channel, re-posted, checked in on
    REJECTED = "rejected"
    SOLD = "sold"
    EXPIRED = "expired"  # the seller did not answer the check-ins
    WITHDRAWN = "withdrawn"  # taken down by the seller


LIVE = (AdStatus.PENDING, AdStatus.PUBLISHED)  # counted for duplicates; sold/withdrawn from these


class AdEventKind(StrEnum):
    """What an ad's history (ad_events) records; the panel says each as a sentence."""

    SUBMITTED = "submitted"
    EDITED = "edited"
    APPROVED = "approved"
    REJECTED = "rejected"
    SOLD = "sold"
    WITHDRAWN = "withdrawn"
    STILL_SELLING = "still_selling"
    CHECKIN_ASKED = "checkin_asked"
    EXPIRED = "expired"
    PROMOTED_REPOST = "promoted_repost"  # a paid extra re-post (app/domain/promotions)


class MessageKind(StrEnum):
    POST = "post"  # a copy in the channel
    ADMIN_NOTE = "admin_note"  # the decision message to one admin


@dataclass(frozen=True, slots=True)
class Ad:
    id: int
    seller_id: int
    channel_id: int
    category_id: int | None
    title: str
    description: str
    price: Decimal | None  # None: negotiable only
    currency: str | None
    negotiable: bool
    district: str
    contact: str
    status: AdStatus
    reject_reason: str | None
    flags: list[dict[str, Any]]  # pre-moderation findings, as app.domain.ads.rules makes them
    text_key: str
    decided_by: int | None  # the Telegram user who decided (a staff member's linked account)
    decided_by_staff: int | None
    decided_at: datetime | None
    submitted_at: datetime
    published_at: datetime | None
    last_shown_at: datetime | None
    shown_count: int
    next_checkin_at: datetime | None
    checkin_asks: int
    revision: int
    updated_at: datetime
    reject_reason_id: int | None = None  # a canned reason: each reader sees it in their language


@dataclass(frozen=True, slots=True)
class AdPhoto:
    ad_id: int
    position: int
    file_id: str  # Telegram's, for sending again fast
    file_unique_id: str  # the same across bots: finds duplicates
    storage_key: str | None  # our copy in Storage


@dataclass(frozen=True, slots=True)
class AdMessage:
    """A message the system sent about an ad: a channel copy or an admin's notification."""

    id: int
    ad_id: int
    kind: MessageKind
    chat_id: int
    outbox_id: int
    revision: int


@dataclass(frozen=True, slots=True)
class AdView:
    """An ad with everything needed to show it: photos, channel, category, seller."""

    ad: Ad
    photos: list[AdPhoto]
    channel: Channel
    category: Category | None
    seller: User
    reason: RejectReason | None = None  # the canned reason it was rejected with, if any
    changed: list[str] | None = None  # an edit waiting for review: what the seller changed

    def reason_in(self, language: str) -> str | None:
        """Why it was rejected, in the reader's language when the reason was a canned one."""
        return self.reason.text(language) if self.reason is not None else self.ad.reject_reason


@dataclass(frozen=True, slots=True)
class DueCheckin:
    """A published ad whose seller is due a "still selling?" question."""

    ad: Ad
    checkin_every: timedelta
    checkin_max_asks: int


@dataclass(frozen=True, slots=True)
class SellerAd:
    """One line of a seller's "My ads"."""

    id: int
    title: str
    status: AdStatus
    reject_reason: str | None
    submitted_at: datetime


# --- pre-moderation --------------------------------------------------------------------------


async def live_ad_with_text(
    conn: Conn, channel_id: int, seller_id: int, key: str, exclude_ad: int | None
) -> int | None:
    """A pending or published ad with the same normalised text, in the channel or by the seller."""
    found: int | None = await conn.fetchval(
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
    return found


async def live_ad_with_photo(
    conn: Conn, channel_id: int, seller_id: int, unique_ids: list[str], exclude_ad: int | None
) -> int | None:
    if not unique_ids:
        return None
    found: int | None = await conn.fetchval(
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
    return found


async def ads_submitted_since(conn: Conn, seller_id: int, channel_id: int, *, hours: int) -> int:
    """The seller's ads in one channel over the last `hours` (its daily limit is per channel)."""
    count: int = await conn.fetchval(
        "SELECT count(*) FROM ads WHERE seller_id = $1 AND channel_id = $2 "
        "AND submitted_at > now() - make_interval(hours => $3)",
        seller_id,
        channel_id,
        hours,
    )
    return count


# --- writing an ad ---------------------------------------------------------------------------


async def insert_ad(conn: Conn, values: dict[str, object]) -> Ad:
    """Insert an ad from column values chosen by the domain (names never come from input)."""
    columns = ", ".join(values)
    params = ", ".join(f"${i}" for i in range(1, len(values) + 1))
    row = await conn.fetchrow(f"INSERT INTO ads ({columns}) VALUES ({params}) RETURNING *", *values.values())
    return from_row(Ad, row)


async def replace_content(conn: Conn, ad_id: int, values: dict[str, object]) -> Ad:
    """A seller's edit: the new content, back to pending as a new revision, the decision forgotten.

    Column names come from the domain (never from input), like insert_ad's."""
    sets = ", ".join(f"{column} = ${i}" for i, column in enumerate(values, start=2))
    row = await conn.fetchrow(
        f"""UPDATE ads SET {sets}, status = 'pending', revision = revision + 1, reject_reason = NULL,
                           reject_reason_id = NULL,
                           decided_by = NULL, decided_at = NULL, decided_by_staff = NULL,
                           next_checkin_at = NULL, updated_at = now()
            WHERE id = $1 RETURNING *""",
        ad_id,
        *values.values(),
    )
    return from_row(Ad, row)


async def insert_photos(conn: Conn, ad_id: int, photos: list[tuple[str, str, str | None]]) -> None:
    await conn.executemany(
        "INSERT INTO ad_photos (ad_id, position, file_id, file_unique_id, storage_key) "
        "VALUES ($1, $2, $3, $4, $5)",
        [(ad_id, i, fid, uid, key) for i, (fid, uid, key) in enumerate(photos)],
    )


async def replace_photos(conn: Conn, ad_id: int, photos: list[tuple[str, str, str | None]]) -> None:
    await conn.execute("DELETE FROM ad_photos WHERE ad_id = $1", ad_id)
    await insert_photos(conn, ad_id, photos)


async def add_event(
    conn: Conn,
    ad_id: int,
    kind: AdEventKind,
    actor_id: int | None,
    detail: dict[str, Any] | None = None,
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


async def notify_moderation(conn: Conn, payload: dict[str, object]) -> None:
    """Tell every panel process about a queue change; PostgreSQL delivers it at commit only."""
    await conn.execute("SELECT pg_notify($1, $2::jsonb::text)", MODERATION_CHANNEL, payload)


async def decide(
    conn: Conn,
    ad_id: int,
    status: AdStatus,
    *,
    decided_by: int | None,
    staff_id: int | None,
    reason: str | None,
    reason_id: int | None = None,
) -> Ad | None:
    """The first decision wins: only a pending ad changes; None when someone decided first."""
    row = await conn.fetchrow(
        """UPDATE ads SET status = $3, decided_by = $2, decided_at = now(), reject_reason = $4,
                          decided_by_staff = $5, reject_reason_id = $6,
                          published_at = CASE WHEN $3 = 'published' THEN now() END,
                          next_checkin_at = CASE WHEN $3 = 'published' THEN now() + (
                              SELECT checkin_every FROM channels c WHERE c.id = ads.channel_id) END,
                          checkin_asks = 0, updated_at = now()
           WHERE id = $1 AND status = 'pending'
           RETURNING *""",
        ad_id,
        decided_by,
        status.value,
        reason,
        staff_id,
        reason_id,
    )
    return maybe(Ad, row)


async def edit_text(conn: Conn, ad_id: int, title: str, description: str, key: str) -> Ad | None:
    """A moderator changes a pending ad's text; None when it is no longer pending."""
    row = await conn.fetchrow(
        """UPDATE ads SET title = $2, description = $3, text_key = $4, revision = revision + 1,
                          updated_at = now()
           WHERE id = $1 AND status = 'pending' RETURNING *""",
        ad_id,
        title,
        description,
        key,
    )
    return maybe(Ad, row)


# --- reading ---------------------------------------------------------------------------------


async def get_ad(conn: Conn, ad_id: int) -> Ad | None:
    return maybe(Ad, await conn.fetchrow("SELECT * FROM ads WHERE id = $1", ad_id))


async def lock_sellers_ad(conn: Conn, ad_id: int, seller_id: int) -> Ad | None:
    """The seller's own ad, locked until the caller's transaction ends (None: not theirs)."""
    row = await conn.fetchrow(
        "SELECT * FROM ads WHERE id = $1 AND seller_id = $2 FOR UPDATE", ad_id, seller_id
    )
    return maybe(Ad, row)


async def list_photos(conn: Conn, ad_id: int) -> list[AdPhoto]:
    rows = await conn.fetch("SELECT * FROM ad_photos WHERE ad_id = $1 ORDER BY position", ad_id)
    return from_rows(AdPhoto, rows)


async def load_view(conn: Conn, ad_id: int) -> AdView | None:
    """The ad, its photos, channel, category and seller, for showing it anywhere."""
    ad = await get_ad(conn, ad_id)
    if ad is None:
        return None
    photos = await list_photos(conn, ad_id)
    channel = from_row(Channel, await conn.fetchrow("SELECT * FROM channels WHERE id = $1", ad.channel_id))
    category = maybe(Category, await conn.fetchrow("SELECT * FROM categories WHERE id = $1", ad.category_id))
    seller = from_row(User, await conn.fetchrow("SELECT * FROM users WHERE id = $1", ad.seller_id))
    reason = None
    if ad.reject_reason_id is not None:
        row = await conn.fetchrow("SELECT * FROM reject_reasons WHERE id = $1", ad.reject_reason_id)
        reason = maybe(RejectReason, row)
    changed = None
    if ad.revision > 1:  # an edited ad: what its latest edit by the seller changed
        found = await conn.fetchval(
            "SELECT detail->'changed' FROM ad_events WHERE ad_id = $1 AND kind = 'edited' "
            "AND detail ? 'changed' ORDER BY id DESC LIMIT 1",
            ad_id,
        )
        changed = json.loads(found) if isinstance(found, str) else found
    return AdView(ad, photos, channel, category, seller, reason, changed)


async def is_admin_for_ad(conn: Conn, ad_id: int, user_id: int) -> bool:
    """Whether the user moderates the channel the ad was submitted to."""
    found: bool = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM ads a JOIN channel_admins c ON c.channel_id = a.channel_id "
        "WHERE a.id = $1 AND c.user_id = $2)",
        ad_id,
        user_id,
    )
    return found


async def photos_changed_since(conn: Conn, ad_id: int, revision: int) -> bool:
    """Whether an edit after `revision` replaced the photos (then a post cannot be edited)."""
    changed: bool | None = await conn.fetchval(
        "SELECT bool_or((detail->>'photos_changed')::boolean) FROM ad_events "
        "WHERE ad_id = $1 AND kind = 'edited' AND (detail->>'revision')::int > $2",
        ad_id,
        revision,
    )
    return bool(changed)


async def seller_ads(conn: Conn, seller_id: int, *, offset: int, limit: int) -> list[SellerAd]:
    """A seller's ads, newest first (sellers have few, so an offset page is cheap)."""
    rows = await conn.fetch(
        "SELECT id, title, status, reject_reason, submitted_at FROM ads WHERE seller_id = $1 "
        "ORDER BY submitted_at DESC, id DESC OFFSET $2 LIMIT $3",
        seller_id,
        offset,
        limit,
    )
    return from_rows(SellerAd, rows)


async def channel_reason(conn: Conn, ad_id: int, reason_id: int) -> RejectReason | None:
    """A canned reason of the ad's own channel (None: no such reason there)."""
    row = await conn.fetchrow(
        """SELECT r.* FROM ads a JOIN reject_reasons r ON r.channel_id = a.channel_id AND r.id = $2
           WHERE a.id = $1""",
        ad_id,
        reason_id,
    )
    return maybe(RejectReason, row)


# --- check-ins and closing -------------------------------------------------------------------


async def claim_due_checkins(conn: Conn, now: datetime, limit: int) -> list[DueCheckin]:
    """Published ads whose seller is due a "still selling?" question, locked for this process."""
    rows = await conn.fetch(
        """SELECT a.*, c.checkin_every, c.checkin_max_asks FROM ads a
           JOIN channels c ON c.id = a.channel_id
           WHERE a.status = 'published' AND a.next_checkin_at <= $1
           ORDER BY a.next_checkin_at, a.id
           FOR UPDATE OF a SKIP LOCKED
           LIMIT $2""",
        now,
        limit,
    )
    return [DueCheckin(from_row(Ad, r), r["checkin_every"], r["checkin_max_asks"]) for r in rows]


async def set_checkin(conn: Conn, ad_id: int, *, asks: int, next_at: datetime | None) -> None:
    await conn.execute(
        "UPDATE ads SET checkin_asks = $2, next_checkin_at = $3, updated_at = now() WHERE id = $1",
        ad_id,
        asks,
        next_at,
    )


async def close_ad(
    conn: Conn,
    ad_id: int,
    status: AdStatus,
    from_statuses: tuple[AdStatus, ...],
    seller_id: int | None,
) -> Ad | None:
    """Move an ad to sold / expired / withdrawn if it is in one of `from_statuses` (and, when
    given, belongs to `seller_id`); None when it was not."""
    row = await conn.fetchrow(
        """UPDATE ads SET status = $2, next_checkin_at = NULL, updated_at = now()
           WHERE id = $1 AND status = ANY($3::text[]) AND ($4::bigint IS NULL OR seller_id = $4)
           RETURNING *""",
        ad_id,
        status.value,
        [s.value for s in from_statuses],
        seller_id,
    )
    return maybe(Ad, row)


async def renew_checkin(conn: Conn, ad_id: int, seller_id: int, now: datetime) -> Ad | None:
    """The seller still sells: reset the asks and schedule the next question."""
    row = await conn.fetchrow(
        """UPDATE ads SET checkin_asks = 0, updated_at = now(),
                          next_checkin_at = $3::timestamptz + (SELECT checkin_every FROM channels c
                                                  WHERE c.id = ads.channel_id)
           WHERE id = $1 AND seller_id = $2 AND status = 'published'
           RETURNING *""",
        ad_id,
        seller_id,
        now,
    )
    return maybe(Ad, row)


# --- the messages sent about an ad -----------------------------------------------------------


async def add_message(
    conn: Conn, ad_id: int, kind: MessageKind, chat_id: int, outbox_id: int, revision: int
) -> None:
    await conn.execute(
        "INSERT INTO ad_messages (ad_id, kind, chat_id, outbox_id, revision) VALUES ($1, $2, $3, $4, $5)",
        ad_id,
        kind.value,
        chat_id,
        outbox_id,
        revision,
    )


async def live_messages(conn: Conn, ad_id: int, kind: MessageKind) -> list[AdMessage]:
    """The ad's messages of a kind that are still up (not deleted by us)."""
    rows = await conn.fetch(LIVE_MESSAGES, ad_id, kind.value)
    return from_rows(AdMessage, rows)


# Up: its send did not fail, and it was never deleted or its deletion was called off (a re-post's
# new copy that failed leaves the old copy up: app.domain.outbox's after_sent).
LIVE_MESSAGES = """
SELECT m.* FROM ad_messages m
WHERE m.ad_id = $1 AND m.kind = $2
  AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.id = m.outbox_id AND o.status = 'failed')
  AND (m.removed_at IS NULL
       OR EXISTS (SELECT 1 FROM outbox d WHERE d.id = m.removal_outbox_id AND d.status = 'failed'))
ORDER BY m.id
"""


async def mark_messages_removed(
    conn: Conn, message_row_ids: list[int], removal_outbox_ids: list[int] | None = None
) -> None:
    """Removed, by the deletion rows given in the same order (None: no deletion row)."""
    removals: list[int | None] = (
        list(removal_outbox_ids) if removal_outbox_ids is not None else [None] * len(message_row_ids)
    )
    await conn.execute(
        "UPDATE ad_messages m SET removed_at = now(), removal_outbox_id = r.removal "
        "FROM unnest($1::bigint[], $2::bigint[]) AS r(id, removal) WHERE m.id = r.id",
        message_row_ids,
        removals,
    )
