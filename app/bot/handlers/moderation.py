"""Admins decide in the bot (M3-M5): Approve, or Reject with a canned or typed reason; Edit
fixes the title and description first, as the panel's editor does."""

from __future__ import annotations

import asyncpg
from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from app.bot.callbacks import ModCb
from app.bot.filters import OnMessage
from app.bot.routing import MessageRouting, Stage
from app.domain import ads
from app.domain.actors import TelegramUser
from app.domain.users import Languages
from app.i18n import Gettext

REASON_LIMIT = 500


class RejectFlow(StatesGroup):
    reason = State()  # the admin types the reason for "Other"


class EditFlow(StatesGroup):
    """An admin fixes a pending ad's text in the bot, as the panel's editor does."""

    title = State()
    description = State()


async def on_approve(
    query: CallbackQuery,
    callback_data: ModCb,
    pool: asyncpg.Pool,
    ad_messages: ads.AdMessages,
    languages: Languages,
    _: Gettext,
) -> None:
    await _answer(
        query,
        await _decide(
            pool, callback_data.ad_id, query, approve=True, reason=None, msgs=ad_messages, languages=languages
        ),
        _,
    )


async def on_reject(
    query: CallbackQuery, callback_data: ModCb, pool: asyncpg.Pool, _: Gettext, lang: str
) -> None:
    """Offer the channel's canned reasons in place of the buttons, plus "other" and "back"."""
    ad_id = callback_data.ad_id
    try:
        async with pool.acquire() as conn:
            reasons = await ads.rejection_reasons(conn, ad_id, TelegramUser(query.from_user.id))
    except ads.AdError as exc:
        await query.answer(exc.text(_), show_alert=True)
        return
    rows = [
        [
            InlineKeyboardButton(
                text=r.text(lang), callback_data=ModCb(action="reason", ad_id=ad_id, reason_id=r.id).pack()
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
    if isinstance(query.message, Message):
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
        ],
        [InlineKeyboardButton(text=_("✏️ Edit"), callback_data=ModCb(action="edit", ad_id=ad_id).pack())],
    ]
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=InlineKeyboardMarkup(inline_keyboard=keyboard))


async def on_canned_reason(
    query: CallbackQuery,
    callback_data: ModCb,
    pool: asyncpg.Pool,
    ad_messages: ads.AdMessages,
    languages: Languages,
    _: Gettext,
) -> None:
    reason = ads.Canned(callback_data.reason_id)
    await _answer(
        query,
        await _decide(
            pool,
            callback_data.ad_id,
            query,
            approve=False,
            reason=reason,
            msgs=ad_messages,
            languages=languages,
        ),
        _,
    )


async def on_other_reason(query: CallbackQuery, callback_data: ModCb, state: FSMContext, _: Gettext) -> None:
    await state.set_state(RejectFlow.reason)
    await state.update_data(reject_ad=callback_data.ad_id)
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(_("Type the reason for the seller in one message:"))


async def on_typed_reason(
    message: Message,
    state: FSMContext,
    pool: asyncpg.Pool,
    ad_messages: ads.AdMessages,
    languages: Languages,
    _: Gettext,
) -> None:
    """A step of the reject flow: the message is the reason (routed here by app.bot.routing)."""
    text = (message.text or "").strip()
    if not text:
        await message.answer(_("Please type the reason as text."))
        return
    if len(text) > REASON_LIMIT:
        await message.answer(_("Please keep the reason under 500 characters."))
        return
    ad_id = (await state.get_data()).get("reject_ad")
    await state.clear()
    if not isinstance(ad_id, int) or message.from_user is None:
        return
    said, _warning = _said(
        await _decide(
            pool, ad_id, message, approve=False, reason=text, msgs=ad_messages, languages=languages
        ),
        _,
    )
    await message.answer(said)


# --- editing the text in the bot --------------------------------------------------------------


def _edit_keyboard(ad_id: int, _: Gettext) -> InlineKeyboardMarkup:
    keep = InlineKeyboardButton(text=_("↩️ Keep it"), callback_data=ModCb(action="keep", ad_id=ad_id).pack())
    stop = InlineKeyboardButton(
        text=_("✖️ Cancel"), callback_data=ModCb(action="edit_cancel", ad_id=ad_id).pack()
    )
    return InlineKeyboardMarkup(inline_keyboard=[[keep, stop]])


async def on_edit(
    query: CallbackQuery,
    message: Message,
    callback_data: ModCb,
    state: FSMContext,
    pool: asyncpg.Pool,
    _: Gettext,
) -> None:
    """Edit on an admin's notification: the title, then the description, one message each."""
    try:
        async with pool.acquire() as conn:
            ad = await ads.ad_to_moderate(conn, callback_data.ad_id, TelegramUser(query.from_user.id))
    except ads.AdError as exc:
        await query.answer(exc.text(_), show_alert=True)
        return
    await query.answer()
    await state.set_state(EditFlow.title)
    await state.update_data(edit_ad=ad.id, edit_title=ad.title, edit_description=ad.description)
    await message.answer(
        _("Editing ad #{id}. Send the new title, or keep this one:\n\n{title}").format(
            id=ad.id, title=ad.title
        ),
        reply_markup=_edit_keyboard(ad.id, _),
    )


