"""Ads in the domain: reading what sellers type, the caption's limit, pre-moderation, decisions."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import asyncpg
import pytest

from app.db.pool import create_pool
from app.domain import ads, channels
from app.domain.actors import TelegramUser
from app.domain.ads import (
    CAPTION_LIMIT,
    AdError,
    Photo,
    Price,
    caption,
    caption_excess,
    format_price,
    parse_contact,
    parse_price,
    parse_title,
)
from app.i18n import Translator
from tests.helpers.ads import MSGS, UZ, connect, draft

_ = Translator("uz")("ru")
LINK = "https://t.me/bozor_bot?start=ad_1"


@pytest.mark.parametrize(
    ("text", "amount", "currency", "negotiable"),
    [
        ("1 500 000 so'm", Decimal("1500000.00"), "UZS", False),
        ("850000", Decimal("850000.00"), "UZS", False),
        ("$1200", Decimal("1200.00"), "USD", False),
        ("1200 usd", Decimal("1200.00"), "USD", False),
        ("99,50 $", Decimal("99.50"), "USD", False),
        ("1 200 000 сум", Decimal("1200000.00"), "UZS", False),
        ("Договорная", None, None, True),
        ("kelishiladi", None, None, True),
    ],
)
def test_prices_are_read_as_sellers_write_them(text, amount, currency, negotiable) -> None:
    assert parse_price(text) == Price(amount, currency, negotiable)


@pytest.mark.parametrize("text", ["", "cheap", "-5", "1e20", "12 34 56 78 90 12 34 56"])
def test_a_price_that_is_not_a_number_is_refused_with_an_example(text) -> None:
    with pytest.raises(AdError) as caught:
        parse_price(text)
    assert "1500000" in caught.value.text(lambda s: s)


def test_an_over_long_title_says_how_much_to_cut() -> None:
    with pytest.raises(AdError) as caught:
        parse_title("Velosiped " * 10)
    assert "shorten it by 19" in caught.value.text(lambda s: s)
    assert parse_title("  Velosiped   Stels  ") == "Velosiped Stels"


def test_contacts_are_phones_or_usernames() -> None:
    assert parse_contact("+998 (90) 123-45-67") == "+998901234567"
    assert parse_contact("998901234567") == "+998901234567"
    assert parse_contact("ali_sotuvchi") == "@ali_sotuvchi"
    with pytest.raises(AdError):
        parse_contact("call me")


def test_the_caption_is_plain_text_in_the_channel_language() -> None:
    text = caption(draft(title="<script>alert(1)</script>"), _, hashtag="transport", link=LINK)
    assert "📢 <script>alert(1)</script>" in text  # shown as typed: no parse mode, no markup
    assert "1 500 000 сум" in text and "#transport" in text and LINK in text
    sold = caption(draft(), _, hashtag=None, link=LINK, mark="sold")
    assert sold.startswith("❌ ПРОДАНО")


def test_money_is_written_as_each_language_writes_it() -> None:
    som, dollars = Price(Decimal(1500000), "UZS", False), Price(Decimal(1200), "USD", True)
    said = Translator("en")
    assert format_price(som, said("en"), "en") == "1,500,000 UZS"  # no "so'm" in English
    assert format_price(som, said("ru"), "ru") == "1 500 000 сум"
    assert format_price(som, said("uz"), "uz") == "1 500 000 so'm"
    assert format_price(dollars, said("en"), "en") == "$1,200 (negotiable)"
    assert format_price(dollars, said("ru"), "ru") == "1 200 $ (торг)"


def test_a_description_that_does_not_fit_the_caption_says_how_much_to_cut() -> None:
    fits = draft(description="x" * 700)
    assert caption_excess(fits, _, hashtag="transport", link=LINK) == 0
    long = draft(description="x" * 1100)
    excess = caption_excess(long, _, hashtag="transport", link=LINK)
    assert excess > 0
    shorter = draft(description="x" * (1100 - excess))
    longest = max(
        len(caption(shorter, _, hashtag="transport", link=LINK, mark=m)) for m in ("sold", "expired")
    )
    assert longest == CAPTION_LIMIT


async def seed(db: asyncpg.Connection) -> int:
    channel = await channels.create_channel(db, title="Bozor", chat_ref="@bozor_tsh")
    await connect(db, channel.id, -1001000000001)
    await channels.set_banned_words(db, channel.id, ["kazino"])
    await channels.update_settings(db, channel.id, ads_per_day=2)
    for user_id in (1001, 2001, 2002):
        await db.execute("INSERT INTO users (id, first_name) VALUES ($1, 'U')", user_id)
    await channels.add_admin(db, channel.id, 2001)
    await channels.add_admin(db, channel.id, 2002)
    return channel.id


async def test_pre_moderation_flags_but_still_submits(db: asyncpg.Connection) -> None:
    channel_id = await seed(db)
    first = await ads.submit(db, draft(channel_id=channel_id), 1001, MSGS, UZ)
    assert first.status == "pending" and first.flags == []
    again = await ads.submit(
        db,
        draft(channel_id=channel_id, title="VELOSIPED, stels!", photos=[Photo("f9", "u1")]),
        1001,
        MSGS,
        UZ,
    )
    kinds = {f["kind"] for f in again.flags}
    assert kinds == {"duplicate_text", "duplicate_photo"}  # the second ad of two allowed a day
    third = await ads.submit(
        db, draft(channel_id=channel_id, title="Kazino kartasi", photos=[Photo("f3", "u3")]), 1001, MSGS, UZ
    )
    assert {f["kind"] for f in third.flags} == {"banned_word", "daily_limit"}


async def test_the_daily_limit_counts_per_channel_and_the_channel_flags_or_refuses(
    db: asyncpg.Connection,
) -> None:
    strict = await seed(db)  # two ads a day
    other = (await channels.create_channel(db, title="Bozor 2", chat_ref="@bozor_two")).id
    await channels.update_settings(db, other, ads_per_day=2)
    for n in range(2):
        ad = await ads.submit(
            db, draft(channel_id=strict, title=f"Stol {n}", photos=[Photo(f"s{n}", f"s{n}")]), 1001, MSGS, UZ
        )
        assert ad.flags == []
    # The same seller's ads in another channel count against that channel's limit only.
    elsewhere = await ads.submit(
        db, draft(channel_id=other, title="Stul", photos=[Photo("o1", "o1")]), 1001, MSGS, UZ
    )
    assert elsewhere.flags == []
    flagged = await ads.submit(
        db, draft(channel_id=strict, title="Divan", photos=[Photo("s3", "s3")]), 1001, MSGS, UZ
    )
    assert flagged.flags == [{"kind": "daily_limit", "count": 3, "limit": 2}]

    await channels.update_settings(db, strict, over_limit="refuse")
    count = await db.fetchval("SELECT count(*) FROM ads")
    with pytest.raises(ads.AdError) as refused:
        await ads.submit(
            db, draft(channel_id=strict, title="Shkaf", photos=[Photo("s4", "s4")]), 1001, MSGS, UZ
        )
    assert "in the last 24 hours" in refused.value.text(lambda m: m)
    assert await db.fetchval("SELECT count(*) FROM ads") == count  # nothing saved
    with pytest.raises(channels.ChannelError):
        await channels.update_settings(db, strict, over_limit="ban")


async def test_two_admins_at_once_exactly_one_decision_wins(
    database_url: str, db: asyncpg.Connection
) -> None:
    channel_id = await seed(db)
    ad = await ads.submit(db, draft(channel_id=channel_id), 1001, MSGS, UZ)
    pool = await create_pool(database_url)

    async def click(admin_id: int, approve: bool):
        async with pool.acquire() as conn, conn.transaction():
            return await ads.decide(
                conn,
                ad.id,
                TelegramUser(admin_id),
                msgs=MSGS,
                languages=UZ,
                approve=approve,
                reason="Takroriy",
            )

    try:
        results = await asyncio.gather(click(2001, True), click(2002, False))
    finally:
        await pool.close()
    winners = [r for r in results if r.won]
    assert len(winners) == 1
    loser = next(r for r in results if not r.won)
    assert loser.ad.decided_by == winners[0].ad.decided_by and loser.decider == winners[0].decider
    final = await db.fetchrow("SELECT status, decided_by FROM ads WHERE id = $1", ad.id)
    assert final["decided_by"] == winners[0].ad.decided_by
    events = await db.fetch("SELECT kind FROM ad_events WHERE ad_id = $1 ORDER BY id", ad.id)
    assert [e["kind"] for e in events][1:] in (["approved"], ["rejected"])


async def test_only_the_channels_admins_decide_and_rejections_need_a_reason(db: asyncpg.Connection) -> None:
    channel_id = await seed(db)
    ad = await ads.submit(db, draft(channel_id=channel_id), 1001, MSGS, UZ)
    with pytest.raises(AdError, match="Only the channel's admins"):
        await ads.decide(db, ad.id, TelegramUser(1001), msgs=MSGS, languages=UZ, approve=True)
    with pytest.raises(AdError, match="reason"):
        await ads.decide(db, ad.id, TelegramUser(2001), msgs=MSGS, languages=UZ, approve=False, reason="  ")
    assert (await db.fetchval("SELECT status FROM ads WHERE id = $1", ad.id)) == "pending"
