"""Each person reads in their own language: a canned rejection reason, an edit's note to the
admins, an ad's history and a user's recent messages in the panel (no Python dumps, no
callback data)."""

from __future__ import annotations

import html
import re

from app.domain import channels
from app.domain.staff import Role
from tests.helpers.market import fill_wizard
from tests.helpers.panel import login, make_staff
from tests.helpers.polling import outbox_settled


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


async def test_a_canned_reason_and_the_ads_story_read_in_each_readers_language(
    bozor, market, sandbox, panel, db
) -> None:
    await sandbox.limits(private_per_second=50, private_burst=50)
    seller, olga, bek = market["seller"], market["olga"], market["bek"]
    await channels.add_reason(
        db, market["channel_id"], {"uz": "Rasmlar tushunarsiz", "ru": "Фото нечёткие", "en": "Unclear photos"}
    )
    await fill_wizard(seller)
    await bek.wait_for_bot("yangi e'lon #1", timeout=10)
    note = await olga.wait_for_bot("Новое объявление #1", timeout=10)
    await olga.press("❌ Отклонить", message_id=note["message_id"])
    await olga.wait_for_bot(lambda m: "Фото нечёткие" in str(m), since=0)
    await olga.press("Фото нечёткие")  # Olga reads Russian, the seller Uzbek

    told = await seller.wait_for_bot("chop etilmadi", timeout=10)
    assert "Rasmlar tushunarsiz" in told["text"]
    await outbox_settled(bozor.pool)
    olga_note = next(m for m in await olga.bot_messages() if m["message_id"] == note["message_id"])
    assert "Причина: Фото нечёткие" in olga_note["text"] and "Rasmlar" not in olga_note["text"]
    bek_note = await bek.wait_for_bot("Rad etdi", since=0)
    assert "Rasmlar tushunarsiz" in bek_note["text"]

    # The panel in English: the reason in English; the history in sentences, not dumps.
    await make_staff(db, "boss", Role.ADMIN)
    assert (await login(panel.client, "boss")).status == 303
    page = text_of(await (await panel.client.get("/panel/ads/1")).text())
    assert "Reason Unclear photos" in page
    assert "Ali @ali_sotuvchi submitted the ad." in page
    assert "Olga @olga_admin rejected it: Unclear photos" in page
    assert "{" not in page.split("History", 1)[1] and "photos_changed" not in page and "'kind'" not in page
    ru = text_of(await (await panel.client.get("/panel/lang/ru?next=/panel/ads/1")).text())
    assert "Olga @olga_admin отклонил(а) его: Фото нечёткие" in ru

    # A user's recent messages show the labels of the buttons they pressed, not callback data.
    user = text_of(await (await panel.client.get(f"/panel/lang/en?next=/panel/users/{seller.id}")).text())
    assert "pressed “📢 E'lon berish”" in user and "pressed “✅ Yuborish”" in user
    assert "ad:submit" not in user and "menu:post" not in user


async def test_an_admin_edits_the_text_in_the_bot_before_approving(bozor, market, sandbox) -> None:
    await sandbox.limits(private_per_second=50, private_burst=50)
    seller, olga, channel = market["seller"], market["olga"], market["channel"]
    await fill_wizard(seller, title="velosiped SROCHNO!!!")
    note = await olga.wait_for_bot("Новое объявление #1", timeout=10)
    await olga.press("✏️ Изменить", message_id=note["message_id"])
    first = await olga.wait_for_bot("Пришлите новый заголовок")
    await olga.send("Velosiped Stels")
    asked = await olga.wait_for_bot("Пришлите новое описание")
    await olga.press("↩️ Оставить", message_id=asked["message_id"])  # the description stays
    await olga.wait_for_bot("Сохранено")
    await olga.press("✅ Одобрить", message_id=note["message_id"])
    post = await channel.wait_for_post("Velosiped Stels", timeout=10)
    assert "SROCHNO" not in post["caption"] and "Yaxshi holatda, 26 dyuym" in post["caption"]
    stale = await olga.press("↩️ Оставить", message_id=first["message_id"])
    answer = await olga.callback_answer(stale["callback_query_id"])
    assert answer["show_alert"]  # an old button of a finished edit does nothing
