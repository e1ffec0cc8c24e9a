"""My ads (M8) and the answers to check-ins (M7): the seller manages their own ads."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
from aiogram import Bot, F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from app.bot.callbacks import CheckinCb, MenuCb, MyAdsCb
from app.bot.filters import OnMessage
from app.bot.handlers import post_ad
from app.domain import ads
from app.domain.ads import AdStatus
from app.i18n import N_, Gettext

PAGE = 5


def status_text(status: AdStatus, _: Gettext) -> str:
    return f"{ads.STATUS_ICONS[status]} {ads.status_label(status, _)}"


def _button(text: str, data: MyAdsCb | MenuCb) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data.pack())


async def on_my_ads(query: CallbackQuery, message: Message, pool: asyncpg.Pool, _: Gettext) -> None:
    await _show_page(query, message, 0, pool, _)


async def on_page(
    query: CallbackQuery, message: Message, callback_data: MyAdsCb, pool: asyncpg.Pool, _: Gettext
) -> None:
    await _show_page(query, message, max(0, callback_data.page), pool, _)


async def _show_page(
    query: CallbackQuery, message: Message, page: int, pool: asyncpg.Pool, _: Gettext
) -> None:
    async with pool.acquire() as conn:
        mine = await ads.sellers_ads(conn, query.from_user.id, page=page, size=PAGE)
    await query.answer()
    if not mine and page == 0:
        text = _("You have no ads yet.")
        rows = [[_button(_("📢 Post an ad"), MenuCb(action="post"))]]
    else:
        text = _("Your ads:")
        rows = [
            [
                _button(
                    f"#{ad.id} {ad.title[:30]} · {status_text(ad.status, _)}",
                    MyAdsCb(action="card", ad_id=ad.id, page=page),
                )
            ]
            for ad in mine[:PAGE]
        ]
        nav = []
        if page > 0:
            nav.append(_button("◀️", MyAdsCb(action="list", page=page - 1)))
        if len(mine) > PAGE:
            nav.append(_button("▶️", MyAdsCb(action="list", page=page + 1)))
        if nav:
            rows.append(nav)
    rows.append([_button(_("⬅️ Back"), MenuCb(action="home"))])
    await message.edit_text(text, reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))


async def on_card(
    query: CallbackQuery, message: Message, callback_data: MyAdsCb, pool: asyncpg.Pool, _: Gettext
) -> None:
    async with pool.acquire() as conn:
        ad = await ads.sellers_ad(conn, callback_data.ad_id, query.from_user.id)
    if ad is None:
        await query.answer(_("This ad no longer exists."), show_alert=True)
        return
    await query.answer()
    lines = [f"#{ad.id} {ad.title}", status_text(ad.status, _)]
    if ad.status == AdStatus.REJECTED and ad.reject_reason:
        lines.append(_("Reason: {reason}").format(reason=ad.reject_reason))
    rows = []
    if ad.status in ads.CLOSABLE:
        rows.append(
            [
                _button(_("💰 Mark as sold"), MyAdsCb(action="sold", ad_id=ad.id)),
                _button(_("🗑 Withdraw"), MyAdsCb(action="withdraw", ad_id=ad.id)),
            ]
        )
    if ad.status in ads.EDITABLE:
        rows.append([_button(_("✏️ Edit"), MyAdsCb(action="edit", ad_id=ad.id))])
    if ad.status == AdStatus.PUBLISHED:  # paid promotion: app/bot/handlers/promotions.py
        rows.append([_button(_("⭐ Promote"), MyAdsCb(action="promote", ad_id=ad.id))])
    rows.append([_button(_("⬅️ Back"), MyAdsCb(action="list", page=callback_data.page))])
    await message.edit_text("\n".join(lines), reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))


async def on_edit(
    query: CallbackQuery,
    message: Message,
    callback_data: MyAdsCb,
    state: FSMContext,
    pool: asyncpg.Pool,
    bot: Bot,
    _: Gettext,
    lang: str,
) -> None:
    """Open the ad in the wizard's preview; its Submit sends the change for review."""
    try:
        async with pool.acquire() as conn:
            draft = await ads.draft_to_edit(conn, callback_data.ad_id, query.from_user.id)
    except ads.AdError as exc:
        await query.answer(exc.text(_), show_alert=True)
        return
    await query.answer()
    await state.clear()
    await state.update_data(draft=draft.to_data(), editing_ad_id=callback_data.ad_id)
    await message.edit_reply_markup(reply_markup=None)
    await message.answer(
        _(
            "Editing ad #{id}. Change what you need, then submit: the "
            "ad goes back to review, and its post in the channel is "
            "updated once approved."
        ).format(id=callback_data.ad_id)
    )
    await post_ad.show_preview(message, state, pool, bot, _, lang)


