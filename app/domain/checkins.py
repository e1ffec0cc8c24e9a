"""Check-ins and the seller's own closing of an ad (M7, M8): sold, still selling, withdrawn."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from app.db.queries import ads as q

CLAIM_BATCH = 100


@dataclass(frozen=True, slots=True)
class CheckinStep:
    """What a due check-in turned into: a question to the seller, or the ad's expiry."""

    ad: asyncpg.Record
    expired: bool
    ask_number: int


async def due_checkins(conn: asyncpg.Connection, now: datetime) -> list[CheckinStep]:
    """Ask about each due ad, or expire it after the channel's number of unanswered asks.

    Runs in the caller's transaction; the rows stay locked until it commits, so two
    processes never ask twice.
    """
    steps = []
    for ad in await q.claim_due_checkins(conn, now, CLAIM_BATCH):
        if ad["checkin_asks"] >= ad["checkin_max_asks"]:
            closed = await q.close_ad(conn, ad["id"], "expired", ["published"], None)
            await q.add_event(conn, ad["id"], "expired", None, {"asks": ad["checkin_asks"]})
            steps.append(CheckinStep(closed, True, ad["checkin_asks"]))
            continue
        asks = ad["checkin_asks"] + 1
        await q.set_checkin(conn, ad["id"], asks=asks, next_at=now + ad["checkin_every"])
        await q.add_event(conn, ad["id"], "checkin_asked", None, {"ask": asks})
        steps.append(CheckinStep(ad, False, asks))
    return steps


async def still_selling(
    conn: asyncpg.Connection, ad_id: int, seller_id: int, now: datetime
) -> asyncpg.Record | None:
    ad = await q.renew_checkin(conn, ad_id, seller_id, now)
    if ad is not None:
        await q.add_event(conn, ad_id, "still_selling", seller_id)
    return ad


async def mark_sold(conn: asyncpg.Connection, ad_id: int, seller_id: int) -> asyncpg.Record | None:
    """Sold: never shown again; the caller edits its channel posts to say so."""
    ad = await q.close_ad(conn, ad_id, "sold", ["published", "pending"], seller_id)
    if ad is not None:
        await q.add_event(conn, ad_id, "sold", seller_id)
    return ad


async def withdraw(conn: asyncpg.Connection, ad_id: int, seller_id: int) -> asyncpg.Record | None:
    """Withdrawn by its seller: the caller deletes its channel posts."""
    ad = await q.close_ad(conn, ad_id, "withdrawn", ["published", "pending"], seller_id)
    if ad is not None:
        await q.add_event(conn, ad_id, "withdrawn", seller_id)
    return ad
