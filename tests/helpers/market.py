"""The marketplace end to end: sandbox personas around a channel, and the seller's wizard."""

from __future__ import annotations

from typing import Any

from app.domain import channels
from app.main import Bozor
from app.sandbox.driver import Sandbox
from tests.helpers.images import png


def buttons(message: dict[str, Any]) -> list[str]:
    """The texts of a message's inline buttons, row by row."""
    markup = message.get("reply_markup") or {}
    return [b["text"] for row in markup.get("inline_keyboard", []) for b in row]


async def open_market(bozor: Bozor, sandbox: Sandbox) -> dict[str, Any]:
    """A channel with the bot as its poster, two admins who have started the bot, a seller."""
    olga = await sandbox.user("Olga", username="olga_admin", language_code="ru")
    bek = await sandbox.user("Bek", username="bek_admin", language_code="uz")
    seller = await sandbox.user("Ali", username="ali_sotuvchi", language_code="uz")
    for person in (olga, bek, seller):
        await person.send("/start")
        await person.wait_for_bot("")
    channel = await sandbox.channel("Bozor Demo", username="bozor_demo", admins=[olga])
    async with bozor.pool.acquire() as conn:
        row = await channels.create_channel(conn, title="Bozor Demo", chat_ref="@bozor_demo")
        await conn.execute("UPDATE channels SET chat_id = $2 WHERE id = $1", row.id, channel.id)
        await channels.add_category(
            conn, row.id, "transport", {"uz": "Transport", "ru": "Транспорт", "en": "Transport"}
        )
        for admin in (olga, bek):
            await channels.add_admin(conn, row.id, admin.id)
    return {"channel": channel, "olga": olga, "bek": bek, "seller": seller, "channel_id": row.id}


async def fill_wizard(seller: Any, title: str = "Velosiped Stels") -> dict[str, Any]:
    """The seller answers every question; returns the confirmation message."""
    await seller.press("📢 E'lon berish")
    await seller.wait_for_bot("Bo'limni tanlang")
    await seller.press("Transport")
    await seller.wait_for_bot("sarlavhasini")
    await seller.send(title)
    await seller.wait_for_bot("tasvirlang")
    await seller.send("Yaxshi holatda, 26 dyuym")
    await seller.wait_for_bot("Narxi qancha")
    await seller.send("1 500 000 so'm")
    await seller.wait_for_bot("rasm yuboring")
    await seller.send_album([png(rgb=(200, 0, 0)), png(rgb=(0, 200, 0))])
    await seller.wait_for_bot("2-rasm qo'shildi")
    await seller.press("✅ Rasmlar tayyor")
    await seller.wait_for_bot("tuman")
    await seller.send("Chilonzor")
    await seller.wait_for_bot("Xaridorlar")
    await seller.share_contact("+998901234567")
    await seller.wait_for_bot("Tekshiruvga yuborasizmi")
    await seller.press("✅ Yuborish")
    return await seller.wait_for_bot("tekshiruvga yuborildi")


async def submitted(market: dict[str, Any], sandbox: Sandbox, title: str) -> None:
    """An ad through the wizard, and both admins notified of it."""
    await sandbox.limits(private_per_second=50, private_burst=50)  # the wizard is not the subject
    await fill_wizard(market["seller"], title=title)
    await market["olga"].wait_for_bot("Новое объявление", timeout=10)
    await market["bek"].wait_for_bot("yangi e'lon", timeout=10)


async def album_count(channel: Any, title: str) -> int:
    """How many distinct copies (albums) of the ad the channel shows (deleted ones excluded)."""
    return len({m.get("media_group_id") for m in await channel.posts() if title in (m.get("caption") or "")})
