"""The asyncpg pool and the advisory-lock helpers every process shares."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg


async def init_connection(conn: asyncpg.Connection) -> None:
    # jsonb in and out as Python objects; a str passed for jsonb is taken as ready-made JSON.
    await conn.set_type_codec(
        "jsonb",
        schema="pg_catalog",
        format="text",
        encoder=lambda value: value if isinstance(value, str) else json.dumps(value),
        decoder=json.loads,
    )


async def keep_session(conn: asyncpg.Connection) -> None:
    """Skip asyncpg's reset query on release: a round trip on every acquire.

    Nothing in Bozor leaves session state on a pooled connection: advisory locks are released
    in `finally` (advisory_lock below), transactions end in their `async with`, and LISTEN
    uses a connection of its own.
    """


async def ping(pool: asyncpg.Pool) -> None:
    """One round trip: raises when the database does not answer (the health check)."""
    await pool.fetchval("SELECT 1")


async def create_pool(dsn: str, *, min_size: int = 2, max_size: int = 20) -> asyncpg.Pool:
    """A pool whose connections decode jsonb; the caller closes it."""
    return await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=init_connection,
        reset=keep_session,
        command_timeout=60,
        server_settings={"application_name": "bozor"},
    )


@asynccontextmanager
async def advisory_lock(pool: asyncpg.Pool, name: str, *, wait: bool) -> AsyncIterator[bool]:
    """Hold a session advisory lock named `name`; yields False when wait=False and it is taken."""
    async with pool.acquire() as conn:
        if wait:
            await conn.execute("SELECT pg_advisory_lock(hashtext($1))", name)
            got = True
        else:
            got = await conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", name)
        try:
            yield got
        finally:
            if got:
                await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", name)
