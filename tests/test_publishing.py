"""An ad's messages are outbox rows written in the same transaction as the decision."""

from __future__ import annotations

import asyncpg
import pytest

from app.domain import ads
from app.domain.actors import TelegramUser
from app.domain.ads import AdError, Photo
from app.domain.users import Languages
from tests.helpers.ads import ADMIN_A, ADMIN_B, MSGS, SELLER, UZ, draft, market_channel


async def rows(db: asyncpg.Connection) -> list[tuple]:
    return [
        (r["chat_id"], r["method"]) for r in await db.fetch("SELECT chat_id, method FROM outbox ORDER BY id")
    ]


async def test_submitting_queues_photos_and_buttons_to_every_admin(db: asyncpg.Connection) -> None:
    channel_id = await market_channel(db)
    photos = [Photo("f1", "u1"), Photo("f2", "u2")]
    async with db.transaction():
        ad = await ads.submit(db, draft(channel_id=channel_id, photos=photos), SELLER, MSGS, UZ)
    assert await rows(db) == [
        (ADMIN_A, "sendMediaGroup"),
        (ADMIN_A, "sendMessage"),
        (ADMIN_B, "sendMediaGroup"),
        (ADMIN_B, "sendMessage"),
    ]
    note = await db.fetchval(
        "SELECT params FROM outbox WHERE chat_id = $1 AND method = 'sendMessage'", ADMIN_A
    )
    assert note["text"].startswith(f"Новое объявление #{ad.id}")  # Olga reads Russian
    buttons = [b["callback_data"] for b in note["reply_markup"]["inline_keyboard"][0]]
    assert buttons == [f"mod:approve:{ad.id}:0", f"mod:reject:{ad.id}:0"]


async def test_an_admin_whose_language_was_disabled_is_written_to_in_the_default(
    db: asyncpg.Connection,
) -> None:
    channel_id = await market_channel(db)
    no_russian = Languages(enabled=("uz", "en"), default="en")
    ad = await ads.submit(db, draft(channel_id=channel_id), SELLER, MSGS, no_russian)
    notes = {
        r["chat_id"]: r["params"]["text"]
        for r in await db.fetch("SELECT chat_id, params FROM outbox WHERE method = 'sendMessage'")
    }
    assert notes[ADMIN_A].startswith(f"New ad #{ad.id}")  # Olga chose Russian: it is off
    assert notes[ADMIN_B].startswith(f"New ad #{ad.id}")  # Bek chose nothing: the default


async def test_a_rolled_back_submission_queues_nothing(db: asyncpg.Connection) -> None:
    channel_id = await market_channel(db)
    with pytest.raises(RuntimeError):
        async with db.transaction():
            await ads.submit(db, draft(channel_id=channel_id), SELLER, MSGS, UZ)
            raise RuntimeError("the process died before commit")
    assert await rows(db) == [] and await db.fetchval("SELECT count(*) FROM ads") == 0


async def test_approval_publishes_tells_the_seller_and_updates_every_note(db: asyncpg.Connection) -> None:
    channel_id = await market_channel(db)
    ad = await ads.submit(db, draft(channel_id=channel_id, photos=[Photo("f1", "u1")]), SELLER, MSGS, UZ)
    await db.execute("DELETE FROM outbox")
    decision = await ads.decide(
        db, ad.id, TelegramUser(ADMIN_A), approve=True, reason=None, msgs=MSGS, languages=UZ
    )
    assert decision.won
    assert await rows(db) == [
        (ADMIN_A, "editMessageText"),
        (ADMIN_B, "editMessageText"),
        (-1001234567890, "sendPhoto"),
        (SELLER, "sendMessage"),
        (SELLER, "forwardMessage"),
    ]
    edit = await db.fetchval("SELECT params FROM outbox WHERE chat_id = $1", ADMIN_B)
    assert "✅ Tasdiqladi: @olga" in edit["text"] and "$message_id_of" in edit["message_id"]
    post = await db.fetchval("SELECT params FROM outbox WHERE method = 'sendPhoto'")
    assert post["reply_markup"]["inline_keyboard"][0][0]["url"].endswith(f"start=ad_{ad.id}")

    late = await ads.decide(
        db, ad.id, TelegramUser(ADMIN_B), approve=False, reason="Takroriy", msgs=MSGS, languages=UZ
    )
    assert not late.won and late.ad.decided_by == ADMIN_A and late.decider == "@olga"
    assert len(await rows(db)) == 5  # the late click sends nothing


async def test_sold_edits_the_post_and_withdrawn_deletes_it(db: asyncpg.Connection) -> None:
    channel_id = await market_channel(db)
    sold = await ads.submit(db, draft(channel_id=channel_id), SELLER, MSGS, UZ)
    await ads.decide(db, sold.id, TelegramUser(ADMIN_A), approve=True, reason=None, msgs=MSGS, languages=UZ)
    assert await ads.mark_sold(db, sold.id, SELLER, MSGS)
    edit = await db.fetchrow("SELECT method, params FROM outbox ORDER BY id DESC LIMIT 1")
    assert edit["method"] == "editMessageCaption" and edit["params"]["caption"].startswith("❌ SOTILDI")

    other = await ads.submit(
        db, draft(channel_id=channel_id, title="Divan", photos=[Photo("f7", "u7")]), SELLER, MSGS, UZ
    )
    await ads.decide(db, other.id, TelegramUser(ADMIN_B), approve=True, reason=None, msgs=MSGS, languages=UZ)
    assert await ads.withdraw(db, other.id, SELLER)
    last = await db.fetchrow("SELECT method, params FROM outbox ORDER BY id DESC LIMIT 1")
    assert last["method"] == "deleteMessages" and "$message_ids_of" in last["params"]["message_ids"]


async def test_approval_waits_for_a_connected_channel(db: asyncpg.Connection) -> None:
    channel_id = await market_channel(db, chat_id=None)
    ad = await ads.submit(db, draft(channel_id=channel_id), SELLER, MSGS, UZ)
    with pytest.raises(AdError, match="not connected"):
        async with db.transaction():
            await ads.decide(
                db, ad.id, TelegramUser(ADMIN_A), approve=True, reason=None, msgs=MSGS, languages=UZ
            )
    assert await db.fetchval("SELECT status FROM ads WHERE id = $1", ad.id) == "pending"
