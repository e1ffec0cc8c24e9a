"""🎯 Tasks (T1, T2, T4): what the user can still do, the Check that credits once, screenshots
for review (a routed message at Stage.SCREENSHOT), and chat_member updates that take back a
reward when someone leaves too soon."""

from __future__ import annotations

import contextlib
import logging
from datetime import UTC, datetime

import asyncpg
from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    ChatMemberUpdated,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from app.bot.callbacks import MenuCb, TaskCb
from app.bot.member_checks import MemberChecks
from app.bot.routing import MessageRouting, Stage
from app.domain import ledger, tasks
from app.domain.actors import TelegramUser
from app.domain.users import Languages
from app.i18n import Gettext

log = logging.getLogger(__name__)
SLOW_CHECK_SECONDS = 3.0  # a longer wait for a turn is answered at once, the result by message


class TaskFlow(StatesGroup):
    screenshot = State()  # the next photo is the screenshot for the chosen task
    withdraw = State()  # the next message is the number of points to withdraw


def _now() -> datetime:
    return datetime.now(UTC)


async def tasks_view(
    pool: asyncpg.Pool, user_id: int, _: Gettext, lang: str
) -> tuple[str, InlineKeyboardMarkup]:
    """The list: the balance, each open task with Join and Check (or Send a screenshot)."""
    async with pool.acquire() as conn:
        todo = await tasks.open_tasks(conn, TelegramUser(user_id), _now())
        points = await ledger.balance(conn, user_id)
    lines = [_("Your balance: {balance} points.").format(balance=points.balance)]
    rows: list[list[InlineKeyboardButton]] = []
    if not todo:
        lines.append(_("There are no tasks for you right now. Come back later!"))
    else:
        lines.append(_("Join a chat, then press Check to get the points:"))
    for number, task in enumerate(todo, 1):
        lines.append(f"\n{number}. {task.title(lang)} — +{task.reward}")
        if task.description(lang):
            lines.append(task.description(lang))
        second = (
            InlineKeyboardButton(
                text=_("✅ Check {number}").format(number=number),
                callback_data=TaskCb(action="check", task_id=task.id).pack(),
            )
            if task.verification == tasks.Verification.AUTO
            else InlineKeyboardButton(
                text=_("📸 Screenshot {number}").format(number=number),
                callback_data=TaskCb(action="shot", task_id=task.id).pack(),
            )
        )
        rows.append(
            [
                InlineKeyboardButton(text=_("➕ Join {number}").format(number=number), url=task.join_url),
                second,
            ]
        )
    if points.available >= ledger.MIN_WITHDRAWAL:
        withdraw = TaskCb(action="withdraw", task_id=0).pack()
        rows.append([InlineKeyboardButton(text=_("💸 Withdraw points"), callback_data=withdraw)])
    rows.append([InlineKeyboardButton(text=_("⬅️ Back"), callback_data=MenuCb(action="home").pack())])
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


async def on_tasks(query: CallbackQuery, pool: asyncpg.Pool, bot: Bot, _: Gettext, lang: str) -> None:
    text, keyboard = await tasks_view(pool, query.from_user.id, _, lang)
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_text(text, reply_markup=keyboard)
    else:
        await bot.send_message(query.from_user.id, text, reply_markup=keyboard)


async def on_check(
    query: CallbackQuery,
    callback_data: TaskCb,
    pool: asyncpg.Pool,
    bot: Bot,
    member_checks: MemberChecks,
    _: Gettext,
    lang: str,
) -> None:
    """Ask Telegram whether the user joined; a member is credited once, told the new balance."""
    user = TelegramUser(query.from_user.id)
    try:
        async with pool.acquire() as conn:
            task = await tasks.task_to_check(conn, callback_data.task_id, user, _now())
    except tasks.TaskError as exc:
        await query.answer(exc.text(_), show_alert=True)
        return
    answered = member_checks.expected_wait() > SLOW_CHECK_SECONDS
    if answered:  # many people check at once: the answer must not wait for our turn
        await query.answer(_("Checking… the answer comes in a message."))
    assert task.chat_id is not None  # task_to_check returns automatic tasks with a chat only
    member = await member_checks.probe(bot, task.chat_id, user.user_id)
    if member is None:
        said = _(
            "Telegram could not tell right now whether you joined. Please press Check again in a minute."
        )
    elif not member:
        said = _("You have not joined {chat} yet. Press Join, then Check again.").format(
            chat=task.chat_title or task.chat_ref
        )
    else:
        try:
            async with pool.acquire() as conn:
                credited = await tasks.credit_member(conn, task, user, _now())
        except tasks.TaskError as exc:
            said = exc.text(_)
        else:
            said = _("✅ Done! +{reward} points. Your balance: {balance} points.").format(
                reward=credited.reward, balance=credited.balance
            )
            await _refresh(query, pool, _, lang)
    await _say(query, bot, said, answered)


async def _refresh(query: CallbackQuery, pool: asyncpg.Pool, _: Gettext, lang: str) -> None:
    """Redraw the list without the task just done (the message may be too old to edit)."""
    if not isinstance(query.message, Message):
        return
    text, keyboard = await tasks_view(pool, query.from_user.id, _, lang)
    with contextlib.suppress(TelegramBadRequest):
        await query.message.edit_text(text, reply_markup=keyboard)


