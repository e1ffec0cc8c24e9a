"""Check-ins: the seller is asked on schedule; no answer after N asks expires the ad."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from app.domain import channels
from app.domain.checkins import due_checkins, mark_sold, still_selling, withdraw
from app.domain.moderation import decide
from tests.helpers.ads import add_ads

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


async def published_ad(db: asyncpg.Connection, **settings) -> int:
    channel = await channels.create_channel(db, title="Bozor", chat_ref="@bozor_chk")
    await channels.update_settings(db, channel["id"], **settings)
    [ad_id] = await add_ads(db, channel["id"], 1, status="pending")
    await db.execute("INSERT INTO users (id, first_name) VALUES (2, 'Admin')")
    await channels.add_admin(db, channel["id"], 2)
    assert (await decide(db, ad_id, 2, approve=True)).won
    await db.execute("UPDATE ads SET next_checkin_at = $2 WHERE id = $1", ad_id, START + timedelta(days=3))
    return ad_id


async def test_unanswered_asks_expire_the_ad_after_the_channels_limit(db: asyncpg.Connection) -> None:
    ad_id = await published_ad(db, checkin_days=3, checkin_max_asks=2)
    assert await due_checkins(db, START + timedelta(days=2)) == []  # not due yet
    first = await due_checkins(db, START + timedelta(days=3))
    assert [(s.ad["id"], s.expired, s.ask_number) for s in first] == [(ad_id, False, 1)]
    assert await due_checkins(db, START + timedelta(days=3, hours=1)) == []  # asked once a slot
    second = await due_checkins(db, START + timedelta(days=6))
    assert [(s.expired, s.ask_number) for s in second] == [(False, 2)]
    third = await due_checkins(db, START + timedelta(days=9))
    assert [(s.expired, s.ad["status"]) for s in third] == [(True, "expired")]
    assert await due_checkins(db, START + timedelta(days=30)) == []


async def test_still_selling_resets_the_asks_and_sold_stops_everything(db: asyncpg.Connection) -> None:
    ad_id = await published_ad(db, checkin_days=3, checkin_max_asks=1)
    await due_checkins(db, START + timedelta(days=3))
    answered = await still_selling(db, ad_id, 1, START + timedelta(days=3, hours=2))
    assert answered["checkin_asks"] == 0
    assert answered["next_checkin_at"] == START + timedelta(days=6, hours=2)
    assert await mark_sold(db, ad_id, seller_id=999) is None  # not their ad
    sold = await mark_sold(db, ad_id, seller_id=1)
    assert sold["status"] == "sold" and sold["next_checkin_at"] is None
    assert await due_checkins(db, START + timedelta(days=60)) == []
    assert await withdraw(db, ad_id, 1) is None  # a sold ad stays sold
    kinds = [
        r["kind"] for r in await db.fetch("SELECT kind FROM ad_events WHERE ad_id = $1 ORDER BY id", ad_id)
    ]
    assert kinds == ["approved", "checkin_asked", "still_selling", "sold"]
