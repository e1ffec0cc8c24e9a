"""Builders and a race harness for the ledger tests: users, staff, credits, two transactions at once."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg

from app.bot.ledger_messages import BotLedgerMessages
from app.db.pool import init_connection
from app.domain import ledger
from app.domain import staff as staff_domain
from app.domain.ledger import Currency, EntryKind, NewEntry, Posted
from app.domain.staff import Role, Staff
from app.domain.users import Languages
from app.i18n import Translator

TRANSLATOR = Translator("uz")
MSGS = BotLedgerMessages(TRANSLATOR)
LANGUAGES = Languages()
_keys = itertools.count(1)


async def make_user(conn: asyncpg.Connection, user_id: int, *, language: str | None = None) -> int:
    await conn.execute(
        "INSERT INTO users (id, first_name, language) VALUES ($1, $2, $3)",
        user_id,
        f"User {user_id}",
        language,
    )
    return user_id


async def make_staff(conn: asyncpg.Connection, username: str, role: Role = Role.ADMIN) -> Staff:
    return await staff_domain.create_staff(conn, username, None, role, display_name=username.capitalize())


async def credit(
    conn: asyncpg.Connection, account: int, amount: int, *, currency: Currency = Currency.POINTS
) -> Posted:
    """A task reward of `amount` under a fresh key."""
    return await ledger.post(
        conn, NewEntry(account, currency, amount, EntryKind.TASK_REWARD, key=f"test-credit:{next(_keys)}")
    )


def spend(account: int, amount: int, key: str) -> NewEntry:
    """A promotion bought with points: a debit of `amount`."""
    return NewEntry(account, Currency.POINTS, -amount, EntryKind.PROMOTION_PURCHASE, key=key)


async def messages_to(conn: asyncpg.Connection, chat_id: int) -> list[str]:
    """The texts queued in the outbox for a chat, oldest first."""
    rows = await conn.fetch(
        "SELECT params FROM outbox WHERE chat_id = $1 AND method = 'sendMessage' ORDER BY id", chat_id
    )
    return [r["params"]["text"] for r in rows]


async def audit_rows(conn: asyncpg.Connection, action: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT staff_id, target, before, after FROM audit_log WHERE action = $1 ORDER BY id", action
    )


async def row_counts(conn: asyncpg.Connection) -> tuple[int, int, int]:
    """(ledger entries, withdrawal requests, outbox rows): to assert that nothing happened."""
    row = await conn.fetchrow(
        """SELECT (SELECT count(*) FROM ledger_entries), (SELECT count(*) FROM withdrawal_requests),
                  (SELECT count(*) FROM outbox)"""
    )
    assert row is not None
    return row[0], row[1], row[2]


@dataclass
class Raced:
    outcomes: list[Any]  # each operation's result, or the exception it raised
    contended: bool  # an operation was seen waiting for another's lock: they really overlapped


async def race(
    dsn: str, *ops: Callable[[asyncpg.Connection], Awaitable[Any]], deadline: float = 15.0
) -> Raced:
    """Run each operation in its own transaction on its own connection, all released at once by
    a barrier. A transaction that finished its operation commits only once every other one has
    finished too or is waiting for a lock (seen in pg_stat_activity): so when they conflict, the
    second really runs while the first is still open, whatever the scheduling."""
    conns = [await asyncpg.connect(dsn) for _ in ops]
    watcher = await asyncpg.connect(dsn)
    watching = asyncio.Lock()
    pids = [c.get_server_pid() for c in conns]
    finished = [False] * len(ops)
    barrier = asyncio.Barrier(len(ops))
    contended = False

    async def others_settled(me: int) -> None:
        nonlocal contended
        until = time.monotonic() + deadline
        while time.monotonic() < until:
            others = [pids[i] for i in range(len(ops)) if i != me and not finished[i]]
            if not others:
                return
            async with watching:
                waiting = await watcher.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1) AND wait_event_type = 'Lock'",
                    others,
                )
            if waiting == len(others):
                contended = True
                return
            await asyncio.sleep(0.005)
        raise TimeoutError("the other transactions neither finished nor waited for a lock")

    async def run(i: int) -> Any:
        conn = conns[i]
        await init_connection(conn)
        transaction = conn.transaction()
        await transaction.start()
        try:
            await barrier.wait()
            try:
                result = await ops[i](conn)
            finally:
                finished[i] = True
            await others_settled(i)
        except BaseException:
            await transaction.rollback()
            raise
        await transaction.commit()
        return result

    try:
        outcomes = await asyncio.gather(*(run(i) for i in range(len(ops))), return_exceptions=True)
    finally:
        for conn in [*conns, watcher]:
            await conn.close()
    return Raced(list(outcomes), contended)


async def waiting_for_lock(watcher: asyncpg.Connection, pid: int, deadline: float = 15.0) -> None:
    """Poll until the backend `pid` waits for a lock (pg_stat_activity), within `deadline` s."""
    until = time.monotonic() + deadline
    while time.monotonic() < until:
        if await watcher.fetchval(
            "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1", pid
        ):
            return
        await asyncio.sleep(0.005)
    raise TimeoutError(f"backend {pid} never waited for a lock")


async def queued_behind(
    dsn: str, lock_sql: str, lock_args: tuple[Any, ...], *ops: Callable[[asyncpg.Connection], Awaitable[Any]]
) -> list[Any]:
    """Hold the rows `lock_sql` locks (e.g. SELECT … FOR UPDATE) in an open transaction; start
    each operation in its own transaction on its own connection, each once the previous one is
    seen waiting; then release. They go on in the order they queued: a chosen interleaving.
    Returns each operation's result or the exception it raised."""
    blocker, watcher = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
    conns = [await asyncpg.connect(dsn) for _ in ops]

    async def run(conn: asyncpg.Connection, op: Callable[[asyncpg.Connection], Awaitable[Any]]) -> Any:
        await init_connection(conn)
        async with conn.transaction():
            return await op(conn)

    try:
        held = blocker.transaction()
        await held.start()
        await blocker.execute(lock_sql, *lock_args)
        tasks = []
        for conn, op in zip(conns, ops, strict=True):
            tasks.append(asyncio.create_task(run(conn, op)))
            await waiting_for_lock(watcher, conn.get_server_pid())
        await held.commit()
        return list(await asyncio.gather(*tasks, return_exceptions=True))
    finally:
        for conn in [blocker, watcher, *conns]:
            await conn.close()