CONFIRM = {
    "sold": (
        N_("Mark “{title}” as sold? Its post in the channel will say SOLD, and it is not shown again."),
        N_("✅ Yes, it is sold"),
    ),
    "withdraw": (
        N_("Withdraw “{title}”? Its posts are removed from the channel."),
        N_("🗑 Yes, withdraw it"),
    ),
}


async def on_confirm(
    query: CallbackQuery, message: Message, callback_data: MyAdsCb, pool: asyncpg.Pool, _: Gettext
) -> None:
    """Sold and Withdraw cannot be undone: ask once more, with a way back to the ad."""
    async with pool.acquire() as conn:
        ad = await ads.sellers_ad(conn, callback_data.ad_id, query.from_user.id)
    if ad is None or ad.status not in ads.CLOSABLE:
        await query.answer(_("This ad cannot be changed any more."), show_alert=True)
        return
    await query.answer()
    question, yes = CONFIRM[callback_data.action]
    rows = [
        [_button(_(yes), MyAdsCb(action=f"{callback_data.action}_ok", ad_id=ad.id))],
        [_button(_("⬅️ No, back to the ad"), MyAdsCb(action="card", ad_id=ad.id))],
    ]
    await message.edit_text(
        _(question).format(title=ad.title), reply_markup=InlineKeyboardMarkup(inline_keyboard=rows)
    )


def after_closing(_: Gettext) -> InlineKeyboardMarkup:
    """Where to go once an ad is closed: the seller's ads, or the main menu."""
    mine = _button(_("📋 My ads"), MenuCb(action="my_ads"))
    home = _button(_("🏠 Main menu"), MenuCb(action="home"))
    return InlineKeyboardMarkup(inline_keyboard=[[mine, home]])


async def on_sold(
    query: CallbackQuery,
    callback_data: MyAdsCb | CheckinCb,
    pool: asyncpg.Pool,
    ad_messages: ads.AdMessages,
    _: Gettext,
) -> None:
    async with pool.acquire() as conn, conn.transaction():
        done = await ads.mark_sold(conn, callback_data.ad_id, query.from_user.id, ad_messages)
    # The channel's edit goes out through the outbox after this commit: promise it, do not
    # claim it (a failed edit shows on the ad's page and the dashboard for staff).
    sold = _("Congratulations! The ad is marked as sold; its post in the channel will say so in a moment.")
    await _closed(query, done, sold, _)


async def on_withdraw(query: CallbackQuery, callback_data: MyAdsCb, pool: asyncpg.Pool, _: Gettext) -> None:
    async with pool.acquire() as conn, conn.transaction():
        done = await ads.withdraw(conn, callback_data.ad_id, query.from_user.id)
    await _closed(query, done, _("The ad is withdrawn and its posts are removed from the channel."), _)


async def on_still_selling(
    query: CallbackQuery, callback_data: CheckinCb, pool: asyncpg.Pool, _: Gettext
) -> None:
    async with pool.acquire() as conn, conn.transaction():
        kept = await ads.still_selling(conn, callback_data.ad_id, query.from_user.id, datetime.now(UTC))
    await _closed(query, kept, _("Good luck! The ad stays in the channel."), _)


async def _closed(query: CallbackQuery, done: bool, text: str, _: Gettext) -> None:
    """Sold, withdrawn or still selling: a check-in may be days old, so its button still counts
    when Telegram no longer lets the bot edit the message (then the answer is an alert)."""
    if not done:
        await query.answer(_("This ad cannot be changed any more."), show_alert=True)
        return
    if isinstance(query.message, Message):
        await query.answer()
        await query.message.edit_text(text, reply_markup=after_closing(_))
    else:
        await query.answer(text, show_alert=True)


def create_router() -> Router:
    """A fresh router per dispatcher (a router can belong to one dispatcher only)."""
    router = Router(name="my_ads")
    router.callback_query.register(on_my_ads, OnMessage(), MenuCb.filter(F.action == "my_ads"))
    router.callback_query.register(on_page, OnMessage(), MyAdsCb.filter(F.action == "list"))
    router.callback_query.register(on_card, OnMessage(), MyAdsCb.filter(F.action == "card"))
    router.callback_query.register(on_confirm, OnMessage(), MyAdsCb.filter(F.action.in_(CONFIRM)))
    router.callback_query.register(on_sold, MyAdsCb.filter(F.action == "sold_ok"))
    router.callback_query.register(on_withdraw, MyAdsCb.filter(F.action == "withdraw_ok"))
    router.callback_query.register(on_edit, OnMessage(), MyAdsCb.filter(F.action == "edit"))
    router.callback_query.register(on_sold, CheckinCb.filter(F.action == "sold"))
    router.callback_query.register(on_still_selling, CheckinCb.filter(F.action == "selling"))
    return router