async def on_edit_answer(message: Message, state: FSMContext, pool: asyncpg.Pool, _: Gettext) -> None:
    """A step of the edit flow (routed here by app.bot.routing): the new title or description."""
    if not message.text:
        await message.answer(_("Please answer with a text message."))
        return
    step = (await state.get_state() or "").split(":")[-1]
    try:
        if step == "title":
            await state.update_data(edit_title=ads.parse_title(message.text))
        else:
            await state.update_data(edit_description=message.text)
    except ads.AdError as exc:
        await message.answer(exc.text(_))
        return
    await _edit_next(message, state, pool, _)


async def on_keep(
    query: CallbackQuery,
    message: Message,
    callback_data: ModCb,
    state: FSMContext,
    pool: asyncpg.Pool,
    _: Gettext,
) -> None:
    if (await state.get_data()).get("edit_ad") != callback_data.ad_id:
        await query.answer(_("This button is no longer valid."), show_alert=True)
        return
    await query.answer()
    await message.edit_reply_markup(reply_markup=None)
    await _edit_next(message, state, pool, _)


async def _edit_next(message: Message, state: FSMContext, pool: asyncpg.Pool, _: Gettext) -> None:
    """After the title: ask the description; after the description: save both."""
    data = await state.get_data()
    ad_id = int(data["edit_ad"])
    if await state.get_state() == EditFlow.title.state:
        await state.set_state(EditFlow.description)
        await message.answer(
            _("Send the new description, or keep this one:\n\n{description}").format(
                description=data["edit_description"]
            ),
            reply_markup=_edit_keyboard(ad_id, _),
        )
        return
    try:
        async with pool.acquire() as conn, conn.transaction():
            ad = await ads.edit_text(
                conn,
                ad_id,
                TelegramUser(message.chat.id),
                title=data["edit_title"],
                description=data["edit_description"],
            )
    except ads.AdError as exc:  # e.g. too long for the channel, or decided meanwhile
        await state.clear()
        await message.answer("⚠️ " + exc.text(_) + "\n" + _("Nothing was changed."))
        return
    await state.clear()
    await message.answer(
        _("Saved: ad #{id} now reads “{title}”. Approve or reject it on its message.").format(
            id=ad.id, title=ad.title
        )
    )


async def on_edit_cancel(query: CallbackQuery, message: Message, state: FSMContext, _: Gettext) -> None:
    if await state.get_state() not in (EditFlow.title.state, EditFlow.description.state):
        await query.answer(_("This button is no longer valid."), show_alert=True)
        return
    await state.clear()
    await query.answer(_("Nothing was changed."))
    await message.edit_reply_markup(reply_markup=None)


async def _decide(
    pool: asyncpg.Pool,
    ad_id: int,
    event: CallbackQuery | Message,
    *,
    approve: bool,
    reason: ads.Reason | None,
    msgs: ads.AdMessages,
    languages: Languages,
) -> ads.Decision | ads.AdError:
    """The one call of a decision; its outcome (or why it could not be made) for the admin."""
    assert event.from_user is not None
    try:
        async with pool.acquire() as conn, conn.transaction():
            return await ads.decide(
                conn,
                ad_id,
                TelegramUser(event.from_user.id),
                approve=approve,
                reason=reason,
                msgs=msgs,
                languages=languages,
            )
    except ads.AdError as exc:
        return exc


def _said(outcome: ads.Decision | ads.AdError, _: Gettext) -> tuple[str, bool]:
    """What the admin is told, and whether it is a warning (an alert they must dismiss)."""
    if isinstance(outcome, ads.AdError):
        return "⚠️ " + outcome.text(_), True
    if not outcome.won:
        return "⚠️ " + outcome.reply.text(_), True
    return outcome.reply.text(_), False


async def _answer(query: CallbackQuery, outcome: ads.Decision | ads.AdError, _: Gettext) -> None:
    text, warning = _said(outcome, _)
    await query.answer(text, show_alert=warning)


def create_router() -> Router:
    """The buttons of a decision; the typed reason is a flow step (see app.bot.routing)."""
    router = Router(name="moderation")
    router.callback_query.register(on_approve, ModCb.filter(F.action == "approve"))
    router.callback_query.register(on_reject, ModCb.filter(F.action == "reject"))
    router.callback_query.register(on_back, ModCb.filter(F.action == "back"))
    router.callback_query.register(on_canned_reason, ModCb.filter(F.action == "reason"))
    router.callback_query.register(on_other_reason, ModCb.filter(F.action == "other"))
    router.callback_query.register(on_edit, OnMessage(), ModCb.filter(F.action == "edit"))
    router.callback_query.register(
        on_keep, OnMessage(), ModCb.filter(F.action == "keep"), StateFilter(EditFlow)
    )
    router.callback_query.register(on_edit_cancel, OnMessage(), ModCb.filter(F.action == "edit_cancel"))
    return router


def route(routing: MessageRouting) -> None:
    """While the reject flow waits for a typed reason, the next message is that reason."""
    routing.add(
        Stage.FLOW_STEP, "reject flow: the typed reason", on_typed_reason, StateFilter(RejectFlow.reason)
    )
    routing.add(Stage.FLOW_STEP, "edit flow: the new text", on_edit_answer, StateFilter(EditFlow))
