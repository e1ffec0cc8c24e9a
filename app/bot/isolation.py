"""One update at a time per user (FSM key), with locks freed once nobody waits on them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiogram.fsm.storage.base import BaseEventIsolation, StorageKey


class UserLocks(BaseEventIsolation):
    """Like aiogram's SimpleEventIsolation, whose locks are never freed (one per user, forever)."""

    def __init__(self) -> None:
        self._locks: dict[StorageKey, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    @property
    def held(self) -> int:
        """Users with an update being handled or waiting (no __len__: aiogram tests truthiness)."""
        return len(self._locks)

    async def close(self) -> None:
        """Nothing to do: each lock is freed by the last update using it. (Clearing them here,
        at shutdown, made updates still being handled fail with a KeyError when they ended.)"""
