"""A seller edits a published ad, and a seller who blocked the bot: end to end with the sandbox."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from app.domain.ads import run_reposts
from tests.helpers.images import png
from tests.helpers.market import fill_wizard
from tests.helpers.polling import eventually, outbox_settled


async def _approve_and_see_post(world: dict, title: str) -> dict:
    await world["olga"].wait_for_bot("Новое объявление #1", timeout=10)
    await world["olga"].press("✅ Одобрить")
    return await world["channel"].wait_for_post(title, timeout=10)


async def test_an_edited_ad_goes_back_to_moderation_and_its_post_is_updated(bozor, market, sandbox) -> None:
    await sandbox.limits(private_per_second=50, private_burst=50)
    seller, olga, channel = market["seller"], market["olga"], market["channel"]
    await fill_wizard(seller)
    post = await _approve_and_see_post(market, "Velosiped Stels")
    await seller.wait_for_bot("chop etildi", timeout=10)

    await _open_edit(seller)
    await seller.press(callback_data="ad:edit:0:title")
    await seller.wait_for_bot("sarlavhasini")
    await seller.send("Velosiped Carrera")
    await seller.wait_for_bot("Tekshiruvga yuborasizmi", timeout=10)
    await seller.press(callback_data="ad:submit:0:")
    await seller.wait_for_bot("#1")

    # The admins are asked again; meanwhile the ad waits and nothing re-posts it.
    note = await olga.wait_for_bot(lambda m: "Velosiped Carrera" in m.get("text", ""), timeout=10)
    # An edit, said as one, with what changed, in the admin's language.
    assert note["text"].startswith("✏️ Изменённое объявление #1") and "✅ Одобрить" in str(note)
    assert note["text"].splitlines()[1] == "Изменено: заголовок"
    async with bozor.pool.acquire() as conn:
        ad = await conn.fetchrow("SELECT status, revision FROM ads WHERE id = 1")
    assert (ad["status"], ad["revision"]) == ("pending", 2)
    msgs = bozor.dispatcher.workflow_data["ad_messages"]
    async with bozor.pool.acquire() as conn, conn.transaction():
        later = datetime.now(UTC) + timedelta(hours=5)
        assert await run_reposts(conn, later, random.Random(1), msgs) == 0
    old = {m["message_id"]: m for m in await channel.posts()}[post["message_id"]]
    assert "Velosiped Stels" in old["caption"]

    await olga.press("✅ Одобрить", message_id=note["message_id"])
    updated = await channel.wait_for_post(lambda m: "Velosiped Carrera" in m.get("caption", ""), timeout=10)
    assert updated["message_id"] == post["message_id"]  # edited in place, not a new copy
    assert len([m for m in await channel.posts() if m.get("caption")]) == 1
    await seller.wait_for_bot("Velosiped Carrera", timeout=10)


async def _open_edit(seller, title: str = "Velosiped Stels") -> None:
    """From My ads, open ad #1 and press Edit: the confirmation with its field buttons."""
    await seller.press("📋 E'lonlarim")
    await seller.wait_for_bot("E'lonlaringiz")
    await seller.press(callback_data="my:card:1:0")
    await seller.wait_for_bot(f"#1 {title}")
    await seller.press(callback_data="my:edit:1:0")
    await seller.wait_for_bot("Tekshiruvga yuborasizmi", timeout=10)


