"""Nothing lost: a failed re-post keeps the live post, media survive a storage switch, updates
are acknowledged only once journaled, and Bozor outlives its database and a bad token."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from app.db.queries.ads import MessageKind, live_messages
from app.domain.ads import run_reposts
from tests.helpers.market import fill_wizard
from tests.helpers.polling import outbox_settled


async def _messages(channel) -> dict[int, dict]:
    return {m["message_id"]: m for m in await channel.messages()}


async def test_a_repost_whose_new_copy_failed_leaves_the_live_post_in_the_channel(bozor, market) -> None:
    seller, olga, channel = market["seller"], market["olga"], market["channel"]
    await fill_wizard(seller)
    await olga.wait_for_bot("Новое объявление #1", timeout=10)
    await olga.press("✅ Одобрить")
    post = await channel.wait_for_post("Velosiped Stels", timeout=10)
    async with bozor.pool.acquire() as conn:
        keys = [r["storage_key"] for r in await conn.fetch("SELECT storage_key FROM ad_photos")]
    for key in keys:  # e.g. media moved to another storage: the re-post cannot upload them
        await bozor.storage.delete(key)

    msgs = bozor.dispatcher.workflow_data["ad_messages"]
    async with bozor.pool.acquire() as conn, conn.transaction():
        assert await run_reposts(conn, datetime.now(UTC), random.Random(1), msgs) == 1
    await outbox_settled(bozor.pool)
    async with bozor.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT method, status, error FROM outbox WHERE method <> 'sendMessage' "
            "AND method <> 'editMessageText' ORDER BY id"
        )
    new_copy, deletion = rows[-2], rows[-1]
    assert new_copy["status"] == "failed" and "no such file" in new_copy["error"]
    assert deletion["method"] == "deleteMessages" and deletion["status"] == "failed"
    assert "not called" in deletion["error"]
    assert not (await _messages(channel))[post["message_id"]].get("deleted"), "the live post stays"

    # The old copy is still the ad's (a later "sold" or re-post finds it).
    async with bozor.pool.acquire() as conn:
        [still] = await live_messages(conn, 1, MessageKind.POST)
        first = await conn.fetchval("SELECT min(id) FROM outbox WHERE chat_id = $1", channel.id)
    assert still.outbox_id == first
