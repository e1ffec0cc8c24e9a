"""Support in the bot: questions answered from the knowledge base, the rest handed to operators.

Free text reaches here through the message routing: a user with an open ticket talks in it
(Stage.OPEN_TICKET), anyone else's question goes to the knowledge base (Stage.KNOWLEDGE_BASE).
A confident match is answered at once, near ones are offered as "Did you mean…?", and nothing
close opens a ticket. Operators who linked their Telegram answer a ticket by replying to the
bot's message about it.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging

import asyncpg
from aiogram import Bot, F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import CommandObject, CommandStart, Filter
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyParameters,
)

from app.bot.callbacks import MenuCb, SupportCb
from app.bot.routing import MessageRouting, Stage
from app.bot.support_messages import NOTICE_MARKS
from app.db.queries.support import KbAnswer
from app.db.queries.support_desk import NewMessage
from app.domain import staff as staff_domain
from app.domain.actors import StaffMember, TelegramUser
from app.domain.support import desk, kb, matching, normalize
from app.domain.support.cache import AnswerCache, Decision
from app.domain.support.counters import DeskCounters
from app.domain.support.ports import DeskMessages
from app.domain.support.settings import DeskSettings
from app.i18n import Gettext, UserError
from app.storage import Storage

log = logging.getLogger(__name__)

LINK_PREFIX = "op_"
BUTTON_LENGTH = 60
MAX_FILE_BYTES = 20 * 1024 * 1024  # what the Bot API lets a bot download


def _cb(action: str, id: int = 0, value: int = 0) -> str:
    return SupportCb(action=action, id=id, value=value).pack()


def _human_button(_: Gettext) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=_("🙋 Talk to a person"), callback_data=_cb("human"))


def _answer_markup(answer: KbAnswer, _: Gettext, entries: dict[str, int]) -> InlineKeyboardMarkup:
    """The answer's own buttons (other entries, URLs), then "Did this help? 👍 / 👎"."""
    rows: list[list[InlineKeyboardButton]] = []
    for b in answer.buttons:
        if b.url:
            rows.append([InlineKeyboardButton(text=b.text, url=b.url)])
        elif b.entry and b.entry in entries:
            rows.append([InlineKeyboardButton(text=b.text, callback_data=_cb("entry", entries[b.entry]))])
    rows.append(
        [
            InlineKeyboardButton(text="👍", callback_data=_cb("yes", answer.entry_id)),
            InlineKeyboardButton(text=_("👎 Talk to a person"), callback_data=_cb("no", answer.entry_id)),
        ]
    )
    return InlineKeyboardMarkup(inline_keyboard=rows)


def _answer_text(answer: KbAnswer, _: Gettext) -> str:
    question = _("Did this help?")
    return f"{answer.text}\n\n{question}"


async def _linked_entries(pool: asyncpg.Pool, answer: KbAnswer) -> dict[str, int]:
    keys = [b.entry for b in answer.buttons if b.entry]
    if not keys:
        return {}
    async with pool.acquire() as conn:
        found = [await kb.get_entry(conn, key) for key in keys]
    return {e.entry.key: e.entry.id for e in found if e is not None and e.entry.enabled}


async def _send_answer(
    message: Message, answer: KbAnswer, _: Gettext, pool: asyncpg.Pool, media: Storage, reply_to: int | None
) -> None:
    markup = _answer_markup(answer, _, await _linked_entries(pool, answer))
    reply = ReplyParameters(message_id=reply_to, allow_sending_without_reply=True) if reply_to else None
    if answer.photo_key:
        try:
            stored = await media.get(answer.photo_key)
            await message.answer_photo(
                BufferedInputFile(stored.data, "answer.jpg"),
                caption=_answer_text(answer, _)[:1024],
                reply_markup=markup,
                reply_parameters=reply,
            )
            return
        except Exception as exc:  # the text alone rather than nothing
            log.warning("answer photo %s not sent: %s", answer.photo_key, exc)
    await message.answer(_answer_text(answer, _), reply_markup=markup, reply_parameters=reply)


def _opened_text(taken: desk.Taken, settings: DeskSettings, _: Gettext) -> str:
    lines = [
        _(
            "Your question is with an operator (request #{id}). They will answer here; "
            "meanwhile you can add details, photos or documents."
        ).format(id=taken.ticket.id)
    ]
    opening = settings.next_opening(dt.datetime.now(dt.UTC))
    if opening is not None:
        lines.append(
            _("Operators work {hours} ({zone}); expect an answer after {when}.").format(
                hours=settings.hours.replace("-", "–"), zone=settings.timezone, when=f"{opening:%d.%m %H:%M}"
            )
        )
    return "\n\n".join(lines)


