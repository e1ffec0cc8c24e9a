"""Nothing lost: a failed re-post keeps the live post, media survive a storage switch, updates
are acknowledged only once journaled, and Bozor outlives its database and a bad token."""

from __future__ import annotations

import dataclasses
import random
import uuid
from datetime import UTC, datetime

import aiohttp

from app.db.queries.ads import MessageKind, live_messages
from app.domain.ads import run_reposts
from app.main import Bozor
from tests.helpers.market import fill_wizard, open_market
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


async def test_switching_media_to_s3_keeps_the_photos_already_on_disk_readable(
    bot_config, sandbox, s3_endpoint: str
) -> None:
    on_disk = Bozor(bot_config)
    await on_disk.start()
    try:
        market = await open_market(on_disk, sandbox)
        await fill_wizard(market["seller"])
        await market["olga"].wait_for_bot("Новое объявление #1", timeout=10)
        await market["olga"].press("✅ Одобрить")
        first = await market["channel"].wait_for_post("Velosiped Stels", timeout=10)
        async with on_disk.pool.acquire() as conn:
            keys = [r["storage_key"] for r in await conn.fetch("SELECT storage_key FROM ad_photos")]
    finally:
        await on_disk.stop()

    config = dataclasses.replace(
        bot_config,
        s3_bucket=f"bozor-{uuid.uuid4().hex[:16]}",
        s3_endpoint_url=s3_endpoint,
        s3_access_key="testing",
        s3_secret_key="testing",
        s3_region="us-east-1",
    )
    with_s3 = Bozor(config)
    await with_s3.start()
    try:
        async with aiohttp.ClientSession(config.base_url) as web:
            for key in keys:
                async with web.get(f"/media/{key}") as answer:
                    assert answer.status == 200 and answer.content_type == "image/jpeg"
        msgs = with_s3.dispatcher.workflow_data["ad_messages"]
        async with with_s3.pool.acquire() as conn, conn.transaction():
            assert await run_reposts(conn, datetime.now(UTC), random.Random(1), msgs) == 1
        await outbox_settled(with_s3.pool)
        async with with_s3.pool.acquire() as conn:
            failed = await conn.fetchval("SELECT count(*) FROM outbox WHERE status = 'failed'")
        messages = await _messages(market["channel"])
        reposted = [
            m for i, m in messages.items() if i > first["message_id"] and "Velosiped" in m.get("caption", "")
        ]
        assert failed == 0 and len(reposted) == 1 and messages[first["message_id"]].get("deleted")
    finally:
        await with_s3.stop()
