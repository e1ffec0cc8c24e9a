"""Re-posts: fair over many slots, never the same ad twice in a row, never a sold one."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, time, timedelta
from itertools import pairwise

import asyncpg

from app.domain.ads.schedule import in_quiet_hours, repost_due, weighted_pick
from tests.helpers.ads import add_ads, named_channel

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # 14:00 in Tashkent


async def test_a_thousand_slots_show_every_ad_fairly_and_never_back_to_back(db: asyncpg.Connection) -> None:
    channel_id = await named_channel(db, "bozor_fair")
    live = await add_ads(db, channel_id, 40)
    sold = await add_ads(db, channel_id, 5, status="sold")
    rng, shown, now = random.Random(7), [], START
    for _ in range(1000):
        for _channel, ad_id in await repost_due(db, now, rng):
            shown.append(ad_id)
        now += timedelta(minutes=30)
    assert len(shown) == 1000  # one ad per slot
    counts = Counter(shown)
    assert set(counts) == set(live) and not set(sold) & set(counts)
    assert all(a != b for a, b in pairwise(shown))
    assert max(counts.values()) - min(counts.values()) <= 10  # 25 each on average


async def test_a_slot_is_filled_once_even_when_ticked_twice(db: asyncpg.Connection) -> None:
    channel_id = await named_channel(db, "bozor_once")
    await add_ads(db, channel_id, 3)
    rng = random.Random(1)
    assert len(await repost_due(db, START, rng)) == 1
    assert await repost_due(db, START + timedelta(minutes=5), rng) == []  # a restart mid-slot
    assert len(await repost_due(db, START + timedelta(minutes=30), rng)) == 1


async def test_quiet_hours_skip_to_their_end(db: asyncpg.Connection) -> None:
    channel_id = await named_channel(db, "bozor_night", quiet_hours="23:00-07:00")
    await add_ads(db, channel_id, 3)
    night = datetime(2026, 11, 2, 20, 0, tzinfo=UTC)  # 01:00 in Tashkent
    assert await repost_due(db, night, random.Random(1)) == []
    next_at = await db.fetchval("SELECT next_repost_at FROM channels WHERE id = $1", channel_id)
    assert next_at == datetime(2026, 11, 3, 2, 0, tzinfo=UTC)  # 07:00 in Tashkent


def test_quiet_hours_across_midnight() -> None:
    quiet = (time(23, 0), time(7, 0))
    assert in_quiet_hours(datetime(2026, 1, 1, 19, 0, tzinfo=UTC), "Asia/Tashkent", *quiet)
    assert not in_quiet_hours(datetime(2026, 1, 1, 9, 0, tzinfo=UTC), "Asia/Tashkent", *quiet)
    assert not in_quiet_hours(datetime(2026, 1, 1, 19, 0, tzinfo=UTC), "Asia/Tashkent", None, None)


def test_the_longest_unseen_ad_is_the_likeliest() -> None:
    now = START
    candidates = [(1, now - timedelta(hours=10)), (2, now - timedelta(hours=1)), (3, None)]
    rng = random.Random(3)
    picks = Counter(weighted_pick(candidates, now, rng) for _ in range(3000))
    assert picks[3] > picks[1] > picks[2] > 0
