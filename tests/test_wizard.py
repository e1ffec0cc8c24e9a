"""The seller's wizard and My ads without rough edges: texts name the buttons as they read, an
album is answered once, Cancel everywhere (and only while it means something), /start leaves
the wizard keeping the draft, one's own contact only, Sold and Withdraw asked once more."""

from __future__ import annotations

from typing import Any

from app.domain import channels
from tests.helpers.images import png
from tests.helpers.market import buttons, fill_wizard
from tests.helpers.polling import outbox_settled


async def reply_keyboard(person: Any) -> list[str]:
    """The buttons of the reply keyboard the person sees under the chat now."""
    markup = (await person.chat_state())["reply_keyboard"] or {}
    return [b["text"] for row in markup.get("keyboard", []) for b in row]


async def to_photos(seller: Any) -> dict[str, Any]:
    await seller.press("📢 E'lon berish")
    await seller.wait_for_bot("Bo'limni tanlang")
    await seller.press("Transport")
    title_question = await seller.wait_for_bot("sarlavhasini")
    await seller.send("Velosiped Stels")
    await seller.wait_for_bot("tasvirlang")
    await seller.send("Yaxshi holatda")
    await seller.wait_for_bot("Narxi qancha")
    await seller.send("1 500 000")
    photos = await seller.wait_for_bot("rasm yuboring")
    # The text names the button as it reads (it said “Tayyor” while the button read otherwise).
    assert "“✅ Rasmlar tayyor”" in photos["text"] and "✅ Rasmlar tayyor" in buttons(photos)
    return title_question


async def test_the_wizard_answers_an_album_once_takes_only_ones_own_contact_and_start_leaves_it(
    bozor, market, sandbox
) -> None:
    await sandbox.limits(private_per_second=50, private_burst=50)  # a person types slower
    seller = market["seller"]
    title_question = await to_photos(seller)

    await seller.send_album([png(rgb=(200, 0, 0)), png(rgb=(0, 200, 0)), png(rgb=(0, 0, 200))])
    await seller.wait_for_bot("3-rasm qo'shildi", timeout=10)
    replies = [m for m in await seller.bot_messages() if "rasm qo'shildi" in m.get("text", "")]
    assert len(replies) == 1, [m["text"] for m in replies]  # one answer for the album, kept current

    await seller.press("✅ Rasmlar tayyor")
    await seller.wait_for_bot("tuman")
    await seller.send("Chilonzor")
    await seller.wait_for_bot("Xaridorlar")
    # Cancel on the contact step too (a reply keyboard cannot carry the inline one).
    assert await reply_keyboard(seller) == ["📱 Telefon raqamimni ulashish", "✖️ Bekor qilish"]
    await seller.share_contact("+998907777777", first_name="Vali")  # someone else's card
    await seller.wait_for_bot("boshqa odamning kontakti")
    await seller.share_contact("+998901234567")
    await seller.wait_for_bot("Tekshiruvga yuborasizmi")

    # /start in the middle leaves the wizard: a free text is no longer taken as an answer.
    await seller.send("/start")
    await seller.wait_for_bot("qoralama saqlandi")
    menu = await seller.wait_for_bot("Assalomu alaykum")
    await seller.send("Yunusobod")
    other = await seller.wait_for_bot(lambda m: True)  # whatever takes free text now, not the wizard
    assert "Rahmat" not in other["text"] and "Tekshiruvga" not in other["text"]
    # The draft is kept: Post an ad offers to continue it, and it continues where it was.
    await seller.press("📢 E'lon berish", message_id=menu["message_id"])
    await seller.wait_for_bot("tugallanmagan e'lon bor")
    await seller.press("▶️ Davom etish")
    preview = await seller.wait_for_bot("Tekshiruvga yuborasizmi")
    shown = [m for m in await seller.bot_messages() if "📍" in (m.get("caption") or "")][-1]
    assert "📍 Chilonzor" in shown["caption"] and "+998901234567" in shown["caption"]

    # Cancel ends it; a Cancel left on an earlier question is no longer valid, and says so.
    await seller.press("✖️ Bekor qilish", message_id=preview["message_id"])
    await seller.wait_for_bot("E'lon bekor qilindi")
    stale = await seller.press("✖️ Bekor qilish", message_id=title_question["message_id"])
    answer = await seller.callback_answer(stale["callback_query_id"])
    assert answer["text"] == "Bu tugma endi amal qilmaydi." and answer["show_alert"]
    async with bozor.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM ads") == 0


