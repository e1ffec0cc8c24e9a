"""Scheduled jobs run under an advisory lock: with several processes, one runs each tick."""

from __future__ import annotations

import asyncio

import asyncpg

from app.db.pool import create_pool
from app.scheduler import create_scheduler, locked


async def test_a_locked_job_runs_once_when_two_processes_tick_together(database_url: str) -> None:
    # Two pools stand for two Bozor processes on one database.
    first, second = await create_pool(database_url), await create_pool(database_url)
    runs: list[str] = []
    release = asyncio.Event()

    async def job(pool: asyncpg.Pool) -> None:
        runs.append("ran")
        await release.wait()

    try:
        a = asyncio.create_task(locked(first, "demo", job)())
        await asyncio.sleep(0.1)  # the first process holds the lock now
        skipped = await locked(second, "demo", job)()
        release.set()
        assert await a is True and skipped is False
        assert runs == ["ran"]
        # Once released, the next tick may run anywhere.
        assert await locked(second, "demo", job)() is True
    finally:
        await first.close()
        await second.close()


async def test_the_scheduler_holds_the_retention_job(database_url: str) -> None:
    pool = await create_pool(database_url)
    try:
        scheduler = create_scheduler(pool)
        assert [job.id for job in scheduler.get_jobs()] == ["journal_retention"]
    finally:
        await pool.close()


async def test_journal_retention_drops_only_old_updates(database_url: str, db) -> None:
    from app.scheduler.jobs import journal_retention

    await db.execute("""
        INSERT INTO update_journal (bot_id, update_id, kind, payload, received_at) VALUES
        (1, 1, 'message', '{}', now() - interval '200 days'),
        (1, 2, 'message', '{}', now() - interval '1 day')""")
    pool = await create_pool(database_url)
    try:
        await journal_retention(pool)
    finally:
        await pool.close()
    assert [r["update_id"] for r in await db.fetch("SELECT update_id FROM update_journal")] == [2]
