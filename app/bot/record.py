"""Everything on record (S5), the bot's side: what comes in and what the handlers send.

`Recorder` keeps, in memory, the record of each update the journal stored as news (the journal
hands them over) and of each message the handlers sent or edited (a request middleware on the
bot's session sees it) — a few small fields, a few microseconds each — in the order they
happened, and writes them all in one INSERT a moment later, on a connection of its own: neither
the journal's statement nor the reply waits for the record or its indexes. Outbox deliveries
are recorded by the outbox sender, in the statement that marks their row sent."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Iterable
from typing import Any

import asyncpg
from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.dispatcher.middlewares.user_context import UserContextMiddleware
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, Update

from app.domain import record as record_domain
from app.domain.record import SENT_KINDS, Direction, Entry, Kind

log = logging.getLogger(__name__)
FLUSH_EVERY_SECONDS = 0.2
RETRY_SECONDS = 2.0
MAX_PENDING = 50_000  # kept while the database is away; beyond it the oldest are dropped

# A message's kind by the field that carries its content, in the order they are tried
# (an animation also carries a document).
_MEDIA = (
    ("photo", Kind.PHOTO),
    ("video", Kind.VIDEO),
    ("animation", Kind.ANIMATION),
    ("document", Kind.DOCUMENT),
    ("audio", Kind.AUDIO),
    ("voice", Kind.VOICE),
    ("video_note", Kind.VIDEO_NOTE),
    ("sticker", Kind.STICKER),
    ("contact", Kind.CONTACT),
    ("venue", Kind.LOCATION),
    ("location", Kind.LOCATION),
    ("poll", Kind.POLL),
    ("successful_payment", Kind.PAYMENT),
)


def incoming(update: Update, at: dt.datetime | None = None) -> Entry | None:
    """The record of an update: a message (its text or caption), an edit of one, or a button
    press (the pressed button's label, never its callback data); None for other updates."""
    if (message := update.message) is not None:
        kind, text = _message(message)
    elif (edited := update.edited_message) is not None:
        kind, text = Kind.EDIT, edited.text or edited.caption or ""
    elif (query := update.callback_query) is not None:
        kind, text = Kind.BUTTON, label(query)
    else:
        return None
    context = UserContextMiddleware.resolve_event_context(update)
    user_id = context.user.id if context.user else None
    chat_id = context.chat.id if context.chat else None
    return record_domain.entry(user_id, chat_id, Direction.IN, kind, text, at)


def _message(message: Message) -> tuple[Kind, str]:
    if (text := message.text) is not None:
        return (Kind.COMMAND if text.startswith("/") else Kind.TEXT), text
    for field, kind in _MEDIA:
        value = getattr(message, field)
        if value is None:
            continue
        if kind is Kind.STICKER:
            return kind, value.emoji or ""
        if kind is Kind.POLL:
            return kind, value.question
        if kind is Kind.CONTACT:
            return kind, " ".join(p for p in (value.first_name, value.last_name) if p)
        if field == "venue":
            return kind, value.title
        if kind is Kind.PAYMENT:
            return kind, f"{value.total_amount} {value.currency}"
        return kind, message.caption or ""
    return Kind.OTHER, message.caption or ""


def label(query: CallbackQuery) -> str:
    """The label of the pressed button, found by its callback data in the message's keyboard;
    "" when the message or the button is gone (an old message, a forged press)."""
    message = query.message
    markup = getattr(message, "reply_markup", None)  # an inaccessible message has none
    if not isinstance(markup, InlineKeyboardMarkup) or query.data is None:
        return ""
    for row in markup.inline_keyboard:
        for button in row:
            if button.callback_data == query.data:
                return button.text
    return ""


class Recorder(BaseRequestMiddleware):
    """Keeps what the bot heard (`heard`, from the journal) and said (a request middleware on
    the handlers' bot) and writes it in one INSERT every FLUSH_EVERY_SECONDS, and at shutdown
    (`flush`). Nothing waits for it; a process that dies loses the last fraction of a second."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._kept: list[Entry] = []  # in the order they happened
        self._pending: list[Entry] = []  # not written yet (a failed write)
        self._flushing: asyncio.Task[None] | None = None

    def heard(self, updates: Iterable[Update]) -> None:
        """Updates the journal stored as news (not re-deliveries)."""
        now = dt.datetime.now(dt.UTC)
        for update in updates:
            if (entry := _entry(now, update)) is not None:
                self._kept.append(entry)
        self._soon()

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        result = await make_request(bot, method)
        if method.__api_method__ in SENT_KINDS and (entry := _entry(dt.datetime.now(dt.UTC), method)):
            self._kept.append(entry)
            self._soon()
        return result

    def _soon(self) -> None:
        if self._flushing is None and self._kept:
            self._flushing = asyncio.create_task(self._flush_soon(FLUSH_EVERY_SECONDS), name="record")

    async def _flush_soon(self, delay: float) -> None:
        await asyncio.sleep(delay)
        self._flushing = None
        await self._write(retry=True)

    async def flush(self) -> None:
        """Write what is kept now (at shutdown, once the handlers have finished)."""
        if self._flushing is not None:
            self._flushing.cancel()
            self._flushing = None
        await self._write(retry=False)

    async def _write(self, *, retry: bool) -> None:
        entries, self._pending, self._kept = self._pending + self._kept, [], []
        if not entries:
            return
        try:
            async with self.pool.acquire() as conn:
                await record_domain.record(conn, entries)
        except Exception as exc:
            log.error("could not put %d message(s) on record yet: %s", len(entries), exc)
            self._pending = entries[-MAX_PENDING:]
            if retry and self._flushing is None:
                self._flushing = asyncio.create_task(self._flush_soon(RETRY_SECONDS), name="record")


def _entry(at: dt.datetime, item: Update | TelegramMethod[Any]) -> Entry | None:
    try:
        if isinstance(item, Update):
            return incoming(item, at)
        return record_domain.outgoing(item.__api_method__, lambda name: getattr(item, name, None), at)
    except Exception:  # the record never stops the bot
        log.exception("could not put a %s on record", type(item).__name__)
        return None
