"""Paid promotion end to end: real aiogram, the sandbox's Stars payments, real PostgreSQL. A
pin is paid, pinned and unpinned after 24 hours (simulated clock); an ad withdrawn before its
extra re-posts is refunded once; a redelivered payment counts once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.domain import ledger, promotions
from app.domain.promotions import PromotionKind
from tests.helpers.ledger import credit
from tests.helpers.market import buttons, fill_wizard
from tests.helpers.polling import eventually, outbox_settled
from tests.helpers.tasks import admin


async def published(bozor, market, sandbox, title: str = "Velosiped Stels") -> dict:
    """An ad through the wizard, approved, in the channel; the seller then reads English."""
    await sandbox.limits(private_per_second=50, private_burst=50)
    seller = market["seller"]
    await fill_wizard(seller, title)
    await market["olga"].wait_for_bot("Новое объявление", timeout=10)
    await market["olga"].press("✅ Одобрить")
    post = await market["channel"].wait_for_post(title, timeout=10)
    async with bozor.pool.acquire() as conn:
        await conn.execute("UPDATE users SET language = 'en' WHERE id = $1", seller.id)
        staff = await admin(conn)
        await promotions.save_option(
            conn, staff, market["channel_id"], PromotionKind.PIN, None, 50, None, True
        )
        await promotions.save_option(
            conn, staff, market["channel_id"], PromotionKind.REPOSTS, 3, 30, 300, True
        )
    await seller.send("/start")
    await seller.wait_for_bot(lambda m: "📋 My ads" in buttons(m))
    return post


async def open_promotion(seller) -> dict:
    await seller.press("📋 My ads")
    await seller.wait_for_bot("Your ads")
    await seller.press(button_text=None, callback_data="my:card:1:0")
    card = await seller.wait_for_bot(lambda m: "⭐ Promote" in buttons(m))
    await seller.press("⭐ Promote", message_id=card["message_id"])
    return await seller.wait_for_bot("Promote “")


async def xtr(db, account: int) -> list[tuple[str, int]]:
    rows = await db.fetch(
        "SELECT kind, amount FROM ledger_entries WHERE account = $1 AND currency = 'XTR' ORDER BY id", account
    )
    return [(r["kind"], r["amount"]) for r in rows]


async def test_a_paid_pin_is_pinned_then_unpinned_after_24_hours(bozor, market, sandbox, db) -> None:
    post = await published(bozor, market, sandbox)
    seller, channel = market["seller"], market["channel"]
    offer = await open_promotion(seller)
    assert buttons(offer)[:2] == ["📌 Pin for 24 hours — 50 ⭐", "🔁 3 extra re-posts — 30 ⭐"]
    await seller.press("📌 Pin for 24 hours — 50 ⭐")
    invoice = await seller.wait_for_bot(lambda m: "invoice" in m)
    assert invoice["invoice"]["currency"] == "XTR" and invoice["invoice"]["total_amount"] == 50
    await seller.pay()
    await seller.wait_for_bot("is pinned in the channel for 24 hours", timeout=10)
    await outbox_settled(bozor.pool)
    assert (await channel.state())["pinned"] == [post["message_id"]]
    assert await xtr(db, seller.id) == [("payment", 50), ("promotion_purchase", -50)]

    # Telegram delivers the same successful_payment again: nothing more happens.
    charge = await db.fetchval("SELECT charge_id FROM promotions")
    async with bozor.pool.acquire() as conn:
        again = await promotions.payment_received(
            conn,
            "promo:1",
            seller.id,
            charge,
            50,
            datetime.now(UTC),
            msgs=bozor.dispatcher.workflow_data["promotion_messages"],
            languages=bozor.running.languages,
        )
    assert again is not None and again.duplicate
    assert await xtr(db, seller.id) == [("payment", 50), ("promotion_purchase", -50)]

    msgs = bozor.dispatcher.workflow_data
    tick = lambda at: promotions.run_due(  # noqa: E731
        conn,
        at,
        msgs=msgs["promotion_messages"],
        ad_messages=msgs["ad_messages"],
        languages=bozor.running.languages,
    )
    async with bozor.pool.acquire() as conn, conn.transaction():
        assert await tick(datetime.now(UTC) + timedelta(hours=23)) == 0  # still pinned
    async with bozor.pool.acquire() as conn, conn.transaction():
        assert await tick(datetime.now(UTC) + timedelta(hours=24, minutes=1)) == 1
    await eventually(lambda: _unpinned(channel), what="the pin to come down")
    async with bozor.pool.acquire() as conn, conn.transaction():
        assert await tick(datetime.now(UTC) + timedelta(hours=48)) == 0
    assert await db.fetchval("SELECT status FROM promotions") == "done"
    assert await ledger.verify(db) == []


async def _unpinned(channel) -> bool:
    return (await channel.state())["pinned"] == []


async def test_an_ad_withdrawn_before_its_extra_reposts_is_refunded_once(bozor, market, sandbox, db) -> None:
    await published(bozor, market, sandbox)
    seller = market["seller"]
    await open_promotion(seller)
    await seller.press("🔁 3 extra re-posts — 30 ⭐")
    await seller.wait_for_bot(lambda m: "invoice" in m)
    await seller.pay()
    await seller.wait_for_bot("will be re-posted 3 more times", timeout=10)

    await seller.send("/start")
    await seller.wait_for_bot(lambda m: "📋 My ads" in buttons(m))
    await seller.press("📋 My ads")
    await seller.wait_for_bot("Your ads")
    await seller.press(callback_data="my:card:1:0")
    await seller.wait_for_bot(lambda m: "🗑 Withdraw" in buttons(m))
    await seller.press("🗑 Withdraw")
    await seller.wait_for_bot(lambda m: "🗑 Yes, withdraw it" in buttons(m))
    await seller.press("🗑 Yes, withdraw it")
    await seller.wait_for_bot("withdrawn")

    msgs = bozor.dispatcher.workflow_data
    for _ in range(2):  # the second tick finds nothing more to do
        async with bozor.pool.acquire() as conn, conn.transaction():
            await promotions.run_due(
                conn,
                datetime.now(UTC) + timedelta(days=1),
                msgs=msgs["promotion_messages"],
                ad_messages=msgs["ad_messages"],
                languages=bozor.running.languages,
            )
    told = await seller.wait_for_bot("could not run", timeout=10)
    assert "Your 30 ⭐ are returned" in told["text"]
    await outbox_settled(bozor.pool)
    assert [p["status"] for p in await seller.payments()] == ["refunded"]
    assert await xtr(db, seller.id) == [
        ("payment", 30),
        ("promotion_purchase", -30),
        ("refund", 30),
        ("refund", -30),
    ]
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE method = 'refundStarPayment'") == 1
    assert (
        await db.fetchval(
            "SELECT count(*) FROM outbox WHERE method = 'sendPhoto' OR method = 'sendMediaGroup'"
        )
        >= 1
    )
    assert await ledger.verify(db) == []


async def test_pre_checkout_refuses_a_payment_for_an_ad_withdrawn_after_the_invoice(
    bozor, market, sandbox, db
) -> None:
    await published(bozor, market, sandbox)
    seller = market["seller"]
    await open_promotion(seller)
    await seller.press("📌 Pin for 24 hours — 50 ⭐")
    await seller.wait_for_bot(lambda m: "invoice" in m)
    await db.execute("UPDATE ads SET status = 'withdrawn'")  # withdrawn while the invoice is open
    await seller.pay()
    await eventually(lambda: _declined(seller), what="the payment to be declined")
    payments = await seller.payments()
    assert "no longer published" in payments[0]["error_message"]
    assert await xtr(db, seller.id) == []
    assert await db.fetchval("SELECT status FROM promotions") == "invoiced"


async def _declined(seller) -> bool:
    return any(p["status"] == "declined" for p in await seller.payments())


async def test_points_pay_for_promotion_only_where_the_channel_accepts_them(
    bozor, market, sandbox, db
) -> None:
    await published(bozor, market, sandbox)
    seller = market["seller"]
    msgs = bozor.dispatcher.workflow_data
    option = await db.fetchval("SELECT id FROM promotion_options WHERE kind = 'reposts'")

    async def pay() -> object:
        async with bozor.pool.acquire() as conn:
            return await promotions.pay_with_points(
                conn,
                1,
                option,
                seller.id,
                datetime.now(UTC),
                msgs=msgs["promotion_messages"],
                languages=bozor.running.languages,
            )

    with pytest.raises(promotions.PointsNotAccepted):  # the channel accepts Stars only
        await pay()
    async with bozor.pool.acquire() as conn:
        await promotions.set_accepts_points(conn, await admin(conn), market["channel_id"], True)
    with pytest.raises(ledger.InsufficientFunds) as refused:  # never overdrawn
        await pay()
    assert (refused.value.available, refused.value.amount) == (0, 300)
    assert await db.fetchval("SELECT count(*) FROM promotions") == 0  # nothing half-done

    await db.execute(
        "INSERT INTO ledger_balances (account, currency, balance) VALUES ($1, 'points', 0)", seller.id
    )

    await credit(db, seller.id, 350)
    paid = await pay()
    assert paid.status == promotions.PromotionStatus.RUNNING
    await seller.wait_for_bot("will be re-posted 3 more times", timeout=10)
    assert await ledger.balance(db, seller.id) == ledger.Balance(seller.id, ledger.Currency.POINTS, 50, 0)

    # The extra re-posts go up when due, one each tick that finds one due, then it is done.
    async def tick(at: datetime) -> int:
        async with bozor.pool.acquire() as conn, conn.transaction():
            return await promotions.run_due(
                conn,
                at,
                msgs=msgs["promotion_messages"],
                ad_messages=msgs["ad_messages"],
                languages=bozor.running.languages,
            )

    start = datetime.now(UTC)
    assert await tick(start + timedelta(hours=1)) == 0
    for n in range(1, 4):
        assert await tick(start + n * promotions.REPOST_EVERY + timedelta(minutes=1)) == 1
    assert await tick(start + timedelta(days=5)) == 0
    row = await db.fetchrow("SELECT status, reposts_done, reposts_left FROM promotions")
    assert tuple(row) == ("done", 3, 0)
    assert await db.fetchval("SELECT count(*) FROM ad_events WHERE kind = 'promoted_repost'") == 3
