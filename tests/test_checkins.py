"""Check-ins: the seller is asked on schedule; no answer after N asks expires the ad."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from app.domain import ads, channels
from app.domain.actors import TelegramUser
from tests.helpers.ads import MSGS, UZ, add_ads, connect

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
SELLER = 1  # add_ads's seller


async def published_ad(db: asyncpg.Connection, **settings) -> int:
    channel = await channels.create_channel(db, title="Bozor", chat_ref="@bozor_chk")
    await connect(db, channel.id, -1001000000002)
    await channels.update_settings(db, channel.id, **settings)
    [ad_id] = await add_ads(db, channel.id, 1, status="pending")
    await db.execute(
        "INSERT INTO ad_photos (ad_id, position, file_id, file_unique_id) VALUES ($1, 0, 'f', 'u')", ad_id
    )
    await db.execute("INSERT INTO users (id, first_name) VALUES (2, 'Admin')")
    await channels.add_admin(db, channel.id, 2)
    decision = await ads.decide(db, ad_id, TelegramUser(2), approve=True, msgs=MSGS, languages=UZ)
    assert decision.won
    await db.execute("UPDATE ads SET next_checkin_at = $2 WHERE id = $1", ad_id, START + timedelta(days=3))
    return ad_id


async def checkins(db: asyncpg.Connection, at: datetime) -> int:
    return await ads.run_checkins(db, at, MSGS, UZ)


async def state(db: asyncpg.Connection, ad_id: int) -> tuple[str, int]:
    row = await db.fetchrow("SELECT status, checkin_asks FROM ads WHERE id = $1", ad_id)
    return row["status"], row["checkin_asks"]


async def questions(db: asyncpg.Connection) -> int:
    """The "still selling?" questions queued for the seller."""
    return await db.fetchval(
        "SELECT count(*) FROM outbox WHERE chat_id = $1 AND params::text LIKE '%chk:sold:%'", SELLER
    )


async def test_unanswered_asks_expire_the_ad_after_the_channels_limit(db: asyncpg.Connection) -> None:
    ad_id = await published_ad(db, checkin_days=3, checkin_max_asks=2)
    assert await checkins(db, START + timedelta(days=2)) == 0  # not due yet
    assert await checkins(db, START + timedelta(days=3)) == 1
    assert await state(db, ad_id) == ("published", 1) and await questions(db) == 1
    assert await checkins(db, START + timedelta(days=3, hours=1)) == 0  # asked once a slot
    assert await checkins(db, START + timedelta(days=6)) == 1
    assert await state(db, ad_id) == ("published", 2) and await questions(db) == 2
    assert await checkins(db, START + timedelta(days=9)) == 1
    assert await state(db, ad_id) == ("expired", 2) and await questions(db) == 2
    caption = await db.fetchval("SELECT params->>'caption' FROM outbox WHERE method = 'editMessageCaption'")
    assert caption.startswith("⌛")  # the channel's post says it is no longer current
    assert await checkins(db, START + timedelta(days=30)) == 0


async def test_still_selling_resets_the_asks_and_sold_stops_everything(db: asyncpg.Connection) -> None:
    ad_id = await published_ad(db, checkin_days=3, checkin_max_asks=1)
    await checkins(db, START + timedelta(days=3))
    assert await ads.still_selling(db, ad_id, SELLER, START + timedelta(days=3, hours=2))
    answered = await db.fetchrow("SELECT checkin_asks, next_checkin_at FROM ads WHERE id = $1", ad_id)
    assert answered["checkin_asks"] == 0
    assert answered["next_checkin_at"] == START + timedelta(days=6, hours=2)
    assert not await ads.mark_sold(db, ad_id, 999, MSGS)  # not their ad
    assert await ads.mark_sold(db, ad_id, SELLER, MSGS)
    sold = await db.fetchrow("SELECT status, next_checkin_at FROM ads WHERE id = $1", ad_id)
    assert sold["status"] == "sold" and sold["next_checkin_at"] is None
    assert await checkins(db, START + timedelta(days=60)) == 0
    assert not await ads.withdraw(db, ad_id, SELLER)  # a sold ad stays sold
    kinds = [
        r["kind"] for r in await db.fetch("SELECT kind FROM ad_events WHERE ad_id = $1 ORDER BY id", ad_id)
    ]
    assert kinds == ["approved", "checkin_asked", "still_selling", "sold"]
