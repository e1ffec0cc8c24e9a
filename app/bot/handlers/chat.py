"""The web chat in the bot: "Write to the seller", writing through the bot, signing in on the web.

A buyer from a channel post chooses "Write here" (their messages go to the seller through the
bot; neither sees the other's phone or username) or "Open the web chat" (a one-time sign-in
link). Both are the same conversation as on the web. Free messages of someone writing here
reach this area at Stage.CHAT_RELAY (app/bot/routing.py), as do replies to a relayed message.
"""

from __future__ import annotations

import io
import logging

import asyncpg
from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Filter, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReactionTypeEmoji,
)

from app.bot.callbacks import ChatCb, MenuCb
from app.bot.chat_messages import BotChatMessages
from app.bot.keyboards import main_menu
from app.bot.routing import MessageRouting, Stage
from app.config import Config
from app.db.queries.chat import Via
from app.domain.ads import format_price
from app.domain.ads import published_ad as find_published_ad
from app.domain.ads.model import Price
from app.domain.chat import accounts, conversations, photos
from app.domain.chat.conversations import ChatError
from app.domain.support.menus import MenuTree
from app.domain.users import Languages
from app.i18n import Gettext, Translator
from app.storage import Storage

log = logging.getLogger(__name__)
LOGIN_PREFIX = "login_"


class ChatRelay(StatesGroup):
    writing = State()  # free messages go to the conversation in the state's data


def _button(text: str, action: str, value: int = 0) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=ChatCb(action=action, value=value).pack())


async def sign_in_from_start(
    message: Message, token: str, pool: asyncpg.Pool, _: Gettext, lang: str, menu_tree: MenuTree
) -> None:
    """/start login_<token>: the web page waiting for this token signs in as this user."""
    if message.from_user is None:
        return
    async with pool.acquire() as conn, conn.transaction():
        said = await accounts.confirm_from_bot(conn, token[:100], message.from_user.id)
    await message.answer(said.text(_), reply_markup=main_menu(_, lang, menu_tree))


async def offer(
    message: Message, ad_id: int, pool: asyncpg.Pool, _: Gettext, lang: str, menu_tree: MenuTree
) -> None:
    """/start ad_<id> ("Write to the seller" under a channel post): write here or on the web."""
    async with pool.acquire() as conn:
        ad = await find_published_ad(conn, ad_id)
    if ad is None:
        await message.answer(_("This ad is no longer available."), reply_markup=main_menu(_, lang, menu_tree))
        return
    if message.from_user is not None and ad.seller_id == message.from_user.id:
        await message.answer(_("This is your own ad."), reply_markup=main_menu(_, lang, menu_tree))
        return
    price = format_price(Price(ad.price, ad.currency, ad.negotiable), _)
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [_button(_("✍️ Write here"), "here", ad.id)],
            [_button(_("🌐 Open the web chat"), "web", ad.id)],
        ]
    )
    text = _(
        "“{title}”, {price}.\n\nWrite to the seller here, through the bot (neither of you sees "
        "the other's phone number or username), or in the web chat."
    ).format(title=ad.title, price=price)
    await message.answer(text, reply_markup=keyboard)


async def _start_conversation(query: CallbackQuery, ad_id: int, pool: asyncpg.Pool, _: Gettext) -> int | None:
    try:
        async with pool.acquire() as conn, conn.transaction():
            buyer = await accounts.account_for_telegram(conn, query.from_user.id)
            conversation = await conversations.start_about_ad(conn, buyer, ad_id)
    except ChatError as exc:
        await query.answer(exc.text(_), show_alert=True)
        return None
    return conversation.id


async def _write_here(
    query: CallbackQuery, conversation_id: int, state: FSMContext, pool: asyncpg.Pool
) -> None:
    async with pool.acquire() as conn, conn.transaction():
        account = await accounts.account_for_telegram(conn, query.from_user.id)
        await conversations.set_relay(conn, account.id, conversation_id, True)
        card = await conversations.view(conn, account.id, conversation_id)
    await state.set_state(ChatRelay.writing)
    await state.set_data({"conversation_id": conversation_id, "peer": card.peer_name})


