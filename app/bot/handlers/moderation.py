"""Admins decide in the bot (M3-M5): Approve, or Reject with a canned or typed reason."""

from __future__ import annotations

import asyncpg
from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from app.bot.callbacks import ModCb
from app.db.queries import channels as channel_q
from app.domain.ads import AdError
from app.domain.moderation import canned_reason, decider_name
from app.domain.ports import AdMessages
from app.domain.publishing import decide_ad, load_view
from app.domain.users import Languages
from app.i18n import Gettext


class RejectFlow(StatesGroup):
    reason = State()  # the admin types the reason for "Other"


async def on_approve(
    query: CallbackQuery,
    callback_data: ModCb,
    pool: asyncpg.Pool,
    ad_messages: AdMessages,
    languages: Languages,
    _: Gettext,
) -> None:
    await _decide(query, callback_data.ad_id, True, None, pool, ad_messages, languages, _)


async def on_reject(
    query: CallbackQuery, callback_data: ModCb, pool: asyncpg.Pool, _: Gettext, lang: str
) -> None:
    """Offer the channel's canned reasons in place of the buttons, plus "other" and "back"."""
    async with pool.acquire() as conn:
        view = await load_view(conn, callback_data.ad_id)
        reasons = await channel_q.list_reasons(conn, view.channel["id"])
    if view.ad["status"] != "pending":
        await _already_decided(query, view.ad, pool, _)
        return
    ad_id = callback_data.ad_id
    rows = [
        [
            InlineKeyboardButton(
                text=r[f"text_{lang}"],
                callback_data=ModCb(action="reason", ad_id=ad_id, reason_id=r["id"]).pack(),
            )
        ]
        for r in reasons
    ]
    rows.append(
        [
            InlineKeyboardButton(
                text=_("✏️ Other reason"), callback_data=ModCb(action="other", ad_id=ad_id).pack()
            )
        ]
    )
    rows.append(
        [InlineKeyboardButton(text=_("⬅️ Back"), callback_data=ModCb(action="back", ad_id=ad_id).pack())]
    )
    await query.answer()
    if query.message:
        await query.message.edit_reply_markup(reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))


async def on_back(query: CallbackQuery, callback_data: ModCb, _: Gettext) -> None:
    ad_id = callback_data.ad_id
    keyboard = [
        [
            InlineKeyboardButton(
                text=_("✅ Approve"), callback_data=ModCb(action="approve", ad_id=ad_id).pack()
            ),
            InlineKeyboardButton(
                text=_("❌ Reject"), callback_data=ModCb(action="reject", ad_id=ad_id).pack()
            ),
        ]
    ]
    await query.answer()
    if query.message:
        await query.message.edit_reply_markup(reply_markup=InlineKeyboardMarkup(inline_keyboard=keyboard))


async def on_canned_reason(
    query: CallbackQuery,
    callback_data: ModCb,
    pool: asyncpg.Pool,
    ad_messages: AdMessages,
    languages: Languages,
    _: Gettext,
) -> None:
    async with pool.acquire() as conn:
        text = await canned_reason(conn, callback_data.ad_id, callback_data.reason_id, languages)
    if text is None:
        await query.answer(_("This reason no longer exists. Choose another."), show_alert=True)
        return
    await _decide(query, callback_data.ad_id, False, text, pool, ad_messages, languages, _)


async def on_other_reason(query: CallbackQuery, callback_data: ModCb, state: FSMContext, _: Gettext) -> None:
    await state.set_state(RejectFlow.reason)
    await state.update_data(reject_ad=callback_data.ad_id)
    await query.answer()
    if query.message:
        await query.message.answer(_("Type the reason for the seller in one message:"))


async def on_typed_reason(
    message: Message,
    state: FSMContext,
    pool: asyncpg.Pool,
    ad_messages: AdMessages,
    languages: Languages,
    _: Gettext,
) -> None:
    text = (message.text or "").strip()
    if not text:
        await message.answer(_("Please type the reason as text."))
        return
    if len(text) > 500:
        await message.answer(_("Please keep the reason under 500 characters."))
        return
    ad_id = (await state.get_data()).get("reject_ad")
    await state.clear()
    result = await _run_decision(ad_id, message.from_user.id, False, text, pool, ad_messages, languages, _)
    await message.answer(result)


async def _decide(
    query: CallbackQuery,
    ad_id: int,
    approve: bool,
    reason: str | None,
    pool: asyncpg.Pool,
    ad_messages: AdMessages,
    languages: Languages,
    _: Gettext,
) -> None:
    result = await _run_decision(ad_id, query.from_user.id, approve, reason, pool, ad_messages, languages, _)
    await query.answer(result, show_alert=result.startswith("⚠️"))


async def _run_decision(
    ad_id: int,
    admin_id: int,
    approve: bool,
    reason: str | None,
    pool: asyncpg.Pool,
    ad_messages: AdMessages,
    languages: Languages,
    _: Gettext,
) -> str:
    try:
        async with pool.acquire() as conn, conn.transaction():
            decision = await decide_ad(
                conn, ad_id, admin_id, approve=approve, reason=reason, msgs=ad_messages, languages=languages
            )
            who = await decider_name(conn, decision.ad)
    except AdError as exc:
        return "⚠️ " + exc.text(_)
    if decision.won:
        return _("Published.") if approve else _("Rejected. The seller will be told why.")
    return "⚠️ " + _("Already decided by {name}.").format(name=who)


async def _already_decided(query: CallbackQuery, ad: asyncpg.Record, pool: asyncpg.Pool, _: Gettext) -> None:
    async with pool.acquire() as conn:
        who = await decider_name(conn, ad)
    await query.answer(_("Already decided by {name}.").format(name=who), show_alert=True)


def create_router() -> Router:
    """A fresh router per dispatcher (a router can belong to one dispatcher only)."""
    router = Router(name="moderation")
    router.callback_query.register(on_approve, ModCb.filter(F.action == "approve"))
    router.callback_query.register(on_reject, ModCb.filter(F.action == "reject"))
    router.callback_query.register(on_back, ModCb.filter(F.action == "back"))
    router.callback_query.register(on_canned_reason, ModCb.filter(F.action == "reason"))
    router.callback_query.register(on_other_reason, ModCb.filter(F.action == "other"))
    router.message.register(on_typed_reason, StateFilter(RejectFlow.reason))
    return router
