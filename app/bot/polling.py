"""Long polling: each batch journaled in one statement before Telegram is told it arrived."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from aiogram import Bot, Dispatcher
from aiogram.types import Update

from app.bot.dispatcher import POLLING_CONCURRENCY
from app.bot.journal import Journaled, handle, journal_of
from app.bot.middlewares import InFlight

log = logging.getLogger(__name__)
RETRY_MAX_SECONDS = 60.0
JOURNAL_RETRY_SECONDS = 10.0  # people are waiting for these: try the database again soon
POLL_SECONDS = 25  # Telegram holds getUpdates open this long when there is nothing new
T = TypeVar("T")


class PollingSupervisor:
    """Fetches updates, journals each batch, and only then acknowledges it (the next offset).

    Telegram keeps an update until a getUpdates with a higher offset: an update that could not
    be journaled (the database is down) is fetched again, not lost. A re-delivered one (already
    journaled) is not handled twice. One whose values PostgreSQL refuses does not hold back the
    rest: it is journaled as far as it goes and not handled (app/domain/users.py record_updates).
    Handling is concurrent, bounded like aiogram's polling; one user's updates still run in
    order (app/bot/isolation.py).
    """

    def __init__(self, dispatcher: Dispatcher, bot: Bot, in_flight: InFlight) -> None:
        self.dispatcher = dispatcher
        self.bot = bot
        self.in_flight = in_flight
        self.journal = journal_of(dispatcher)
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._slots = asyncio.Semaphore(POLLING_CONCURRENCY)
        self._handling: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="polling")

    async def stop(self) -> None:
        """Stop fetching updates; updates already journaled keep being handled (see drain)."""
        self._stopping.set()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), 5)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None

    async def _run(self) -> None:
        offset: int | None = None
        allowed = self.dispatcher.resolve_used_update_types()
        while True:
            updates = await self._retrying("fetch updates", functools.partial(self._fetch, offset, allowed))
            if updates is None:
                return
            if not updates:
                continue
            record = functools.partial(self._record, updates)
            what = f"journal {len(updates)} update(s)"
            apologise = functools.partial(self.journal.apologise, self.bot, updates)
            journaled = await self._retrying(
                what, record, finish_when_stopped=True, on_failure=apologise, max_delay=JOURNAL_RETRY_SECONDS
            )
            if journaled is None:  # stopping: not acknowledged, so Telegram delivers them again
                return
            offset = updates[-1].update_id + 1
            for update, entry in zip(updates, journaled, strict=True):
                if entry.unfit:  # journaled as far as PostgreSQL let it, and not handled
                    continue
                await self._slots.acquire()
                self._spawn(update, entry)

    async def _fetch(self, offset: int | None, allowed: list[str]) -> list[Update]:
        timeout = int(self.bot.session.timeout + POLL_SECONDS)
        return await self.bot.get_updates(
            offset=offset, timeout=POLL_SECONDS, allowed_updates=allowed, request_timeout=timeout
        )

    async def _record(self, updates: Sequence[Update]) -> list[Journaled]:
        return await self.journal.record(self.bot, updates)

    async def _retrying(
        self,
        what: str,
        call: Callable[[], Awaitable[T]],
        *,
        finish_when_stopped: bool = False,
        on_failure: Callable[[], Awaitable[None]] | None = None,
        max_delay: float = RETRY_MAX_SECONDS,
    ) -> T | None:
        """`call()` until it succeeds, with back-off; None once polling is stopped.

        A journal write under way is let finish when polling stops (`finish_when_stopped`):
        cancelled, it might have been stored without being handled, and then the re-delivery
        would be taken for a repeat."""
        delay = 1.0
        while not self._stopping.is_set():
            attempt = asyncio.ensure_future(call())
            stopped = asyncio.ensure_future(self._stopping.wait())
            await asyncio.wait({attempt, stopped}, return_when=asyncio.FIRST_COMPLETED)
            stopped.cancel()
            if finish_when_stopped:
                await asyncio.wait({attempt})
            if not attempt.done():
                attempt.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await attempt
                return None
            try:
                return attempt.result()
            except Exception as exc:
                log.error("could not %s: %s: %s; retrying in %.0fs", what, type(exc).__name__, exc, delay)
                if on_failure is not None:
                    await on_failure()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)
            delay = min(delay * 2, max_delay)
        return None

    def _spawn(self, update: Update, entry: Journaled) -> None:
        self.in_flight.begin()  # counted from now, so shutdown waits for it
        task = asyncio.create_task(self._handle(update, entry), name=f"update-{update.update_id}")
        self._handling.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._handling.discard(task)
        self._slots.release()
        self.in_flight.end()

    async def _handle(self, update: Update, entry: Journaled) -> None:
        await handle(self.dispatcher, self.bot, update, entry)