async def test_an_edit_with_new_photos_replaces_the_album_in_the_channel(bozor, market, sandbox) -> None:
    await sandbox.limits(private_per_second=50, private_burst=50)
    seller, olga, channel = market["seller"], market["olga"], market["channel"]
    await fill_wizard(seller)
    post = await _approve_and_see_post(market, "Velosiped Stels")
    old_album = {
        m["message_id"] for m in await channel.posts() if m.get("media_group_id") == post["media_group_id"]
    }
    assert len(old_album) == 2
    await seller.wait_for_bot("chop etildi", timeout=10)

    await _open_edit(seller)
    await seller.press(callback_data="ad:edit:0:photos")
    await seller.wait_for_bot("rasm yuboring")
    await seller.send_photo(png(rgb=(0, 0, 200)))
    await seller.wait_for_bot("1-rasm qo'shildi")
    await seller.press("✅ Rasmlar tayyor")
    await seller.wait_for_bot("Tekshiruvga yuborasizmi", timeout=10)
    last = (await olga.last_bot_message())["message_id"]
    await seller.press(callback_data="ad:submit:0:")
    note = await olga.wait_for_bot(
        lambda m: (
            m.get("text", "").startswith("✏️ Изменённое объявление #1")
            and "Изменено: фото" in m["text"]
            and "Одобрить" in str(m)
            and m["message_id"] > last
        ),
        timeout=10,
    )
    await olga.press("✅ Одобрить", message_id=note["message_id"])

    # An album cannot change its photos in place: the old one goes, one new photo comes.
    new = await channel.wait_for_post(
        lambda m: "Velosiped Stels" in m.get("caption", "") and m["message_id"] not in old_album, timeout=10
    )

    async def old_album_gone() -> bool:
        return not {m["message_id"] for m in await channel.posts()} & old_album

    await eventually(old_album_gone, what="the old album deleted from the channel")
    assert new.get("media_group_id") is None and new.get("photo")
    assert [m["message_id"] for m in await channel.posts() if m.get("caption")] == [new["message_id"]]


async def test_a_rejected_edit_takes_the_post_out_of_the_channel(bozor, market, sandbox) -> None:
    await sandbox.limits(private_per_second=50, private_burst=50)
    seller, olga, channel = market["seller"], market["olga"], market["channel"]
    await fill_wizard(seller)
    await _approve_and_see_post(market, "Velosiped Stels")
    await seller.wait_for_bot("chop etildi", timeout=10)

    await _open_edit(seller)
    await seller.press(callback_data="ad:edit:0:title")
    await seller.wait_for_bot("sarlavhasini")
    await seller.send("Velosiped Carrera ARZON!!!")
    await seller.wait_for_bot("Tekshiruvga yuborasizmi", timeout=10)
    await seller.press(callback_data="ad:submit:0:")
    note = await olga.wait_for_bot(lambda m: "Velosiped Carrera" in m.get("text", ""), timeout=10)
    await olga.press("❌ Отклонить", message_id=note["message_id"])
    await olga.wait_for_bot(lambda m: "✏️ Другая причина" in str(m), since=0)
    await olga.press("✏️ Другая причина")
    await olga.wait_for_bot("одним сообщением")
    await olga.send("Заголовок кричит")
    rejected = await seller.wait_for_bot("chop etilmadi", timeout=10)
    assert "Заголовок кричит" in rejected["text"]
    await outbox_settled(bozor.pool)
    assert [m for m in await channel.posts() if m.get("caption")] == []
    async with bozor.pool.acquire() as conn:
        assert await conn.fetchval("SELECT status FROM ads WHERE id = 1") == "rejected"


async def test_a_seller_who_blocked_the_bot_is_marked_and_gets_nothing_more(bozor, market) -> None:
    seller, channel = market["seller"], market["channel"]
    await fill_wizard(seller, title="Eski divan")
    await seller.block()
    await _approve_and_see_post(market, "Eski divan")  # the channel hears of it all the same

    rows = await _settled_rows(bozor, seller.id)
    # The "published" notice and the forward of the post: neither was sent to them.
    assert {r["method"] for r in rows} == {"sendMessage", "forwardMessage"}
    assert {r["status"] for r in rows} == {"blocked"}
    async with bozor.pool.acquire() as conn:
        assert await conn.fetchval("SELECT blocked_bot_at IS NOT NULL FROM users WHERE id = $1", seller.id)
    assert not [m for m in await seller.bot_messages() if "chop etildi" in m.get("text", "")]
    assert [m for m in await channel.posts() if "Eski divan" in m.get("caption", "")]


async def _settled_rows(bozor, chat_id: int) -> list:
    """The outbox rows to the seller about the ad, once none is waiting to be sent."""
    await outbox_settled(bozor.pool)
    async with bozor.pool.acquire() as conn:
        return await conn.fetch(
            "SELECT method, status FROM outbox WHERE chat_id = $1 AND ref_kind = 'ad' ORDER BY id", chat_id
        )
