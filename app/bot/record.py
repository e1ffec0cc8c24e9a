"""Everything on record (S5), the bot's side: what comes in and what the handlers send.

Incoming messages and button presses ride the journal's statement (`incoming` gives each
update's record; app/db/queries/users.py JOURNAL_BATCH writes it): no extra round trip. What the
handlers send directly is seen by a request middleware on the bot's session (`Recorder`), kept
in memory and written in one INSERT a moment later, off the reply's path. Outbox deliveries are
recorded by the outbox sender, in the statement that marks their row sent."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import asyncpg
from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import CallbackQuery, Chat, InlineKeyboardMarkup, Message, Update, User

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


def incoming(update: Update, user: User | None, chat: Chat | None) -> Entry | None:
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
    return record_domain.entry(user.id if user else None, chat.id if chat else None, Direction.IN, kind, text)


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
    """A request middleware on the handlers' bot: each message it sent (or edited) is kept and
    written with the others in one INSERT every FLUSH_EVERY_SECONDS, and at shutdown (`flush`).
    The reply never waits for it; a process that dies loses the last fraction of a second."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._sent: list[TelegramMethod[Any]] = []
        self._pending: list[Entry] = []  # built but not written yet (a failed write)
        self._flushing: asyncio.Task[None] | None = None

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        result = await make_request(bot, method)
        if method.__api_method__ in SENT_KINDS:
            self._sent.append(method)
            if self._flushing is None:
                self._flushing = asyncio.create_task(self._flush_soon(FLUSH_EVERY_SECONDS), name="record")
        return result

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
        sent, self._sent = self._sent, []
        entries = self._pending + [e for e in map(_entry, sent) if e is not None]
        self._pending = []
        if not entries:
            return
        try:
            async with self.pool.acquire() as conn:
                await record_domain.record(conn, entries)
        except Exception as exc:
            log.error("could not record %d sent message(s) yet: %s", len(entries), exc)
            self._pending = entries[-MAX_PENDING:]
            if retry and self._flushing is None:
                self._flushing = asyncio.create_task(self._flush_soon(RETRY_SECONDS), name="record")


def _entry(method: TelegramMethod[Any]) -> Entry | None:
    try:
        return record_domain.outgoing(method.__api_method__, lambda name: getattr(method, name, None))
    except Exception:  # a record never stops the bot
        log.exception("could not record a %s call", method.__api_method__)
        return None
