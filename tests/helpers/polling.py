"""Waiting for what the app does in the background: one `eventually`, and outbox barriers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg

T = TypeVar("T")
INTERVAL = 0.02


async def eventually(check: Callable[[], Awaitable[T]], seconds: float = 10.0, what: str = "") -> T:
    """Poll an async check until it returns something truthy, and return that.

    The bot, the outbox and the scheduler work in the background, so a test waits for the
    state it expects; when the deadline passes the test fails, naming what it waited for.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        value = await check()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"gave up after {seconds}s waiting for {what or check!r}: got {value!r}")
        await asyncio.sleep(INTERVAL)


UNSETTLED = "SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')"


async def outbox_settled(db: asyncpg.Pool | asyncpg.Connection, seconds: float = 15.0) -> None:
    """Wait until every queued outbox row has its outcome (sent, failed, uncertain, blocked).

    After this, nothing the app queued is still on its way: a test that then counts posts in a
    channel sees everything that will ever arrive, without sleeping and hoping.
    """

    async def idle() -> bool:
        return await db.fetchval(UNSETTLED) == 0

    await eventually(idle, seconds, "the outbox to settle")


async def outbox_count(db: asyncpg.Pool | asyncpg.Connection, **where: Any) -> int:
    """How many outbox rows match column = value conditions (e.g. method="sendMediaGroup")."""
    clauses = " AND ".join(f"{name} = ${i}" for i, name in enumerate(where, start=1)) or "true"
    return int(await db.fetchval(f"SELECT count(*) FROM outbox WHERE {clauses}", *where.values()))
