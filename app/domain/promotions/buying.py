"""Buying a promotion: the options offered, the invoice, the pre-checkout check against the ad's
current state, and the payment (idempotent on Telegram's charge id) that starts it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from app.db import Conn
from app.db.queries import promotions as q
from app.db.queries.promotions import Option, Promotion, PromotionKind, PromotionStatus
from app.domain import ads, ledger
from app.domain.ledger import Currency, EntryKind, NewEntry
from app.domain.outbox import MESSAGE_ID_OF, Call, enqueue
from app.domain.promotions.model import (
    PIN_FOR,
    REF,
    REPOST_EVERY,
    NotPromotable,
    OptionGone,
    PointsNotAccepted,
    PromotionError,
    PromotionMessages,
    promotion_id_of,
)
from app.domain.users import Languages, language_of
from app.i18n import N_


@dataclass(frozen=True, slots=True)
class Offer:
    ad: ads.Ad
    options: list[Option]
    accepts_points: bool


async def offer(conn: Conn, ad_id: int, seller_id: int) -> Offer:
    """What the seller may buy for their published ad."""
    ad = await ads.published_ad(conn, ad_id) if 0 < ad_id < 2**63 else None
    if ad is None or ad.seller_id != seller_id:
        raise NotPromotable()
    options = await q.channel_options(conn, ad.channel_id, active_only=True)
    return Offer(ad, options, await q.accepts_points(conn, ad.channel_id))


async def _usable(conn: Conn, ad_id: int, option_id: int, seller_id: int) -> tuple[ads.Ad, Option]:
    ad = await ads.published_ad(conn, ad_id) if 0 < ad_id < 2**63 else None  # a forged button
    if ad is None or ad.seller_id != seller_id:
        raise NotPromotable()
    option = await q.get_option(conn, option_id)
    if option is None or not option.active or option.channel_id != ad.channel_id:
        raise OptionGone()
    return ad, option


async def invoice(conn: Conn, ad_id: int, option_id: int, seller_id: int) -> Promotion:
    """A promotion waiting for payment in Stars; the caller sends its invoice (payload_of(id))."""
    _ad, option = await _usable(conn, ad_id, option_id, seller_id)
    return await q.insert_promotion(conn, ad_id, option, seller_id, "XTR", option.price_stars)


async def pre_checkout(conn: Conn, payload: str, user_id: int, currency: str, total: int) -> None:
    """Telegram asks whether to take the payment: only for an invoiced promotion of this user,
    at its price, while the ad is still published. PromotionError says why not."""
    promotion_id = promotion_id_of(payload)
    promotion = await q.get_promotion(conn, promotion_id) if promotion_id is not None else None
    if promotion is None or promotion.seller_id != user_id:
        raise PromotionError(N_("This invoice is not valid any more."))
    if promotion.status != PromotionStatus.INVOICED:
        raise PromotionError(N_("This invoice is already paid."))
    if currency != "XTR" or total != promotion.price:
        raise PromotionError(N_("The price has changed. Open the ad again for a new invoice."))
    if await ads.published_ad(conn, promotion.ad_id) is None:
        raise PromotionError(N_("The ad is no longer published, so it cannot be promoted."))


@dataclass(frozen=True, slots=True)
class Paid:
    promotion: Promotion
    duplicate: bool  # the same charge was recorded before: nothing happened now
    refunded: bool  # it could not run: the payment is on its way back


async def payment_received(
    conn: Conn,
    payload: str,
    user_id: int,
    charge_id: str,
    total: int,
    now: datetime,
    *,
    msgs: PromotionMessages,
    languages: Languages,
) -> Paid | None:
    """successful_payment: the Stars enter the ledger and the promotion starts, once per charge
    id (a redelivered update changes nothing). If the ad closed meanwhile, it is refunded.
    None for a payload that is not ours."""
    promotion_id = promotion_id_of(payload)
    if promotion_id is None:
        return None
    async with conn.transaction():
        known = await q.by_charge(conn, charge_id)
        if known is not None:
            return Paid(known, duplicate=True, refunded=known.status == PromotionStatus.REFUNDED)
        promotion = await q.mark_paid(conn, promotion_id, charge_id, now)
        if promotion is None:  # paid twice or after it was dropped: keep the charge, refund it
            late = await q.record_charge(conn, promotion_id, charge_id, now)
            if late is None:
                return None
            await _book_payment(conn, late, charge_id, total)
            refunded = await refund(conn, late, "paid twice", now, msgs=msgs, languages=languages)
            return Paid(refunded or late, duplicate=False, refunded=True)
        await _book_payment(conn, promotion, charge_id, total)
        started = await start(conn, promotion, now)
        if not started:
            done = await refund(
                conn, promotion, "the ad closed before it ran", now, msgs=msgs, languages=languages
            )
            return Paid(done or promotion, duplicate=False, refunded=True)
        await _tell(conn, promotion, msgs.started, languages)
    return Paid(promotion, duplicate=False, refunded=False)


def _entry(
    promotion: Promotion,
    currency: Currency,
    amount: int,
    kind: EntryKind,
    key: str,
    reason: str | None = None,
) -> NewEntry:
    return NewEntry(
        account=promotion.seller_id,
        currency=currency,
        amount=amount,
        kind=kind,
        key=key,
        ref_kind=REF,
        ref_id=promotion.id,
        reason=reason,
    )


async def _book_payment(conn: Conn, promotion: Promotion, charge_id: str, total: int) -> None:
    """The Stars came in (payment) and went to the promotion (purchase): two entries."""
    await ledger.post(conn, _entry(promotion, Currency.XTR, total, EntryKind.PAYMENT, f"stars:{charge_id}"))
    purchase = f"{REF}:{promotion.id}:purchase"
    await ledger.post(conn, _entry(promotion, Currency.XTR, -total, EntryKind.PROMOTION_PURCHASE, purchase))


async def pay_with_points(
    conn: Conn,
    ad_id: int,
    option_id: int,
    seller_id: int,
    now: datetime,
    *,
    msgs: PromotionMessages,
    languages: Languages,
) -> Promotion:
    """Where the channel allows it: the points are debited (never overdrawn) and it starts."""
    ad, option = await _usable(conn, ad_id, option_id, seller_id)
    if option.price_points is None or not await q.accepts_points(conn, ad.channel_id):
        raise PointsNotAccepted()
    async with conn.transaction():
        promotion = await q.insert_promotion(conn, ad_id, option, seller_id, "points", option.price_points)
        await ledger.post(
            conn,
            NewEntry(
                account=seller_id,
                currency=Currency.POINTS,
                amount=-option.price_points,
                kind=EntryKind.PROMOTION_PURCHASE,
                key=f"{REF}:{promotion.id}:purchase",
                ref_kind=REF,
                ref_id=promotion.id,
                actor=ledger.Actor.USER,
            ),
        )
        paid = await q.mark_paid(conn, promotion.id, None, now)
        assert paid is not None
        if not await start(conn, paid, now):
            raise NotPromotable()
        await _tell(conn, paid, msgs.started, languages)
    return paid


async def start(conn: Conn, promotion: Promotion, now: datetime) -> bool:
    """Pin the ad's live post until PIN_FOR from now, or schedule its extra re-posts. False when
    the ad is no longer published (the caller refunds)."""
    if promotion.kind == PromotionKind.PIN:
        post = await ads.live_post(conn, promotion.ad_id)
        if post is None:
            return False
        chat_id, outbox_id = post
        await enqueue(
            conn,
            "pinChatMessage",
            {"chat_id": chat_id, "message_id": {MESSAGE_ID_OF: outbox_id}, "disable_notification": True},
            chat_id=chat_id,
            ref_kind=REF,
            ref_id=promotion.id,
        )
        await q.start_pin(conn, promotion.id, chat_id, outbox_id, now + PIN_FOR)
        return True
    if await ads.published_ad(conn, promotion.ad_id) is None:
        return False
    await q.start_reposts(conn, promotion.id, promotion.reposts or 1, now + REPOST_EVERY)
    return True


async def refund(
    conn: Conn,
    promotion: Promotion,
    reason: str,
    now: datetime,
    *,
    msgs: PromotionMessages,
    languages: Languages,
) -> Promotion | None:
    """Once: the purchase is reversed in the ledger and, for Stars, refundStarPayment is queued
    (the Stars leave the user's ledger account as they go back through Telegram). None when it
    was refunded before."""
    async with conn.transaction():
        done = await q.mark_refunded(conn, promotion.id, reason, now)
        if done is None:
            return None
        currency = Currency.XTR if done.currency == "XTR" else Currency.POINTS
        back = _entry(done, currency, done.price, EntryKind.REFUND, f"{REF}:{done.id}:refund", reason)
        await ledger.post(conn, back)
        if currency == Currency.XTR and done.charge_id:
            key = f"stars-refund:{done.charge_id}"
            await ledger.post(conn, _entry(done, currency, -done.price, EntryKind.REFUND, key, reason))
            await enqueue(
                conn,
                "refundStarPayment",
                {"user_id": done.seller_id, "telegram_payment_charge_id": done.charge_id},
                chat_id=done.seller_id,  # the outbox orders it with the seller's other messages
                ref_kind=REF,
                ref_id=done.id,
            )
        await _tell(conn, done, msgs.refunded, languages)
    return done


async def _tell(
    conn: Conn, promotion: Promotion, render: Callable[[Promotion, str, str], Call], languages: Languages
) -> None:
    """Tell the seller, in their language, in the caller's transaction."""
    ad = await ads.sellers_ad(conn, promotion.ad_id, promotion.seller_id)
    title = ad.title if ad is not None else f"#{promotion.ad_id}"
    method, params = render(promotion, title, await language_of(conn, promotion.seller_id, languages))
    seller = promotion.seller_id
    await enqueue(
        conn, method, {**params, "chat_id": seller}, chat_id=seller, ref_kind=REF, ref_id=promotion.id
    )
