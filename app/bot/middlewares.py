"""Update middleware: what the journal learnt handed to handlers; in-flight tracking for shutdown."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.types import TelegramObject, Update

from app.bot.fsm import flush_pending
from app.bot.journal import JOURNALED, Journal, Journaled
from app.db.queries.users import record_journal_error
from app.i18n import N_, Translator
from app.metrics import UPDATE_SECONDS, UPDATES

log = logging.getLogger(__name__)

Handler = Callable[[Update, dict[str, Any]], Awaitable[Any]]


class UpdateMetrics(BaseMiddleware):
    """Count each update and time its handling, for /metrics (the outermost middleware)."""

    async def __call__(self, handler: Handler, update: TelegramObject, data: dict[str, Any]) -> Any:
        started = time.perf_counter()
        outcome = "error"
        try:
            result = await handler(update, data)  # type: ignore[arg-type]  # dp.update: Updates
            outcome = "ok"
            return result
        finally:
            UPDATES.labels(outcome).inc()
            UPDATE_SECONDS.observe(time.perf_counter() - started)


class FsmFlush(BaseMiddleware):
    """Writes the FSM changes a handler left unwritten (it made no call to Telegram after
    them); registered inside the FSM middleware, so still under the user's lock."""

    async def __call__(self, handler: Handler, update: TelegramObject, data: dict[str, Any]) -> Any:
        try:
            return await handler(update, data)  # type: ignore[arg-type]  # dp.update: Updates
        finally:
            await flush_pending()


class JournalMiddleware(BaseMiddleware):
    """Give handlers `_` and `lang` from the journal, handle each update id once, record failures.

    Polling and the webhook journal updates before they reach the dispatcher and pass what the
    journal learnt as `journaled` (app/bot/journal.py); an update fed without it (a test, a
    replay) is journaled here. The user's FSM state and data came back from the same statement and are
    offered to the storage, so an update costs no database round trip of its own here.
    """

    def __init__(self, journal: Journal, translator: Translator) -> None:
        self.journal = journal
        self.translator = translator

    async def __call__(self, handler: Handler, update: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(update, Update), "registered on dp.update: it sees whole updates"
        journaled: Journaled | None = data.pop(JOURNALED, None)
        if journaled is None:
            [journaled] = await self.journal.record(data["bot"], [update])
        if journaled.repeated:
            log.info("update %s was delivered again; it was handled the first time", update.update_id)
            return UNHANDLED
        if journaled.unfit:  # logged by the journal; its handlers would trip on the same values
            return UNHANDLED
        seen = journaled.seen
        assert seen.journal_id is not None
        self.journal.started(seen.journal_id)
        if journaled.fsm_key:
            storage = self.journal.storage
            storage.prefetched(journaled.fsm_key, seen.fsm_state, seen.fsm_data, journaled.fsm_version)
        data["lang"] = seen.language
        data["_"] = self.translator(seen.language)
        data["support_ticket"] = seen.support_ticket
        if seen.banned:
            return await refuse(update, data)
        try:
            return await handler(update, data)
        except Exception as exc:
            async with self.journal.pool.acquire() as conn:
                await record_journal_error(conn, seen.journal_id, f"{type(exc).__name__}: {exc}")
            raise


BANNED_TEXT = N_("Your access to this bot has been limited by the administrators.")


async def refuse(update: Update, data: dict[str, Any]) -> None:
    """A user blocked by staff: one polite answer per message or button press, nothing else."""
    text = data["_"](BANNED_TEXT)
    if update.message is not None and update.message.chat.type == "private":
        await update.message.answer(text)
    elif update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)


class InFlight:
    """Counts updates being handled (polling and the webhook begin() and end() each one) so
    shutdown can wait for them, bounded."""

    def __init__(self) -> None:
        self.count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def begin(self) -> None:
        self.count += 1
        self._idle.clear()

    def end(self) -> None:
        self.count -= 1
        if self.count == 0:
            self._idle.set()

    def __enter__(self) -> None:
        self.begin()

    def __exit__(self, *exc: object) -> None:
        self.end()

    async def drain(self, seconds: float) -> bool:
        """Wait until no update is being handled; False if `seconds` passed first."""
        try:
            await asyncio.wait_for(self._idle.wait(), seconds)
        except TimeoutError:
            log.warning("%d update(s) still being handled after %.0fs", self.count, seconds)
            return False
        return True
