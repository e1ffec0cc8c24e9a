"""The demo marketplace that `make run` loads in sandbox mode: one channel, ready to use."""

from __future__ import annotations

from app.db import Conn
from app.db.queries.channels import Channel, find_channel
from app.domain import channels
from app.domain.support import kb

DEMO_CHANNEL = "@bozor_demo"
CATEGORIES = [
    ("transport", "Transport", "Транспорт", "Transport"),
    ("realty", "Ko'chmas mulk", "Недвижимость", "Real estate"),
    ("electronics", "Elektronika", "Электроника", "Electronics"),
    ("home", "Uy-ro'zg'or", "Для дома", "Home"),
    ("jobs", "Ish", "Работа", "Jobs"),
    ("other", "Boshqa", "Другое", "Other"),
]
REASONS = [
    ("Rasmlar tushunarsiz", "Фотографии нечёткие", "The photos are unclear"),
    ("Narx ko'rsatilmagan yoki noto'g'ri", "Цена не указана или неверна", "The price is missing or wrong"),
    ("Bu kanalda ruxsat etilmagan", "Не разрешено в этом канале", "Not allowed in this channel"),
    ("Takroriy e'lon", "Повторное объявление", "Duplicate ad"),
]
BANNED_WORDS = ["casino", "kazino", "казино", "crypto mixing"]


async def seed_demo(conn: Conn, admin_ids: list[int]) -> Channel:
    """Create the demo channel with categories, reasons and admins, and the sample support
    knowledge base; idempotent."""
    async with conn.transaction():
        channel = await find_channel(conn, DEMO_CHANNEL)
        if channel is None:
            channel = await channels.create_channel(conn, title="Bozor Demo", chat_ref=DEMO_CHANNEL)
            for hashtag, uz, ru, en in CATEGORIES:
                await channels.add_category(conn, channel.id, hashtag, {"uz": uz, "ru": ru, "en": en})
            for uz, ru, en in REASONS:
                await channels.add_reason(conn, channel.id, {"uz": uz, "ru": ru, "en": en})
            await channels.set_banned_words(conn, channel.id, BANNED_WORDS)
        for user_id in admin_ids:
            await channels.add_admin(conn, channel.id, user_id)
        await kb.load_sample(conn)  # so a newcomer can ask the demo bot a question
    return channel
