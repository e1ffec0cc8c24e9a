"""The scheduled jobs; each is async and idempotent."""

from __future__ import annotations

import logging

import asyncpg

from app.db.queries.users import delete_journal_before

log = logging.getLogger(__name__)
JOURNAL_DAYS = 90


async def journal_retention(pool: asyncpg.Pool) -> None:
    """Keep the inbound journal to the last JOURNAL_DAYS days."""
    async with pool.acquire() as conn:
        removed = await delete_journal_before(conn, JOURNAL_DAYS)
    if removed:
        log.info("journal retention removed %d old updates", removed)
