"""Builders for marketplace data: channels, users, drafts and ads, written straight to the database."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

import asyncpg

from app.bot.ad_messages import BotAdMessages
from app.domain import ads, channels
from app.domain.ads import Draft, Photo, Price, parse_price
from app.domain.users import Languages
from app.i18n import Translator

UZ = Languages(default="uz")  # every language offered, Uzbek by default
MSGS = BotAdMessages(Translator("uz"), "bozor_test_bot")
SELLER, ADMIN_A, ADMIN_B = 1001, 2001, 2002  # Ali (uz), Olga (ru), Bek (no language chosen)
PANEL_SELLER = 5001  # the seller of pending_ad(): Ali, who reads English
_photo_numbers = itertools.count(1)


def draft(**changes: Any) -> Draft:
    """A complete draft; keyword arguments replace its fields."""
    values: dict[str, Any] = dict(
        channel_id=1,
        title="Velosiped Stels",
        description="Yaxshi holatda",
        price=parse_price("1 500 000"),
        district="Chilonzor",
        contact="+998901234567",
        photos=[Photo("f1", "u1")],
    )
    values.update(changes)
    return Draft(**values)


async def connect(db: asyncpg.Connection, channel_id: int, chat_id: int) -> None:
    """What the channel sync does once the bot sees the channel: its numeric chat id."""
    await db.execute("UPDATE channels SET chat_id = $2 WHERE id = $1", channel_id, chat_id)


async def market_channel(db: asyncpg.Connection, chat_id: int | None = -1001234567890) -> int:
    """A channel with Ali the seller and Olga and Bek its admins."""
    channel = await channels.create_channel(db, title="Bozor", chat_ref="@bozor_pub")
    if chat_id:
        await connect(db, channel.id, chat_id)
    await db.executemany(
        "INSERT INTO users (id, first_name, username, language) VALUES ($1, $2, $3, $4)",
        [(SELLER, "Ali", "ali", "uz"), (ADMIN_A, "Olga", "olga", "ru"), (ADMIN_B, "Bek", None, None)],
    )
    await channels.add_admin(db, channel.id, ADMIN_A)
    await channels.add_admin(db, channel.id, ADMIN_B)
    return channel.id


async def connected_channel(db: asyncpg.Connection, title: str, chat_id: int) -> int:
    """A channel the bot already posts to, with no admins."""
    row = await channels.create_channel(db, title=title, chat_ref=f"{chat_id}")
    await connect(db, row.id, chat_id)
    return row.id


async def named_channel(db: asyncpg.Connection, username: str, **settings: Any) -> int:
    """A channel known by @username only (not connected), with settings changed."""
    channel = await channels.create_channel(db, title=username, chat_ref=f"@{username}")
    if settings:
        await channels.update_settings(db, channel.id, **settings)
    return channel.id


async def pending_ad(db: asyncpg.Connection, channel_id: int, title: str) -> int:
    """An ad submitted by PANEL_SELLER, waiting for a decision (the channel's admins notified)."""
    await db.execute(
        "INSERT INTO users (id, first_name, username, language) "
        "VALUES ($1, 'Ali', 'ali_seller', 'en') ON CONFLICT DO NOTHING",
        PANEL_SELLER,
    )
    ad = draft(
        channel_id=channel_id,
        title=title,
        description="Good condition",
        price=Price(Decimal(1500000), "UZS", False),
        photos=[Photo(f"file-{next(_photo_numbers)}", f"unique-{next(_photo_numbers)}")],
    )
    async with db.transaction():
        return (await ads.submit(db, ad, PANEL_SELLER, MSGS, UZ)).id


async def bulk_ads(
    db: asyncpg.Connection, channel_id: int, n: int, status: str = "pending", seller: int = SELLER
) -> None:
    """Many ads at once; a few share a submitted_at so a cursor must break ties by id."""
    await db.execute(
        "INSERT INTO ads (seller_id, channel_id, title, description, price, currency, district, "
        "contact, status, text_key, submitted_at) "
        "SELECT $1, $2, 'Bike ' || g, 'desc', 100, 'USD', 'Chilonzor', '+998901234567', $3, "
        "'k' || g, timestamptz '2026-01-01' + (g / 3) * interval '1 hour' "
        "FROM generate_series(1, $4) g",
        seller,
        channel_id,
        status,
        n,
    )


async def add_ads(
    db: asyncpg.Connection, channel_id: int, count: int, status: str = "published"
) -> list[int]:
    """`count` ads by seller 1, returning their ids."""
    await db.execute("INSERT INTO users (id, first_name) VALUES (1, 'S') ON CONFLICT DO NOTHING")
    rows = await db.fetch(
        """INSERT INTO ads (seller_id, channel_id, title, description, negotiable, district,
                            contact, status, text_key)
           SELECT 1, $1, 'Ad ' || n, 'Text', true, 'Chilonzor', '+998901234567', $3, 'k' || n
           FROM generate_series(1, $2) AS n RETURNING id""",
        channel_id,
        count,
        status,
    )
    return [r["id"] for r in rows]


# A realistic market for the panel's screens: Uzbek titles, long names, ten-digit ids -----------

REAL_SELLERS = [
    (1000000104, "Abdulaziz", "Xudoyberdiyev", "abdulaziz_xudoyberdiyev", "uz"),
    (1000000215, "Мухаммадали", "Рахматуллаев", "muhammadali_r", "ru"),
    (1000000326, "Gulnoza", "Abdurahmonova", None, "uz"),
]
REAL_TITLES = [
    "Velosiped Stels Navigator 500, yaxshi holatda",
    "Samsung Galaxy A54 smartfoni, qutisi va hujjatlari bilan",
    "Bolalar aravachasi, deyarli yangi, Toshkent bo'ylab yetkazib berish",
    "Muzlatkich Artel HD-455, ikki kamerali, kafolati bor",
    "Ikki xonali kvartira ijaraga, Chilonzor tumani, metroga yaqin",
    "Kir yuvish mashinasi LG, 7 kilogramm, ishlatilgan",
    "Noutbuk Lenovo IdeaPad 3, o'quvchilar uchun",
]


async def realistic_market(db: asyncpg.Connection) -> dict[str, Any]:
    """A channel with two admins and a canned reason, three sellers and seven pending ads in
    Uzbek (each admin notified), one of them approved by an admin in the bot."""
    from app.domain.actors import TelegramUser

    channel = await channels.create_channel(
        db, title="Bozor Toshkent — e'lonlar", chat_ref="@bozor_toshkent_elonlar"
    )
    await connect(db, channel.id, -1001234567890)
    await db.executemany(
        "INSERT INTO users (id, first_name, last_name, username, language) VALUES ($1, $2, $3, $4, $5)",
        [
            *REAL_SELLERS,
            (1000000437, "Dilnoza", "Yusupova", "dilnoza_admin", "uz"),
            (1000000548, "Рустам", None, None, "ru"),
        ],
    )
    await channels.add_admin(db, channel.id, 1000000437)
    await channels.add_admin(db, channel.id, 1000000548)
    await channels.add_reason(
        db, channel.id, {"uz": "Rasmlar tushunarsiz", "ru": "Фото нечёткие", "en": "Unclear photos"}
    )
    ad_ids = []
    for number, title in enumerate(REAL_TITLES):
        seller = REAL_SELLERS[number % len(REAL_SELLERS)][0]
        ad = draft(
            channel_id=channel.id,
            title=title,
            description="Holati a'lo, hech qanday nuqsoni yo'q. Narxi kelishiladi, qo'ng'iroq qiling.",
            price=parse_price(f"{(number + 1) * 1_250_000}"),
            district="Chilonzor",
            contact="+998 90 123 45 67",
            photos=[Photo(f"file-{next(_photo_numbers)}", f"unique-{next(_photo_numbers)}")],
        )
        async with db.transaction():
            ad_ids.append((await ads.submit(db, ad, seller, MSGS, UZ)).id)
    async with db.transaction():
        await ads.decide(db, ad_ids[0], TelegramUser(1000000437), approve=True, msgs=MSGS, languages=UZ)
    return {"channel_id": channel.id, "ad_ids": ad_ids, "seller_id": REAL_SELLERS[0][0]}