async def on_here(
    query: CallbackQuery, callback_data: ChatCb, state: FSMContext, pool: asyncpg.Pool, _: Gettext
) -> None:
    conversation_id = await _start_conversation(query, callback_data.value, pool, _)
    if conversation_id is None:
        return
    await _write_here(query, conversation_id, state, pool)
    await query.answer()
    if query.message is not None:
        await query.message.answer(
            _(
                "Write your message to the seller: text or a photo. "
                "They will not see your phone number or username."
            ),
            reply_markup=InlineKeyboardMarkup(inline_keyboard=[[_button(_("✖️ Stop writing here"), "end")]]),
        )


async def on_web(
    query: CallbackQuery, callback_data: ChatCb, pool: asyncpg.Pool, config: Config, _: Gettext
) -> None:
    conversation_id = await _start_conversation(query, callback_data.value, pool, _)
    if conversation_id is not None:
        await _send_web_link(query, conversation_id, pool, config, _)


async def on_open(
    query: CallbackQuery, callback_data: ChatCb, pool: asyncpg.Pool, config: Config, _: Gettext
) -> None:
    if await _member_account(query, callback_data.value, pool, _) is not None:
        await _send_web_link(query, callback_data.value, pool, config, _)


async def on_web_chat(query: CallbackQuery, pool: asyncpg.Pool, config: Config, _: Gettext) -> None:
    """The menu's "Web chat": a one-time sign-in link to their conversations on the web."""
    await _send_web_link(query, None, pool, config, _)


async def _send_web_link(
    query: CallbackQuery, conversation_id: int | None, pool: asyncpg.Pool, config: Config, _: Gettext
) -> None:
    path = "/chat" if conversation_id is None else f"/chat/c/{conversation_id}"
    async with pool.acquire() as conn, conn.transaction():
        token = await accounts.web_link(conn, query.from_user.id, path)
    await query.answer()
    if query.message is not None:
        link = f"{config.base_url}/chat/login/once/{token}"
        await query.message.answer(
            _("Open the web chat (the link works once, for 30 minutes):\n{link}").format(link=link)
        )


async def _member_account(
    query: CallbackQuery, conversation_id: int, pool: asyncpg.Pool, _: Gettext
) -> int | None:
    async with pool.acquire() as conn:
        account = await accounts.telegram_account(conn, query.from_user.id)
        try:
            if account is None:
                raise conversations.ConversationNotFound()
            await conversations.view(conn, account.id, conversation_id)
        except ChatError:
            await query.answer(_("This button is no longer valid."), show_alert=True)
            return None
    return account.id


async def on_reply(
    query: CallbackQuery, callback_data: ChatCb, state: FSMContext, pool: asyncpg.Pool, _: Gettext
) -> None:
    """Reply to a relayed message or a notice: the next messages go to that conversation."""
    if await _member_account(query, callback_data.value, pool, _) is None:
        return
    await _write_here(query, callback_data.value, state, pool)
    peer = (await state.get_data()).get("peer", "")
    await query.answer()
    if query.message is not None:
        await query.message.answer(
            _("Write your reply to {name}: text or a photo.").format(name=peer),
            reply_markup=InlineKeyboardMarkup(inline_keyboard=[[_button(_("✖️ Stop writing here"), "end")]]),
        )


async def on_end(query: CallbackQuery, state: FSMContext, _: Gettext, lang: str, menu_tree: MenuTree) -> None:
    if await state.get_state() == ChatRelay.writing.state:
        await state.clear()
    await query.answer()
    if query.message is not None:
        await query.message.answer(
            _("You stopped writing here. New messages still reach you here, with a Reply button."),
            reply_markup=main_menu(_, lang, menu_tree),
        )


