"""Drafts on their own (E6): when the setting is on, each user message that reaches the desk is
heard here, off the bot's path (the desk's notifications, through the panel's LISTEN hub), and
one the knowledge base has nothing for gets an LLM draft waiting in its ticket.

Every process hears every message; the draft's unique row decides which one asks. A slow or
failing endpoint costs a task here and leaves a note on the ticket, nothing more.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager

import asyncpg

from app.db.queries.support_desk import SUPPORT_CHANNEL
from app.domain.settings import RunningSettings
from app.domain.support import drafts

log = logging.getLogger(__name__)

Subscribe = Callable[[str], AbstractContextManager["asyncio.Queue[dict[str, object]]"]]
AT_ONCE = 4  # drafts asked at the same time by this process; more wait their turn


class AutoDrafts:
    def __init__(
        self, pool: asyncpg.Pool, subscribe: Subscribe, running: RunningSettings, secret_key: str
    ) -> None:
        self._pool = pool
        self._subscribe = subscribe
        self._running = running
        self._secret_key = secret_key
        self._slots = asyncio.Semaphore(AT_ONCE)
        self._asking: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="llm-drafts")

    async def stop(self) -> None:
        tasks = [t for t in (self._task, *self._asking) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _listen(self) -> None:
        with self._subscribe(SUPPORT_CHANNEL) as queue:
            while True:
                event = await queue.get()
                if event.get("event") not in ("ticket", "message"):
                    continue
                if not self._running.llm.drafts_on_their_own:
                    continue
                ticket_id, message_id = event.get("ticket_id"), event.get("message_id")
                if not isinstance(ticket_id, int) or not isinstance(message_id, int):
                    continue
                task = asyncio.create_task(self._draft(ticket_id, message_id))
                self._asking.add(task)
                task.add_done_callback(self._asking.discard)

    async def _draft(self, ticket_id: int, message_id: int) -> None:
        llm, thresholds = self._running.llm, self._running.desk.thresholds
        async with self._slots:
            try:
                async with self._pool.acquire() as conn, conn.transaction():
                    await drafts.give_up_stale(conn, llm.timeout)
                    claim = await drafts.claim_auto(
                        conn,
                        ticket_id,
                        message_id,
                        settings=llm,
                        thresholds=thresholds,
                        secret_key=self._secret_key,
                    )
                if claim is None:
                    return
                answer = await drafts.reply_of(claim.request)  # no connection held meanwhile
                async with self._pool.acquire() as conn, conn.transaction():
                    await drafts.finish_auto(conn, claim, answer)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("no LLM draft for ticket %s: database unavailable (%s)", ticket_id, exc)
            except Exception:
                log.exception("no LLM draft for ticket %s", ticket_id)
