"""aiogram FSM storage on PostgreSQL, so a conversation's state survives a restart."""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

import asyncpg
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StateType, StorageKey

from app.db.queries import fsm as q

# The journal statement reads the update's FSM state in the same round trip (see
# app/bot/journal.py); get_state answers from it instead of asking the database again, unless
# this process wrote that key since (e.g. the previous photo of the same album). A ContextVar
# is per update task, so no other update can see it.
PREFETCHED: ContextVar[tuple[str, str | None, int] | None] = ContextVar("fsm_prefetched", default=None)


def storage_key(key: StorageKey) -> str:
    return ":".join(
        str(part) if part is not None else ""
        for part in (
            key.bot_id,
            key.chat_id,
            key.user_id,
            key.thread_id,
            key.business_connection_id,
            key.destiny,
        )
    )


class PostgresStorage(BaseStorage):
    """One row per FSM key; state and data kept apart so each write touches one column."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._writes = 0  # state writes in this process: a prefetch older than one is stale

    @property
    def writes(self) -> int:
        return self._writes

    def prefetched(self, key: str, state: str | None, writes: int) -> None:
        """Offer the state the journal statement read for this update's key, when this process
        had made `writes` state writes (a write since then may have changed it)."""
        PREFETCHED.set((key, state, writes))

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        # Counted before and after: a read taken while the write is under way may miss it, so
        # the count it was taken at must no longer match once the write is done.
        self._writes += 1
        await q.set_state(self.pool, storage_key(key), value)
        self._writes += 1

    async def get_state(self, key: StorageKey) -> str | None:
        text_key = storage_key(key)
        prefetched = PREFETCHED.get()
        if prefetched is not None and prefetched[0] == text_key and prefetched[2] == self._writes:
            return prefetched[1]
        return await q.get_state(self.pool, text_key)

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        await q.set_data(self.pool, storage_key(key), dict(data))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        return await q.get_data(self.pool, storage_key(key))

    async def close(self) -> None:
        """The pool belongs to the application, which closes it."""