# --- free messages: writing through the bot ------------------------------------------------------------


class RepliesToChat(Filter):
    """A reply (Telegram's "reply to") to a relayed message or a notice: its conversation."""

    async def __call__(self, message: Message, pool: asyncpg.Pool) -> bool | dict[str, int]:
        replied = message.reply_to_message
        if replied is None or message.from_user is None:
            return False
        async with pool.acquire() as conn:
            found = await conversations.conversation_of_relay(conn, message.from_user.id, replied.message_id)
        return False if found is None else {"conversation_id": found}


async def on_relay_message(
    message: Message,
    state: FSMContext,
    pool: asyncpg.Pool,
    bot: Bot,
    media: Storage,
    translator: Translator,
    languages: Languages,
    _: Gettext,
) -> None:
    conversation_id = int((await state.get_data()).get("conversation_id", 0))
    await _relay(message, conversation_id, pool, bot, media, translator, languages, _)


async def on_reply_message(
    message: Message,
    conversation_id: int,
    state: FSMContext,
    pool: asyncpg.Pool,
    bot: Bot,
    media: Storage,
    translator: Translator,
    languages: Languages,
    _: Gettext,
) -> None:
    await _relay(message, conversation_id, pool, bot, media, translator, languages, _)


async def _relay(
    message: Message,
    conversation_id: int,
    pool: asyncpg.Pool,
    bot: Bot,
    media: Storage,
    translator: Translator,
    languages: Languages,
    _: Gettext,
) -> None:
    if message.from_user is None:
        return
    body = message.text or message.caption or ""
    photo_key = None
    if message.photo:
        size = message.photo[-1].file_size
        if size and size > photos.MAX_BYTES:
            await message.answer(_("This photo is too large: at most 10 MB."))
            return
        data = io.BytesIO()
        await bot.download(message.photo[-1], destination=data)
        try:
            photo_key = await photos.store(media, data.getvalue())
        except ChatError as exc:
            await message.answer(exc.text(_))
            return
    elif not message.text:
        await message.answer(_("Only text and photos go to the chat."))
        return
    try:
        async with pool.acquire() as conn, conn.transaction():
            sender = await accounts.account_for_telegram(conn, message.from_user.id)
            await conversations.send(
                conn,
                sender,
                conversation_id,
                body=body,
                photo_key=photo_key,
                via=Via.TELEGRAM,
                client_id=f"tg:{message.chat.id}:{message.message_id}",  # a re-delivered update: once
                msgs=BotChatMessages(translator),
                languages=languages,
            )
    except ChatError as exc:
        await message.answer(exc.text(_))
        return
    try:  # a 👍 on their message: it reached the conversation
        await message.react([ReactionTypeEmoji(emoji="👍")])
    except TelegramAPIError as exc:
        log.info("could not react to a relayed message: %s", exc)


def create_router() -> Router:
    router = Router(name="chat")
    router.callback_query.register(on_here, ChatCb.filter(F.action == "here"))
    router.callback_query.register(on_web, ChatCb.filter(F.action == "web"))
    router.callback_query.register(on_open, ChatCb.filter(F.action == "open"))
    router.callback_query.register(on_reply, ChatCb.filter(F.action == "reply"))
    router.callback_query.register(on_end, ChatCb.filter(F.action == "end"))
    router.callback_query.register(on_web_chat, MenuCb.filter(F.action == "webchat"))
    return router


def route(routing: MessageRouting) -> None:
    """Replies to relayed messages first (they name their conversation), then the writing state."""
    routing.add(
        Stage.CHAT_RELAY, "chat relay: a reply to a relayed message", on_reply_message, RepliesToChat()
    )
    routing.add(
        Stage.CHAT_RELAY, "chat relay: writing here", on_relay_message, StateFilter(ChatRelay.writing)
    )
