"""Re-posts (M6): which ad goes up next, when a slot is due, and quiet hours."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.db import Conn
from app.db.queries import schedule as q
from app.db.queries.channels import Channel

WINDOW = 50  # the least recently shown ads among which the draw is made


def in_quiet_hours(now: datetime, timezone: str, quiet_from: time | None, quiet_to: time | None) -> bool:
    """Whether `now` falls in the channel's quiet hours (which may cross midnight)."""
    if quiet_from is None or quiet_to is None:
        return False
    local = now.astimezone(ZoneInfo(timezone)).time()
    if quiet_from < quiet_to:
        return quiet_from <= local < quiet_to
    return local >= quiet_from or local < quiet_to


def quiet_ends_at(now: datetime, timezone: str, quiet_to: time) -> datetime:
    """The next moment the quiet hours end, as an aware datetime."""
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    end = local.replace(hour=quiet_to.hour, minute=quiet_to.minute, second=0, microsecond=0)
    if end <= local:
        end += timedelta(days=1)
    return end


def weighted_pick(
    candidates: Sequence[tuple[int, datetime | None]], now: datetime, rng: random.Random
) -> int | None:
    """Draw an ad id, weighting each by how long since it was last shown.

    Never-shown ads weigh twice the oldest shown one, so new ads come up soon; the least
    recently shown always has the largest weight, so no ad starves.
    """
    if not candidates:
        return None
    ages = [(now - shown).total_seconds() if shown else None for _, shown in candidates]
    oldest = max((a for a in ages if a is not None), default=1.0)
    weights = [max(a, 1.0) if a is not None else 2 * max(oldest, 1.0) for a in ages]
    return rng.choices([ad_id for ad_id, _ in candidates], weights=weights)[0]


async def pick_repost(
    conn: Conn, channel_id: int, *, exclude: int | None, now: datetime, rng: random.Random
) -> int | None:
    """One unsold published ad of the channel, never `exclude` (the one just shown)."""
    candidates = await q.least_recently_shown(conn, channel_id, exclude, WINDOW)
    if not candidates and exclude is not None:
        # A channel with a single live ad: showing it again beats showing nothing.
        candidates = await q.least_recently_shown(conn, channel_id, None, WINDOW)
    return weighted_pick(candidates, now, rng)


def next_slot(now: datetime, channel: Channel) -> datetime:
    """When the following re-post is due: one interval on, or the end of quiet hours."""
    slot = now + channel.repost_every
    if channel.quiet_to is not None and in_quiet_hours(
        slot, channel.timezone, channel.quiet_from, channel.quiet_to
    ):
        return quiet_ends_at(slot, channel.timezone, channel.quiet_to)
    return slot


async def repost_due(conn: Conn, now: datetime, rng: random.Random) -> list[tuple[int, int]]:
    """Fill every due slot once, in the caller's transaction; returns (channel, ad) chosen.

    The slot is closed in the same transaction that chooses the ad, so a restart inside a
    slot finds it closed and posts nothing twice.
    """
    chosen = []
    for slot in await q.claim_due_channels(conn, now):
        channel = slot.channel
        if channel.quiet_to is not None and in_quiet_hours(
            now, channel.timezone, channel.quiet_from, channel.quiet_to
        ):
            ends = quiet_ends_at(now, channel.timezone, channel.quiet_to)
            await q.record_repost(conn, channel.id, None, now, ends)
            continue
        ad_id = await pick_repost(conn, channel.id, exclude=slot.last_repost_ad, now=now, rng=rng)
        await q.record_repost(conn, channel.id, ad_id, now, next_slot(now, channel))
        if ad_id is not None:
            chosen.append((channel.id, ad_id))
    return chosen