async def _escalate(
    chat: Message,
    user_id: int,
    text: str,
    *,
    pool: asyncpg.Pool,
    lang: str,
    desk_settings: DeskSettings,
    desk_messages: DeskMessages,
    _: Gettext,
    quiet_if_joined: bool = False,
) -> None:
    """Hand the question to the operators and tell the user. With `quiet_if_joined`, a message
    that joined a ticket already open (one from the same getUpdates batch as the message that
    opened it, journaled before that) says nothing more, as in the open ticket."""
    async with pool.acquire() as conn, conn.transaction():
        taken = await desk.take_message(
            conn,
            TelegramUser(user_id),
            NewMessage("user", text[: desk.MAX_TEXT]),
            language=lang,
            settings=desk_settings,
            msgs=desk_messages,
        )
    if quiet_if_joined and not taken.opened:
        return
    await chat.answer(_opened_text(taken, desk_settings, _))


# Free messages ----------------------------------------------------------------------------


class Question(Filter):
    """Text that is not a command."""

    async def __call__(self, message: Message) -> bool:
        text = message.text
        return text is not None and text != "" and not text.startswith("/")


class InOpenTicket(Filter):
    """The user has a ticket that is not closed (the journal middleware read it with the update)."""

    async def __call__(self, message: Message, support_ticket: bool = False) -> bool:
        return support_ticket


class RepliesToNotice(Filter):
    """A reply to one of the bot's ticket notices (an operator answering); they all begin with
    one of NOTICE_MARKS, so a user replying to an ordinary answer costs no database query."""

    async def __call__(self, message: Message, bot: Bot) -> bool:
        replied = message.reply_to_message
        if replied is None or replied.from_user is None or replied.from_user.id != bot.id:
            return False
        return (replied.text or replied.caption or "").startswith(NOTICE_MARKS)


async def on_question(
    message: Message,
    pool: asyncpg.Pool,
    lang: str,
    desk_settings: DeskSettings,
    desk_messages: DeskMessages,
    media: Storage,
    answer_cache: AnswerCache,
    desk_counters: DeskCounters,
    _: Gettext,
) -> None:
    text = message.text or ""
    decision = await _decide(pool, answer_cache, text, lang, desk_settings)
    result, answer = decision.result, decision.answer
    if answer is not None:
        desk_counters.add("auto", desk_settings)
        await _send_answer(message, answer, _, pool, media, message.message_id)
    elif result.suggestions:
        desk_counters.add("offered", desk_settings)
        rows = [
            [InlineKeyboardButton(text=_shorten(s.question), callback_data=_cb("pick", s.entry_id))]
            for s in result.suggestions
        ]
        rows.append([_human_button(_)])
        await message.answer(
            _("Did you mean…?"),
            reply_markup=InlineKeyboardMarkup(inline_keyboard=rows),
            reply_parameters=ReplyParameters(message_id=message.message_id, allow_sending_without_reply=True),
        )
    else:
        assert message.from_user is not None
        await _escalate(
            message,
            message.from_user.id,
            text,
            pool=pool,
            lang=lang,
            desk_settings=desk_settings,
            desk_messages=desk_messages,
            _=_,
            quiet_if_joined=True,
        )


@functools.lru_cache(maxsize=4096)
def _terms(text: str, lang: str) -> tuple[str, ...]:
    """The question's terms; the same text typed again (it is, often) is not analysed again."""
    return normalize.analyse(text, lang).terms


async def _decide(
    pool: asyncpg.Pool, cache: AnswerCache, text: str, lang: str, settings: DeskSettings
) -> Decision:
    """The matcher's decision on the question, from the cache when the same terms were asked."""
    key = (lang, _terms(text, lang), settings.thresholds)
    decision = cache.get(key)
    if decision is None:
        async with pool.acquire() as conn:
            result = await matching.match_terms(conn, key[1], lang, settings.thresholds)
            answer = await kb.answer_for(conn, result.auto.entry_id, lang) if result.auto else None
        decision = Decision(result, answer)
        cache.put(key, decision)
    return decision


def _shorten(text: str) -> str:
    return text if len(text) <= BUTTON_LENGTH else text[: BUTTON_LENGTH - 1] + "…"


async def on_ticket_message(
    message: Message,
    bot: Bot,
    pool: asyncpg.Pool,
    lang: str,
    desk_settings: DeskSettings,
    desk_messages: DeskMessages,
    media: Storage,
    _: Gettext,
) -> None:
    """A message while the user's ticket is open joins it: text, a photo or a document."""
    assert message.from_user is not None
    new = await _user_content(message, bot, media)
    if new is None:
        await message.answer(_("I can pass on text, photos and documents to the operator."))
        return
    async with pool.acquire() as conn, conn.transaction():
        taken = await desk.take_message(
            conn,
            TelegramUser(message.from_user.id),
            new,
            language=lang,
            settings=desk_settings,
            msgs=desk_messages,
        )
    if taken.opened:  # closed meanwhile by an operator: this message reopened it
        await message.answer(_opened_text(taken, desk_settings, _))


