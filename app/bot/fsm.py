"""aiogram FSM storage on PostgreSQL, so a conversation's state survives a restart."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import asyncpg
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StateType, StorageKey

from app.db.queries import fsm as q

# The journal statement reads the update's FSM state and data in the same round trip (see
# app/bot/journal.py); the storage answers from them, and skips writes that change nothing
# (a /start clearing an empty conversation), for as long as no other update has written the
# key since the read. A ContextVar is per update task, so no other update can see it.
# While that holds, the handler's writes are kept and written together in one statement just
# before the bot's next call to Telegram (and when the handler ends, inside the user's lock):
# the wizard's "save the answer, move to the next step" is one round trip, and nothing the
# user sees ever gets ahead of the state it follows from.
PREFETCHED: ContextVar[Prefetched | None] = ContextVar("fsm_prefetched", default=None)
MAX_TRACKED_KEYS = 100_000  # beyond this the write counts start again (every prefetch then stale)
Version = tuple[int, int]  # (epoch, the key's write count): see PostgresStorage.version


@dataclass(slots=True)
class Prefetched:
    """A key's state and data (JSON; None when it has no row) as of `version`."""

    key: str
    state: str | None
    data: str | None
    version: Version
    storage: PostgresStorage
    state_dirty: bool = False  # changed here and not written yet
    data_dirty: bool = False

    @property
    def dirty(self) -> bool:
        return self.state_dirty or self.data_dirty


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
        self._epoch = 0
        self._writes: dict[str, int] = {}  # writes per key in this process, begun and finished

    def version(self, key: str) -> Version:
        """Changes whenever a write of the key begins or ends: a read taken while a write is
        under way may miss it, so the version it was taken at must not match once it is done."""
        return self._epoch, self._writes.get(key, 0)

    def prefetched(self, key: str, state: str | None, data: str | None, version: Version) -> None:
        """Offer what the journal statement read for this update's key at `version`."""
        PREFETCHED.set(Prefetched(key, state, data, version, self))

    def _bump(self, key: str) -> None:
        if len(self._writes) >= MAX_TRACKED_KEYS and key not in self._writes:
            self._writes.clear()
            self._epoch += 1
        self._writes[key] = self._writes.get(key, 0) + 1

    async def _fresh(self, key: str) -> Prefetched | None:
        """This update's prefetch of the key while nothing else wrote the key since; when
        something did, the kept changes are written first, so the database has them all."""
        prefetched = PREFETCHED.get()
        if prefetched is None or prefetched.key != key:
            return None
        if prefetched.version == self.version(key):
            return prefetched
        await self.flush(prefetched)
        PREFETCHED.set(None)
        return None

    async def _write(self, key: str, write: Awaitable[None]) -> None:
        self._bump(key)
        try:
            await write
        finally:
            self._bump(key)

    async def flush(self, prefetched: Prefetched) -> None:
        """Write what the handler changed (state and data, one statement)."""
        if not prefetched.dirty:
            return
        key, state, data = prefetched.key, prefetched.state, prefetched.data or "{}"
        if prefetched.state_dirty and prefetched.data_dirty:
            write = q.set_state_and_data(self.pool, key, state, data)
        elif prefetched.state_dirty:
            write = q.set_state(self.pool, key, state)
        else:  # only what changed: another writer may have changed the other column
            write = q.set_data(self.pool, key, json.loads(data))
        prefetched.state_dirty = prefetched.data_dirty = False
        epoch, count = prefetched.version
        try:
            await self._write(prefetched.key, write)
        except BaseException:
            PREFETCHED.set(None)  # unknown what landed: the database answers from now on
            raise
        if self.version(prefetched.key) == (epoch, count + 2):  # no other write meanwhile
            prefetched.version = self.version(prefetched.key)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        text_key = storage_key(key)
        prefetched = await self._fresh(text_key)
        if prefetched is None:
            await self._write(text_key, q.set_state(self.pool, text_key, value))
        elif prefetched.state != value:
            prefetched.state, prefetched.state_dirty = value, True

    async def get_state(self, key: StorageKey) -> str | None:
        text_key = storage_key(key)
        prefetched = await self._fresh(text_key)
        if prefetched is not None:
            return prefetched.state
        return await q.get_state(self.pool, text_key)

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        text_key = storage_key(key)
        value = dict(data)
        prefetched = await self._fresh(text_key)
        if prefetched is None:
            await self._write(text_key, q.set_data(self.pool, text_key, value))
        elif json.loads(prefetched.data or "{}") != value:
            prefetched.data, prefetched.data_dirty = json.dumps(value), True

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        text_key = storage_key(key)
        prefetched = await self._fresh(text_key)
        if prefetched is not None:
            return dict(json.loads(prefetched.data)) if prefetched.data else {}
        return await q.get_data(self.pool, text_key)

    async def close(self) -> None:
        """The pool belongs to the application, which closes it."""


async def flush_pending() -> None:
    """Write this update's kept FSM changes now (before a call to Telegram; when it ends)."""
    prefetched = PREFETCHED.get()
    if prefetched is not None and prefetched.dirty:
        await prefetched.storage.flush(prefetched)
