"""Long polling that survives Telegram being unreachable at start and stops cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiogram import Bot, Dispatcher

from app.bot.dispatcher import POLLING_CONCURRENCY

log = logging.getLogger(__name__)
RETRY_MAX_SECONDS = 60.0


class PollingSupervisor:
    """Runs aiogram's polling in a task and restarts it with back-off if it dies."""

    def __init__(self, dispatcher: Dispatcher, bot: Bot) -> None:
        self.dispatcher = dispatcher
        self.bot = bot
        self._task: asyncio.Task | None = None
        self._stopping = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="polling")

    async def stop(self) -> None:
        """Stop fetching updates; handlers already started keep running."""
        self._stopping = True
        if self._task is None:
            return
        with contextlib.suppress(RuntimeError):  # polling was not running at this instant
            await self.dispatcher.stop_polling()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), 5)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None

    async def _run(self) -> None:
        delay = 1.0
        while not self._stopping:
            try:
                await self.dispatcher.start_polling(
                    self.bot,
                    handle_signals=False,
                    close_bot_session=False,
                    tasks_concurrency_limit=POLLING_CONCURRENCY,
                    polling_timeout=25,
                )
                return
            except Exception as exc:
                log.error("polling stopped: %s; retrying in %.0fs", exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_SECONDS)
