"""The whole life of an ad, end to end: real aiogram, the sandbox over HTTP, real PostgreSQL."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from app.domain.ads import run_checkins, run_reposts
from tests.helpers.ads import UZ
from tests.helpers.images import png
from tests.helpers.market import album_count, buttons, fill_wizard, submitted
from tests.helpers.polling import eventually, outbox_settled


async def test_the_whole_life_of_an_ad(bozor, market) -> None:
    seller, olga, bek, channel = market["seller"], market["olga"], market["bek"], market["channel"]
    await fill_wizard(seller)

    note = await olga.wait_for_bot("Новое объявление #1", timeout=10)
    assert buttons(note) == ["✅ Одобрить", "❌ Отклонить", "✏️ Изменить"]
    await bek.wait_for_bot("yangi e'lon #1", timeout=10)
    await olga.press("✅ Одобрить")

    post = await channel.wait_for_post("Velosiped Stels", timeout=10)
    album = [m for m in await channel.posts() if m.get("media_group_id") == post["media_group_id"]]
    assert len(album) == 2 and "1 500 000 so'm" in post["caption"] and "#transport" in post["caption"]
    await seller.wait_for_bot("chop etildi", timeout=10)
    decided = await bek.wait_for_bot(
        lambda m: "Tasdiqladi: @olga_admin" in m.get("text", ""), timeout=10, since=0
    )
    assert buttons(decided) == []

    msgs = bozor.dispatcher.workflow_data["ad_messages"]
    now = datetime.now(UTC)
    async with bozor.pool.acquire() as conn, conn.transaction():
        assert await run_reposts(conn, now, random.Random(1), msgs) == 1
    repost = await channel.wait_for_post(
        lambda m: "Velosiped" in m.get("caption", "") and m["message_id"] > post["message_id"] + 1, timeout=10
    )
    await eventually(lambda: _deleted(channel, post["message_id"]), what="the first copy deleted")
    assert repost

    async with bozor.pool.acquire() as conn, conn.transaction():
        assert await run_checkins(conn, now + timedelta(days=3, minutes=1), msgs, UZ) == 1
    await seller.wait_for_bot("hali sotuvdami", timeout=10)
    await seller.press("✅ Sotildi")
    sold = await channel.wait_for_post(lambda m: m.get("caption", "").startswith("❌ SOTILDI"), timeout=10)
    assert sold["message_id"] == repost["message_id"]
    async with bozor.pool.acquire() as conn, conn.transaction():
        assert await run_reposts(conn, now + timedelta(hours=5), random.Random(2), msgs) == 0


async def _deleted(channel, message_id: int) -> bool:
    messages = {m["message_id"]: m for m in await channel.messages()}
    return bool(messages.get(message_id, {}).get("deleted"))


async def test_bad_answers_are_explained_and_the_step_is_asked_again(bozor, market, sandbox) -> None:
    # A person types slower than this test: Telegram's 1 message/s per chat is not its subject
    # (test_the_whole_life_of_an_ad runs under the real limits).
    await sandbox.limits(private_per_second=50, private_burst=50)
    seller = market["seller"]
    await seller.press("📢 E'lon berish")
    await seller.wait_for_bot("Bo'limni tanlang")
    await seller.press("Transport")
    await seller.wait_for_bot("sarlavhasini")
    await seller.send("Velosiped " * 10)
    await seller.wait_for_bot("19 belgiga qisqartiring")
    await seller.send("Velosiped")
    await seller.wait_for_bot("tasvirlang")
    await seller.send("x" * 1100)
    await seller.wait_for_bot("belgiga qisqartiring")
    await seller.send("Yaxshi")
    await seller.wait_for_bot("Narxi qancha")
    await seller.send("arzon")
    await seller.wait_for_bot("narxni tushunmadim")
    await seller.send("1200$")
    await seller.wait_for_bot("rasm yuboring")
    await seller.send("mana rasm")
    await seller.wait_for_bot("Rasm yuboring yoki")
    await seller.send_document(png(), "photo.png", mime_type="image/png")
    await seller.wait_for_bot("fayl emas, rasm")
    pressed = await seller.press("✅ Rasmlar tayyor")
    answer = await seller.callback_answer(pressed["callback_query_id"])
    assert "kamida bitta" in answer["text"] and answer["show_alert"]
    for n in range(10):
        await seller.send_photo(png(rgb=(n * 20, 10, 10)))
    await seller.wait_for_bot("10-rasm qo'shildi", timeout=20)
    await seller.send_photo(png(rgb=(255, 255, 255)))
    await seller.wait_for_bot("bu rasm qo'shilmadi", timeout=10)


async def test_a_rejection_with_a_typed_reason_reaches_the_seller(bozor, market) -> None:
    seller, olga, bek = market["seller"], market["olga"], market["bek"]
    await fill_wizard(seller, title="Eski divan")
    await bek.wait_for_bot("yangi e'lon #1", timeout=10)
    await bek.press("❌ Rad etish")
    await bek.wait_for_bot(lambda m: "✏️ Boshqa sabab" in buttons(m), since=0)
    await bek.press("✏️ Boshqa sabab")
    await bek.wait_for_bot("sababni bitta xabarda")
    await bek.send("Rasmlar juda xira")
    await bek.wait_for_bot("Rad etildi")
    rejected = await seller.wait_for_bot("chop etilmadi", timeout=10)
    assert "Rasmlar juda xira" in rejected["text"]
    note = await olga.wait_for_bot(
        lambda m: "Отклонил(а): @bek_admin" in m.get("text", ""), timeout=10, since=0
    )
    assert buttons(note) == []
    assert await market["channel"].posts() == []


async def test_a_draft_survives_a_restart(bot_config, sandbox, market, bozor) -> None:
    from app.main import Bozor

    seller = market["seller"]
    await seller.press("📢 E'lon berish")
    await seller.wait_for_bot("Bo'limni tanlang")
    await seller.press("Transport")
    await seller.wait_for_bot("sarlavhasini")
    await seller.send("Velosiped Stels")
    await seller.wait_for_bot("tasvirlang")
    await bozor.stop()
    again = Bozor(bot_config)
    await again.start()
    try:
        await seller.send("Yaxshi holatda")
        await seller.wait_for_bot("Narxi qancha", timeout=10)
    finally:
        await again.stop()


async def test_two_admins_approving_at_once_publish_exactly_once(bozor, market, sandbox) -> None:
    import asyncio

    await submitted(market, sandbox, "Muzlatgich Artel")
    olga, bek, channel = market["olga"], market["bek"], market["channel"]
    await asyncio.gather(olga.press("✅ Одобрить"), bek.press("✅ Tasdiqlash"))
    await channel.wait_for_post("Muzlatgich Artel", timeout=10)
    for admin in (olga, bek):
        await admin.wait_for_bot(
            lambda m: "Tasdiqladi" in m.get("text", "") or "Одобрил" in m.get("text", ""), since=0, timeout=10
        )
    await outbox_settled(bozor.pool)  # anything duplicated would have been sent by now
    assert await album_count(channel, "Muzlatgich Artel") == 1
    winners = {
        m["text"].rsplit(": ", 1)[-1]
        for a in (olga, bek)
        for m in await a.bot_messages()
        if "Tasdiqladi" in m.get("text", "") or "Одобрил" in m.get("text", "")
    }
    assert len(winners) == 1  # both notes name the same admin


async def test_a_crash_between_approval_and_publication_publishes_once(
    bot_config, bozor, market, sandbox
) -> None:
    from app.main import Bozor

    await submitted(market, sandbox, "Televizor Samsung")
    channel = market["channel"]
    # Telegram refuses every send for a while, so the approved post is still in the outbox...
    # A short retry_after: once the storm is over, the next process sends within seconds.
    await sandbox.faults(storm={"seconds": 60, "retry_after": 2, "methods": ["sendMediaGroup"]})
    pressed = await market["olga"].press("✅ Одобрить")
    answer = await market["olga"].callback_answer(pressed["callback_query_id"], timeout=10)
    assert answer["text"] == "Опубликовано."
    await bozor.stop()  # ...when the process goes away
    assert await album_count(channel, "Televizor Samsung") == 0
    await sandbox.faults(clear=True, storm={"seconds": 0})
    again = Bozor(bot_config)
    await again.start()
    try:
        await channel.wait_for_post("Televizor Samsung", timeout=15)
        await outbox_settled(again.pool)
        assert await album_count(channel, "Televizor Samsung") == 1
    finally:
        await again.stop()


async def test_server_errors_during_publication_still_publish_once(bozor, market, sandbox) -> None:
    await submitted(market, sandbox, "Kir yuvish mashinasi")
    await sandbox.faults(seed=3, errors={"rate": 0.6, "status": 502, "methods": ["sendMediaGroup"]})
    await market["bek"].press("✅ Tasdiqlash")
    await market["channel"].wait_for_post("Kir yuvish mashinasi", timeout=20)
    await outbox_settled(bozor.pool)
    assert await album_count(market["channel"], "Kir yuvish mashinasi") == 1


async def test_a_post_whose_answer_was_lost_is_uncertain_not_duplicated(bozor, market, sandbox) -> None:
    from app.domain.outbox import list_uncertain

    await submitted(market, sandbox, "Noutbuk Lenovo")
    # The album reaches the channel, but the connection drops before the bot hears back.
    await sandbox.faults(timeouts={"rate": 1, "drop": True, "methods": ["sendMediaGroup"]})
    await market["bek"].press("✅ Tasdiqlash")
    await market["channel"].wait_for_post("Noutbuk Lenovo", timeout=10)

    async def uncertain():
        async with bozor.pool.acquire() as conn:
            return await list_uncertain(conn)

    rows = await eventually(uncertain)
    assert [r.method for r in rows] == ["sendMediaGroup"]
    await outbox_settled(bozor.pool)
    assert await album_count(market["channel"], "Noutbuk Lenovo") == 1