async def test_cancel_on_the_contact_step_leaves_with_the_menu(bozor, market, sandbox) -> None:
    await sandbox.limits(private_per_second=50, private_burst=50)
    seller = market["seller"]
    await to_photos(seller)
    await seller.send_photo(png())
    await seller.wait_for_bot("1-rasm qo'shildi")
    await seller.press("✅ Rasmlar tayyor")
    await seller.wait_for_bot("tuman")
    await seller.send("Chilonzor")
    await seller.wait_for_bot("Xaridorlar")
    await seller.press("✖️ Bekor qilish")  # the reply keyboard's button
    await seller.wait_for_bot("E'lon bekor qilindi")
    menu = await seller.wait_for_bot("Nima qilmoqchisiz")
    assert "📢 E'lon berish" in buttons(menu)
    await seller.send("+998901111111")  # no longer an answer to the wizard
    other = await seller.wait_for_bot(lambda m: True)
    assert "Rahmat" not in other["text"] and "Tekshiruvga" not in other["text"]


async def test_sold_and_withdraw_are_confirmed_and_a_sold_post_loses_its_link(bozor, market, sandbox) -> None:
    await sandbox.limits(private_per_second=50, private_burst=50)
    seller, olga, channel = market["seller"], market["olga"], market["channel"]
    await fill_wizard(seller)
    await olga.wait_for_bot("Новое объявление #1", timeout=10)
    await olga.press("✅ Одобрить")
    post = await channel.wait_for_post("Velosiped Stels", timeout=10)
    assert "Sotuvchiga yozish" in post["caption"]

    await seller.press("📋 E'lonlarim")
    await seller.wait_for_bot("E'lonlaringiz")
    await seller.press(callback_data="my:card:1:0")
    await seller.wait_for_bot("#1 Velosiped Stels")
    await seller.press("🗑 Olib tashlash")
    await seller.wait_for_bot("olib tashlansinmi")
    await seller.press("⬅️ Yo'q, e'longa qaytish")  # changed their mind: nothing happens
    await seller.wait_for_bot("#1 Velosiped Stels")
    await seller.press("💰 Sotildi deb belgilash")
    confirm = await seller.wait_for_bot("sotildi deb belgilansinmi")
    await outbox_settled(bozor.pool)
    async with bozor.pool.acquire() as conn:
        assert await conn.fetchval("SELECT status FROM ads WHERE id = 1") == "published"
    await seller.press("✅ Ha, sotildi", message_id=confirm["message_id"])
    done = await seller.wait_for_bot("Tabriklaymiz")
    # Said before the channel's edit is delivered: a promise, not "the post says so too".
    assert "birozdan so'ng" in done["text"] and "ham shuni" not in done["text"]
    assert buttons(done) == ["📋 E'lonlarim", "🏠 Bosh menyu"]  # somewhere to go next

    sold = await channel.wait_for_post(lambda m: m.get("caption", "").startswith("❌ SOTILDI"), timeout=10)
    assert "Velosiped Stels" in sold["caption"]
    album = [m for m in await channel.posts() if m.get("media_group_id") == post["media_group_id"]]
    assert all("Sotuvchiga yozish" not in (m.get("caption") or "") for m in album)


async def test_past_the_daily_limit_the_seller_is_told_whether_flagged_or_refused(
    bozor, market, sandbox
) -> None:
    await sandbox.limits(private_per_second=50, private_burst=50)
    seller = market["seller"]
    async with bozor.pool.acquire() as conn:
        await channels.update_settings(conn, market["channel_id"], ads_per_day=1)
    await fill_wizard(seller)
    flagged = await fill_wizard(seller, title="Velosiped Forward")  # the channel flags: said so
    assert "2-e'loningiz" in flagged["text"] and "adminlar" in flagged["text"]

    async with bozor.pool.acquire() as conn:
        await channels.update_settings(conn, market["channel_id"], over_limit="refuse")
    await seller.press("📢 E'lon berish", message_id=flagged["message_id"])
    await seller.wait_for_bot("Bo'limni tanlang")
    await seller.press("Transport")
    for question, answer in (
        ("sarlavhasini", "Velosiped Trek"),
        ("tasvirlang", "Yangi"),
        ("Narxi", "900 000"),
    ):
        await seller.wait_for_bot(question)
        await seller.send(answer)
    await seller.wait_for_bot("rasm yuboring")
    await seller.send_photo(png())
    await seller.wait_for_bot("1-rasm qo'shildi")
    await seller.press("✅ Rasmlar tayyor")
    await seller.wait_for_bot("tuman")
    await seller.send("Chilonzor")
    await seller.wait_for_bot("Xaridorlar")
    await seller.share_contact("+998901234567")
    await seller.wait_for_bot("Tekshiruvga yuborasizmi")
    await seller.press("✅ Yuborish")
    await seller.wait_for_bot("ertaga qayta urinib ko'ring; qoralamangiz saqlanadi")
    async with bozor.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM ads") == 2  # the third was refused