async def _say(query: CallbackQuery, bot: Bot, text: str, answered: bool) -> None:
    if not answered:
        try:
            await query.answer(text, show_alert=True)
            return
        except TelegramBadRequest:  # the query grew too old while waiting: write instead
            pass
    await bot.send_message(query.from_user.id, text)


async def on_screenshot_button(
    query: CallbackQuery, callback_data: TaskCb, state: FSMContext, pool: asyncpg.Pool, bot: Bot, _: Gettext
) -> None:
    async with pool.acquire() as conn:
        task = await tasks.get_task(conn, callback_data.task_id)
    if task is None or not task.active:
        await query.answer(_("This task is no longer available."), show_alert=True)
        return
    await state.set_state(TaskFlow.screenshot)
    await state.update_data(task_id=task.id)
    await query.answer()
    await bot.send_message(
        query.from_user.id,
        _("Join {chat}, then send a screenshot that shows it here as a photo.").format(
            chat=task.chat_title or task.chat_ref
        ),
    )


async def on_screenshot(message: Message, state: FSMContext, pool: asyncpg.Pool, _: Gettext) -> None:
    """The routed message while a task waits for its screenshot."""
    if not message.photo or message.from_user is None:
        await message.answer(_("Please send the screenshot as a photo (or /start to leave)."))
        return
    task_id = (await state.get_data()).get("task_id")
    await state.clear()
    if not isinstance(task_id, int):
        return
    try:
        async with pool.acquire() as conn:
            await tasks.submit_screenshot(
                conn, task_id, TelegramUser(message.from_user.id), message.photo[-1].file_id, _now()
            )
    except tasks.TaskError as exc:
        await message.answer(exc.text(_))
        return
    await message.answer(_("Thank you! Your screenshot is sent for review; you will be told the result."))


async def on_withdraw_button(
    query: CallbackQuery, state: FSMContext, pool: asyncpg.Pool, bot: Bot, _: Gettext
) -> None:
    async with pool.acquire() as conn:
        points = await ledger.balance(conn, query.from_user.id)
    await state.set_state(TaskFlow.withdraw)
    await query.answer()
    await bot.send_message(
        query.from_user.id,
        _(
            "How many points do you want to withdraw? You have {available}; the smallest "
            "withdrawal is {minimum}. Type a number (or /start to leave)."
        ).format(available=points.available, minimum=ledger.MIN_WITHDRAWAL),
    )


async def on_withdraw_amount(message: Message, state: FSMContext, pool: asyncpg.Pool, _: Gettext) -> None:
    """The routed message while the withdrawal waits for its amount."""
    text = (message.text or "").strip().replace(" ", "")
    if message.from_user is None:
        return
    if not text.isdigit() or len(text) > 12:
        await message.answer(_("Please type the number of points, like 150."))
        return
    try:
        async with pool.acquire() as conn:
            request = await ledger.request_withdrawal(conn, message.from_user.id, int(text))
    except ledger.LedgerError as exc:
        await message.answer(exc.text(_))
        return
    await state.clear()
    await message.answer(
        _(
            "Your request #{id} to withdraw {amount} points is sent. The points are set aside; "
            "staff will pay you and tell you the payout reference."
        ).format(id=request.id, amount=request.amount)
    )


async def on_chat_member(
    event: ChatMemberUpdated,
    pool: asyncpg.Pool,
    task_messages: tasks.TaskMessages,
    languages: Languages,
) -> None:
    """Someone left a chat where the bot is an administrator: take back rewards given too soon."""
    if event.chat.type == ChatType.PRIVATE:
        return
    old, new = event.old_chat_member, event.new_chat_member
    was = tasks.is_member(old.status, getattr(old, "is_member", None))
    now_in = tasks.is_member(new.status, getattr(new, "is_member", None))
    if not was or now_in:
        return
    async with pool.acquire() as conn:
        taken = await tasks.member_left(
            conn, event.chat.id, new.user.id, event.date, msgs=task_messages, languages=languages
        )
    if taken:
        log.info("user %s left chat %s: %d reward(s) taken back", new.user.id, event.chat.id, len(taken))


def create_router() -> Router:
    router = Router(name="tasks")
    router.callback_query.register(on_tasks, MenuCb.filter(F.action == "tasks"))
    router.callback_query.register(on_check, TaskCb.filter(F.action == "check"))
    router.callback_query.register(on_screenshot_button, TaskCb.filter(F.action == "shot"))
    router.callback_query.register(on_withdraw_button, TaskCb.filter(F.action == "withdraw"))
    router.chat_member.register(on_chat_member)
    return router


def route(routing: MessageRouting) -> None:
    """While a task waits for its screenshot, the next message is that screenshot; while a
    withdrawal waits for its amount, the next message is that amount (a flow step)."""
    routing.add(Stage.FLOW_STEP, "withdrawal: the amount", on_withdraw_amount, StateFilter(TaskFlow.withdraw))
    routing.add(Stage.SCREENSHOT, "task screenshot", on_screenshot, StateFilter(TaskFlow.screenshot))