async def _user_content(message: Message, bot: Bot, media: Storage) -> NewMessage | None:
    caption = (message.caption or "")[: desk.MAX_TEXT]
    if message.text:
        return NewMessage("user", message.text[: desk.MAX_TEXT], tg_message_id=message.message_id)
    if message.photo:
        photo = message.photo[-1]
        key = await _keep(
            bot, media, photo.file_id, f"support/{message.chat.id}/{photo.file_unique_id}.jpg", "image/jpeg"
        )
        return NewMessage(
            "user",
            caption,
            file_kind="photo",
            file_id=photo.file_id,
            storage_key=key,
            tg_message_id=message.message_id,
        )
    if message.document:
        doc = message.document
        return NewMessage(
            "user",
            caption,
            file_kind="document",
            file_id=doc.file_id,
            file_name=(doc.file_name or "document")[:300],
            tg_message_id=message.message_id,
        )
    return None


async def _keep(bot: Bot, media: Storage, file_id: str, key: str, content_type: str) -> str | None:
    """Our copy of a user's photo, so the panel shows it; None when Telegram would not give it."""
    try:
        data = await bot.download(file_id)
        if data is None:
            return None
        await media.put(key, data.read(), content_type)
        return key
    except Exception as exc:
        log.warning("could not keep support photo %s: %s", file_id, exc)
        return None


async def on_operator_reply(
    message: Message, bot: Bot, pool: asyncpg.Pool, desk_messages: DeskMessages, media: Storage, _: Gettext
) -> None:
    """A linked operator replies to a ticket's notice: the answer lands in the ticket as if typed
    in the panel. Any other reply to the bot goes on down the routing."""
    assert message.from_user is not None and message.reply_to_message is not None
    async with pool.acquire() as conn:
        found = await desk.ticket_replied_to(conn, message.from_user.id, message.reply_to_message.message_id)
        staff = await staff_domain.get_staff(conn, found[0].id) if found else None
    if found is None or staff is None:
        raise SkipHandler()
    photo_key = None
    if message.photo:
        photo = message.photo[-1]
        photo_key = await _keep(
            bot, media, photo.file_id, f"support/answers/{photo.file_unique_id}.jpg", "image/jpeg"
        )
    text = message.text or message.caption or ""
    try:
        async with pool.acquire() as conn, conn.transaction():
            await desk.reply(
                conn,
                StaffMember(staff),
                found[1],
                text,
                msgs=desk_messages,
                photo_key=photo_key,
                via="telegram",
            )
    except UserError as exc:
        await message.reply(exc.text(_))
        return
    await message.reply(_("✅ Sent to ticket #{id}.").format(id=found[1]))


# Buttons ----------------------------------------------------------------------------------


async def on_menu(query: CallbackQuery, pool: asyncpg.Pool, _: Gettext) -> None:
    await query.answer()
    async with pool.acquire() as conn:
        open_ticket = await desk.has_active_ticket(conn, query.from_user.id)
    text = (
        _("Your request is with an operator: write here to add to it.")
        if open_ticket
        else _("Type your question in a message: I will answer at once if I know, or pass it to an operator.")
    )
    if isinstance(query.message, Message):
        back = InlineKeyboardButton(text=_("⬅️ Back"), callback_data=MenuCb(action="home").pack())
        await query.message.edit_text(text, reply_markup=InlineKeyboardMarkup(inline_keyboard=[[back]]))


async def on_pick(
    query: CallbackQuery,
    callback_data: SupportCb,
    pool: asyncpg.Pool,
    lang: str,
    media: Storage,
    desk_settings: DeskSettings,
    desk_counters: DeskCounters,
    _: Gettext,
) -> None:
    """A "Did you mean…?" choice, or an answer's button to another entry: that entry's answer."""
    async with pool.acquire() as conn:
        answer = await kb.answer_for(conn, callback_data.id, lang)
        enabled = answer is not None and await kb.is_enabled(conn, callback_data.id)
    if answer is None or not enabled or not isinstance(query.message, Message):
        await query.answer(_("This button is no longer valid."), show_alert=True)
        return
    await query.answer()
    if callback_data.action == "pick":
        desk_counters.add("picked", desk_settings)
    question = query.message.reply_to_message
    if callback_data.action == "pick" and not answer.photo_key:
        markup = _answer_markup(answer, _, await _linked_entries(pool, answer))
        await query.message.edit_text(_answer_text(answer, _), reply_markup=markup)
        return
    await _send_answer(query.message, answer, _, pool, media, question.message_id if question else None)


