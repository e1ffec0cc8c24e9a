"""Long polling: journal each batch, then acknowledge it, then handle it; it survives Telegram
and the database being unreachable and stops cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg
from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramAPIError
from aiogram.methods import GetUpdates
from aiogram.types import Update

from app.bot.dispatcher import POLLING_CONCURRENCY
from app.db.queries.users import Received
from app.domain import users
from app.i18n import N_, Translator

log = logging.getLogger(__name__)
RETRY_MAX_SECONDS = 60.0
POLLING_TIMEOUT = 25
WAIT_TEXT = N_(
    "Sorry, we have a problem on our side. We have your message and will answer it as soon as it is fixed."
)


def received(update: Update) -> Received:
    return Received(
        update.update_id, update.event_type, update.model_dump_json(exclude_none=True, by_alias=True)
    )


async def journal(pool: asyncpg.Pool, bot_id: int, updates: list[Update]) -> None:
    """Store a batch of updates before Telegram is told we have them (one statement)."""
    async with pool.acquire() as conn:
        await users.journal_received(conn, bot_id, [received(u) for u in updates])


async def unhandled(pool: asyncpg.Pool, bot: Bot) -> list[Update]:
    """Updates journaled and acknowledged whose handling never started (the process stopped in
    between), oldest first: to be handled now, once."""
    async with pool.acquire() as conn:
        payloads = await users.unhandled_updates(conn, bot.id)
    if payloads:
        log.info("handling %d update(s) received before the last stop", len(payloads))
    return [Update.model_validate_json(p, context={"bot": bot}) for p in payloads]


class WaitNotice:
    """While updates cannot be journaled (the database is down), each person who wrote is told
    once that their message will be answered; Telegram keeps the update meanwhile."""

    def __init__(self, bot: Bot, translator: Translator) -> None:
        self.bot, self.translator = bot, translator
        self.told: set[int] = set()  # update ids; forgotten once journaled

    async def tell(self, updates: list[Update]) -> None:
        for update in updates:
            if update.update_id in self.told:
                continue
            self.told.add(update.update_id)
            person = update.message or update.callback_query
            if person is None or person.from_user is None:
                continue
            text = self.translator(person.from_user.language_code)(WAIT_TEXT)
            try:
                if update.callback_query is not None:
                    await update.callback_query.answer(text, show_alert=True)
                elif update.message is not None and update.message.chat.type == "private":
                    await self.bot.send_message(update.message.chat.id, text)
            except TelegramAPIError as exc:
                log.warning("could not tell the sender of update %d to wait: %s", update.update_id, exc)

    def journaled(self, updates: list[Update]) -> None:
        self.told.difference_update(u.update_id for u in updates)


class PollingSupervisor:
    """Fetches updates and hands them to the dispatcher, in this order for each batch:

    1. journal: the batch is stored (retried with back-off while the database is down);
    2. acknowledge: only then does the next getUpdates carry the offset past it, so an update
       we could not store stays with Telegram and comes again;
    3. handle: each update in a task of its own (at most POLLING_CONCURRENCY at once).
    """

    def __init__(self, dispatcher: Dispatcher, bot: Bot, pool: asyncpg.Pool, translator: Translator) -> None:
        self.dispatcher = dispatcher
        self.bot = bot
        self.pool = pool
        self.waiting = WaitNotice(bot, translator)
        self._task: asyncio.Task | None = None
        self._stopping = False
        self._handling: set[asyncio.Task] = set()
        self._slots = asyncio.Semaphore(POLLING_CONCURRENCY)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="polling")

    async def stop(self) -> None:
        """Stop fetching updates; handlers already started keep running (the caller drains)."""
        self._stopping = True
        if self._task is None:
            return
        # Cancelled in getUpdates or while journaling: nothing was acknowledged that is not
        # stored; a batch stored but not yet acknowledged comes again and is handled once.
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _run(self) -> None:
        await self._handle_unhandled()
        get_updates = GetUpdates(
            timeout=POLLING_TIMEOUT, allowed_updates=self.dispatcher.resolve_used_update_types()
        )
        request_timeout = int((self.bot.session.timeout or 60) + POLLING_TIMEOUT)
        delay = 1.0
        while not self._stopping:
            updates: list[Update] = []
            try:
                updates = await self.bot(get_updates, request_timeout=request_timeout)
                if updates:
                    await journal(self.pool, self.bot.id, updates)  # 1. journal
                    get_updates.offset = updates[-1].update_id + 1  # 2. acknowledge (next call)
                    self.waiting.journaled(updates)
                    for update in updates:  # 3. handle
                        await self._handle(update)
                delay = 1.0
            except Exception as exc:
                log.error("polling: %s: %s; retrying in %.0fs", type(exc).__name__, exc, delay)
                if updates and get_updates.offset != updates[-1].update_id + 1:
                    await self.waiting.tell(updates)  # not journaled: Telegram keeps them
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_SECONDS)

    async def _handle_unhandled(self) -> None:
        """Updates journaled and acknowledged whose handling never started (the process stopped
        in between): handled now, once."""
        while not self._stopping:
            try:
                left = await unhandled(self.pool, self.bot)
                break
            except Exception as exc:
                log.error("polling: cannot read unhandled updates (%s); retrying", exc)
                await asyncio.sleep(1.0)
        else:
            return
        for update in left:
            await self._handle(update)

    async def _handle(self, update: Update) -> None:
        await self._slots.acquire()
        task = asyncio.create_task(self._feed(update))
        self._handling.add(task)
        task.add_done_callback(self._handling.discard)

    async def _feed(self, update: Update) -> None:
        try:
            await self.dispatcher.feed_update(self.bot, update)
        except Exception:
            log.exception("update %d failed", update.update_id)
        finally:
            self._slots.release()
