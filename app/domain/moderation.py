"""Submitting an ad and deciding on it (M3, M4, M9): one code path for the bot and the panel."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from app.db.queries import ads as q
from app.db.queries import channels as channel_q
from app.domain.ads import MAX_PHOTOS, AdError, Draft, premoderate, text_key
from app.domain.users import resolve_language
from app.i18n import N_


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of an admin's click: whether it won, and the ad as it now stands."""

    won: bool
    ad: asyncpg.Record
    decided_by: int | None


def check_complete(draft: Draft) -> None:
    """Everything the wizard asks for is there (the panel's editor calls this too)."""
    missing = [name for name, value in (
        ("title", draft.title), ("description", draft.description), ("price", draft.price),
        ("district", draft.district), ("contact", draft.contact), ("photos", draft.photos),
    ) if not value]
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
        conn, channel_id=channel["id"], seller_id=seller_id, key=key,
        photo_ids=[p.file_unique_id for p in draft.photos],
        banned=await channel_q.list_banned_words(conn, channel["id"]),
        ads_per_day=channel["ads_per_day"])
    price = draft.price
    ad = await q.insert_ad(conn, {
        "seller_id": seller_id, "channel_id": channel["id"], "category_id": draft.category_id,
        "title": draft.title, "description": draft.description,
        "price": price.amount, "currency": price.currency, "negotiable": price.negotiable,
        "district": draft.district, "contact": draft.contact, "flags": flags, "text_key": key,
    })
    await q.insert_photos(conn, ad["id"], [(p.file_id, p.file_unique_id, p.storage_key)
                                           for p in draft.photos])
    await q.add_event(conn, ad["id"], "submitted", seller_id, {"flags": flags})
    return ad


async def decide(conn: asyncpg.Connection, ad_id: int, admin_id: int, *, approve: bool,
                 reason: str | None = None) -> Decision:
    """Approve or reject a pending ad; a late click learns who decided first."""
    if not approve and not (reason or "").strip():
        raise AdError(N_("Please give a reason for the rejection."))
    if not await q.is_admin_for_ad(conn, ad_id, admin_id):
        raise AdError(N_("Only the channel's admins can decide on its ads."))
    status = "published" if approve else "rejected"
    ad = await q.decide(conn, ad_id, admin_id, status, None if approve else reason.strip())
    if ad is None:
        current = await q.get_ad(conn, ad_id)
        if current is None:
            raise AdError(N_("This ad no longer exists."))
        return Decision(False, current, current["decided_by"])
    await q.add_event(conn, ad_id, "approved" if approve else "rejected", admin_id,
                      {} if approve else {"reason": ad["reject_reason"]})
    return Decision(True, ad, admin_id)



async def canned_reason(conn: asyncpg.Connection, ad_id: int, reason_id: int,
                        default_language: str) -> str | None:
    """A canned rejection reason, in the language of the seller who will read it.

    None when the reason does not belong to the ad's channel (or no longer exists).
    """
    row = await q.reason_for_ad(conn, ad_id, reason_id)
    if row is None:
        return None
    language = resolve_language(row["language"], row["language_code"], default_language)
    return row[f"text_{language}"]