async def on_helped(
    query: CallbackQuery, desk_settings: DeskSettings, desk_counters: DeskCounters, _: Gettext
) -> None:
    desk_counters.add("helpful", desk_settings)
    await query.answer(_("Glad I could help!"))
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=None)


async def on_human(
    query: CallbackQuery,
    callback_data: SupportCb,
    pool: asyncpg.Pool,
    lang: str,
    desk_settings: DeskSettings,
    desk_messages: DeskMessages,
    desk_counters: DeskCounters,
    _: Gettext,
) -> None:
    """👎 or "Talk to a person": the question the message answered goes to an operator."""
    if not isinstance(query.message, Message):
        await query.answer(_("This button is no longer valid."), show_alert=True)
        return
    await query.answer()
    if callback_data.action == "no":
        desk_counters.add("unhelpful", desk_settings)
    replied = query.message.reply_to_message
    question = (replied.text or replied.caption or "") if replied else ""
    await query.message.edit_reply_markup(reply_markup=None)
    await _escalate(
        query.message,
        query.from_user.id,
        question or _("I would like to talk to a person."),
        pool=pool,
        lang=lang,
        desk_settings=desk_settings,
        desk_messages=desk_messages,
        _=_,
    )


async def on_talk(
    query: CallbackQuery,
    pool: asyncpg.Pool,
    lang: str,
    desk_settings: DeskSettings,
    desk_messages: DeskMessages,
    _: Gettext,
) -> None:
    """The menu's "Talk to a person": a ticket for the operators (the menu stays)."""
    if not isinstance(query.message, Message):
        await query.answer(_("This button is no longer valid."), show_alert=True)
        return
    await query.answer()
    await _escalate(
        query.message,
        query.from_user.id,
        _("I would like to talk to a person."),
        pool=pool,
        lang=lang,
        desk_settings=desk_settings,
        desk_messages=desk_messages,
        _=_,
    )


async def on_rate(query: CallbackQuery, callback_data: SupportCb, pool: asyncpg.Pool, _: Gettext) -> None:
    async with pool.acquire() as conn:
        done = await desk.rate(conn, TelegramUser(query.from_user.id), callback_data.id, callback_data.value)
    if not done:
        await query.answer(_("This button is no longer valid."), show_alert=True)
        return
    await query.answer(_("Thank you!"))
    if isinstance(query.message, Message):
        await query.message.edit_text(
            _("Thank you for your rating: {stars}").format(stars="⭐" * callback_data.value),
            reply_markup=None,
        )


async def on_link(message: Message, command: CommandObject, pool: asyncpg.Pool, _: Gettext) -> None:
    """The deep link from the panel's "My account": this Telegram account becomes the operator's."""
    assert message.from_user is not None
    token = (command.args or "").removeprefix(LINK_PREFIX)
    async with pool.acquire() as conn, conn.transaction():
        operator = await desk.link_telegram(conn, token, message.from_user.id)
    if operator is None:
        await message.answer(_("This link is no longer valid. Open “My account” in the panel for a new one."))
        return
    await message.answer(
        _(
            "Your Telegram is linked to the panel account {name}. New tickets will come here; "
            "reply to one to answer the user."
        ).format(name=operator.name)
    )


def create_router() -> Router:
    router = Router(name="support")
    router.message.register(on_link, CommandStart(deep_link=True, magic=F.args.startswith(LINK_PREFIX)))
    router.callback_query.register(on_menu, MenuCb.filter(F.action == "support"))
    router.callback_query.register(on_talk, MenuCb.filter(F.action == "human"))
    router.callback_query.register(on_pick, SupportCb.filter(F.action.in_({"pick", "entry"})))
    router.callback_query.register(on_helped, SupportCb.filter(F.action == "yes"))
    router.callback_query.register(on_human, SupportCb.filter(F.action.in_({"no", "human"})))
    router.callback_query.register(on_rate, SupportCb.filter(F.action == "rate"))
    return router


def route(routing: MessageRouting) -> None:
    routing.add(
        Stage.OPEN_TICKET, "support: an operator's reply on Telegram", on_operator_reply, RepliesToNotice()
    )
    routing.add(Stage.OPEN_TICKET, "support: a message in the open ticket", on_ticket_message, InOpenTicket())
    routing.add(Stage.KNOWLEDGE_BASE, "support: a question for the knowledge base", on_question, Question())
