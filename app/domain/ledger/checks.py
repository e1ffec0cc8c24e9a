"""Proof that the books agree: every balance row equals the sum of its entries, every hold the
open withdrawal requests. The test suite and a daily job run it."""

from __future__ import annotations

import logging
from typing import cast

import asyncpg

from app.db import Conn
from app.db.queries import ledger as q
from app.db.queries.ledger import Mismatch

log = logging.getLogger(__name__)


async def verify(conn: Conn) -> list[Mismatch]:
    """Every (account, currency) whose balance row disagrees with its entries, or whose hold
    disagrees with its open withdrawal requests; empty when the books agree. One statement,
    so one consistent snapshot even while others post."""
    return await q.mismatches(conn)


async def verify_job(pool: asyncpg.Pool) -> list[Mismatch]:
    """The daily check: logs each mismatch as an error (for the operator's alerts) and returns
    them. Reads only; safe to run while the bot posts."""
    async with pool.acquire() as proxy, proxy.transaction(readonly=True):
        # A pool's connection proxies every method of Connection; the stubs type it apart.
        found = await verify(cast(asyncpg.Connection, proxy))
    for mismatch in found:
        log.error("ledger mismatch: %s", mismatch)
    if not found:
        log.info("ledger verified: every balance equals the sum of its entries")
    return found
