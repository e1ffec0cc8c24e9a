"""Submitting an ad and deciding on it (M3, M4, M9): one code path for the bot and the panel."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from app.db.queries import ads as q
from app.db.queries import channels as channel_q
from app.domain import staff as staff_domain
from app.domain.ads import MAX_PHOTOS, AdError, Draft, premoderate, text_key
from app.domain.staff import Staff
from app.domain.users import Languages
from app.i18n import N_


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of an admin's click: whether it won, and the ad as it now stands."""

    won: bool
    ad: asyncpg.Record
    decided_by: int | None


def check_complete(draft: Draft) -> None:
    """Everything the wizard asks for is there (the panel's editor calls this too)."""
    missing = [
        name
        for name, value in (
            ("title", draft.title),
            ("description", draft.description),
            ("price", draft.price),
            ("district", draft.district),
            ("contact", draft.contact),
            ("photos", draft.photos),
        )
        if not value
    ]
    if missing:
        raise AdError(N_("The ad is not complete yet: {missing}."), missing=", ".join(missing))
    if len(draft.photos) > MAX_PHOTOS:
        raise AdError(N_("An ad has at most {limit} photos."), limit=MAX_PHOTOS)


async def submit(conn: asyncpg.Connection, draft: Draft, seller_id: int) -> asyncpg.Record:
    """Save the ad as pending with its pre-moderation flags, in the caller's transaction."""
    check_complete(draft)
    channel = await channel_q.get_channel(conn, draft.channel_id)
    if channel is None or not channel["active"]:
        raise AdError(N_("This channel does not take ads any more. Please choose another one."))
    key = text_key(draft.title, draft.description)
    flags = await premoderate(
        conn,
        channel_id=channel["id"],
        seller_id=seller_id,
        key=key,
        photo_ids=[p.file_unique_id for p in draft.photos],
        banned=await channel_q.list_banned_words(conn, channel["id"]),
        ads_per_day=channel["ads_per_day"],
    )
    price = draft.price
    ad = await q.insert_ad(
        conn,
        {
            "seller_id": seller_id,
            "channel_id": channel["id"],
            "category_id": draft.category_id,
            "title": draft.title,
            "description": draft.description,
            "price": price.amount,
            "currency": price.currency,
            "negotiable": price.negotiable,
            "district": draft.district,
            "contact": draft.contact,
            "flags": flags,
            "text_key": key,
        },
    )
    await q.insert_photos(
        conn, ad["id"], [(p.file_id, p.file_unique_id, p.storage_key) for p in draft.photos]
    )
    await q.add_event(conn, ad["id"], "submitted", seller_id, {"flags": flags})
    await q.notify_moderation(conn, {"event": "submitted", "ad_id": ad["id"], "channel_id": channel["id"]})
    return ad


async def may_decide(conn: asyncpg.Connection, ad_id: int, admin_id: int | None, staff: Staff | None) -> bool:
    """A channel admin in the bot, or staff in the panel who moderates the ad's channel."""
    if staff is None:
        return admin_id is not None and await q.is_admin_for_ad(conn, ad_id, admin_id)
    ad = await q.get_ad(conn, ad_id)
    return ad is not None and await staff_domain.can_moderate(conn, staff, ad["channel_id"])


async def decide(
    conn: asyncpg.Connection,
    ad_id: int,
    admin_id: int | None,
    *,
    approve: bool,
    reason: str | None = None,
    staff: Staff | None = None,
) -> Decision:
    """Approve or reject a pending ad; a late click learns who decided first.

    From the bot, `admin_id` is the clicking Telegram user; from the panel, `staff` decides
    (and `admin_id` is the Telegram account linked to them, if any).
    """
    if not approve and not (reason or "").strip():
        raise AdError(N_("Please give a reason for the rejection."))
    if not await may_decide(conn, ad_id, admin_id, staff):
        raise AdError(N_("Only the channel's admins can decide on its ads."))
    status = "published" if approve else "rejected"
    staff_id = staff.id if staff is not None else None
    ad = await q.decide(conn, ad_id, admin_id, status, None if approve else reason.strip(), staff_id)
    if ad is None:
        current = await q.get_ad(conn, ad_id)
        if current is None:
            raise AdError(N_("This ad no longer exists."))
        return Decision(False, current, current["decided_by"])
    await q.add_event(
        conn,
        ad_id,
        "approved" if approve else "rejected",
        admin_id,
        {} if approve else {"reason": ad["reject_reason"]},
        staff_id=staff_id,
    )
    await q.notify_moderation(
        conn,
        {"event": status, "ad_id": ad_id, "channel_id": ad["channel_id"], "by": await decider_name(conn, ad)},
    )
    return Decision(True, ad, admin_id)


async def decider_name(conn: asyncpg.Connection, ad: asyncpg.Record) -> str:
    """Who decided on an ad, as admins see it: the staff member's name, or the @username."""
    if ad["decided_by_staff"] is not None:
        staff = await staff_domain.get_staff(conn, ad["decided_by_staff"])
        if staff is not None:
            return staff.name
    user = (
        await conn.fetchrow("SELECT username, first_name FROM users WHERE id = $1", ad["decided_by"])
        if ad["decided_by"] is not None
        else None
    )
    if user is None:
        return str(ad["decided_by"] or "?")
    return f"@{user['username']}" if user["username"] else user["first_name"]


async def canned_reason(
    conn: asyncpg.Connection, ad_id: int, reason_id: int, languages: Languages
) -> str | None:
    """A canned rejection reason, in the language of the seller who will read it.

    None when the reason does not belong to the ad's channel (or no longer exists).
    """
    row = await q.reason_for_ad(conn, ad_id, reason_id)
    if row is None:
        return None
    language = languages.speak(row["language"], row["language_code"])
    return row[f"text_{language}"]


async def edit_pending(
    conn: asyncpg.Connection, ad_id: int, staff: Staff, *, title: str, description: str
) -> asyncpg.Record:
    """A moderator fixes a pending ad's text before approving it (same rules as the wizard)."""
    # Imported here so that this function stays one self-contained addition to the module.
    from app.db.queries import moderation_queue as queue_q
    from app.domain.ads import parse_description, parse_title

    before = await q.get_ad(conn, ad_id)
    if before is None:
        raise AdError(N_("This ad no longer exists."))
    if not await staff_domain.can_moderate(conn, staff, before["channel_id"]):
        raise AdError(N_("Only the channel's admins can decide on its ads."))
    clean_title = parse_title(title)
    # The caption's link is at most this long; English texts are the longest fixed parts.
    clean_description = parse_description(
        description, clean_title, lambda s: s, "https://t.me/" + "x" * 32 + "?start=ad_" + "9" * 12
    )
    ad = await queue_q.edit_text(
        conn, ad_id, clean_title, clean_description, text_key(clean_title, clean_description)
    )
    if ad is None:
        raise AdError(N_("This ad has already been decided; its text can no longer be changed."))
    change = {"title": clean_title, "description": clean_description}
    await q.add_event(conn, ad_id, "edited", None, {"revision": ad["revision"], **change}, staff_id=staff.id)
    await staff_domain.audit(
        conn,
        staff.id,
        "ad.edit",
        f"ad:{ad_id}",
        {"title": before["title"], "description": before["description"]},
        change,
    )
    return ad
