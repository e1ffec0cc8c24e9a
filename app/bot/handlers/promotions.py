"""Paid promotion in the bot (E5): "⭐ Promote" on a published ad in My ads, the options of its
channel, an invoice in Stars (XTR), the pre-checkout check, and the successful payment (a
routed message at Stage.PAYMENT)."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
from aiogram import Bot, F, Router
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LabeledPrice,
    Message,
    PreCheckoutQuery,
)

from app.bot.callbacks import MyAdsCb, PromoCb
from app.bot.filters import HasPayment, OnMessage
from app.bot.routing import MessageRouting, Stage
from app.domain import ads, promotions
from app.domain.ledger import LedgerError
from app.domain.promotions import Option, PromotionKind
from app.domain.users import Languages
from app.i18n import Gettext


def option_text(option: Option, _: Gettext) -> str:
    if option.kind == PromotionKind.PIN:
        return _("📌 Pin for 24 hours")
    return _("🔁 {n} extra re-posts").format(n=option.reposts)


async def on_promote(
    query: CallbackQuery, message: Message, callback_data: MyAdsCb, pool: asyncpg.Pool, _: Gettext
) -> None:
    try:
        async with pool.acquire() as conn:
            offer = await promotions.offer(conn, callback_data.ad_id, query.from_user.id)
    except promotions.PromotionError as exc:
        await query.answer(exc.text(_), show_alert=True)
        return
    await query.answer()
    rows = []
    for option in offer.options:
        label = option_text(option, _)
        rows.append(
            [
                InlineKeyboardButton(
                    text=f"{label} — {option.price_stars} ⭐",
                    callback_data=PromoCb(action="stars", ad_id=offer.ad.id, option_id=option.id).pack(),
                )
            ]
        )
        if offer.accepts_points and option.price_points is not None:
            rows.append(
                [
                    InlineKeyboardButton(
                        text=_("{label} — {n} points").format(label=label, n=option.price_points),
                        callback_data=PromoCb(action="points", ad_id=offer.ad.id, option_id=option.id).pack(),
                    )
                ]
            )
    rows.append(
        [
            InlineKeyboardButton(
                text=_("⬅️ Back"), callback_data=MyAdsCb(action="card", ad_id=offer.ad.id).pack()
            )
        ]
    )
    text = (
        _("Promote “{title}”: choose how.").format(title=offer.ad.title)
        if offer.options
        else _("This channel offers no promotion yet.")
    )
    await message.edit_text(text, reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))


async def on_stars(
    query: CallbackQuery, callback_data: PromoCb, pool: asyncpg.Pool, bot: Bot, _: Gettext
) -> None:
    """Send the invoice in Stars; the payment comes back as pre_checkout_query, then a message."""
    try:
        async with pool.acquire() as conn:
            promotion = await promotions.invoice(
                conn, callback_data.ad_id, callback_data.option_id, query.from_user.id
            )
            ad = await ads.published_ad(conn, callback_data.ad_id)
            option = await promotions.channel_options(conn, ad.channel_id) if ad else ([], False)
    except promotions.PromotionError as exc:
        await query.answer(exc.text(_), show_alert=True)
        return
    chosen = next((o for o in option[0] if o.id == callback_data.option_id), None)
    label = option_text(chosen, _) if chosen else _("Promotion")
    await query.answer()
    await bot.send_invoice(
        query.from_user.id,
        title=label[:32],
        description=_("Promotion of your ad “{title}” in the channel.").format(title=ad.title if ad else "")[
            :255
        ],
        payload=promotions.payload_of(promotion.id),
        currency="XTR",
        prices=[LabeledPrice(label=label[:32], amount=promotion.price)],
        provider_token="",
    )


async def on_points(
    query: CallbackQuery,
    callback_data: PromoCb,
    pool: asyncpg.Pool,
    promotion_messages: promotions.PromotionMessages,
    languages: Languages,
    _: Gettext,
) -> None:
    try:
        async with pool.acquire() as conn:
            await promotions.pay_with_points(
                conn,
                callback_data.ad_id,
                callback_data.option_id,
                query.from_user.id,
                datetime.now(UTC),
                msgs=promotion_messages,
                languages=languages,
            )
    except (promotions.PromotionError, LedgerError) as exc:
        await query.answer(exc.text(_), show_alert=True)
        return
    await query.answer(_("Paid with points."))


async def on_pre_checkout(query: PreCheckoutQuery, pool: asyncpg.Pool, bot: Bot, _: Gettext) -> None:
    """Take the payment only while the ad is still published and the invoice unchanged."""
    try:
        async with pool.acquire() as conn:
            await promotions.pre_checkout(
                conn, query.invoice_payload, query.from_user.id, query.currency, query.total_amount
            )
    except promotions.PromotionError as exc:
        await bot.answer_pre_checkout_query(query.id, ok=False, error_message=exc.text(_))
        return
    await bot.answer_pre_checkout_query(query.id, ok=True)


async def on_paid(
    message: Message,
    pool: asyncpg.Pool,
    promotion_messages: promotions.PromotionMessages,
    languages: Languages,
) -> None:
    """successful_payment: the ledger and the promotion, once per charge id; the seller is told
    by the outbox (started, or refunded when the ad closed meanwhile)."""
    paid = message.successful_payment
    if paid is None or message.from_user is None:
        return  # a refunded_payment: the refund was recorded when it was queued
    async with pool.acquire() as conn:
        await promotions.payment_received(
            conn,
            paid.invoice_payload,
            message.from_user.id,
            paid.telegram_payment_charge_id,
            paid.total_amount,
            datetime.now(UTC),
            msgs=promotion_messages,
            languages=languages,
        )


def create_router() -> Router:
    router = Router(name="promotions")
    router.callback_query.register(on_promote, OnMessage(), MyAdsCb.filter(F.action == "promote"))
    router.callback_query.register(on_stars, PromoCb.filter(F.action == "stars"))
    router.callback_query.register(on_points, PromoCb.filter(F.action == "points"))
    router.pre_checkout_query.register(on_pre_checkout)
    return router


def route(routing: MessageRouting) -> None:
    """A successful payment is recorded before any flow looks at the message."""
    routing.add(Stage.PAYMENT, "promotion: a successful payment", on_paid, HasPayment())
