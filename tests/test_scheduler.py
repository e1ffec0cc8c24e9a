"""Scheduled jobs run under an advisory lock: with several processes, one runs each tick."""

from __future__ import annotations

import asyncio

from app.db.pool import create_pool
from app.scheduler import create_scheduler, locked
from app.scheduler.jobs import JobContext


async def test_a_locked_job_runs_once_when_two_processes_tick_together(database_url: str) -> None:
    # Two pools stand for two Bozor processes on one database.
    first, second = await create_pool(database_url), await create_pool(database_url)
    runs: list[str] = []
    holding, release = asyncio.Event(), asyncio.Event()

    async def job(ctx: JobContext) -> None:
        runs.append("ran")
        holding.set()  # inside the lock: the other process's tick must find it taken
        await release.wait()

    one, two = JobContext(first), JobContext(second)
    try:
        a = asyncio.create_task(locked(one, "demo", job)())
        await asyncio.wait_for(holding.wait(), 10)
        skipped = await locked(two, "demo", job)()
        release.set()
        assert await a is True and skipped is False
        assert runs == ["ran"]
        # Once released, the next tick may run anywhere.
        assert await locked(two, "demo", job)() is True
    finally:
        await first.close()
        await second.close()


async def test_without_a_bot_only_the_database_jobs_are_scheduled(database_url: str) -> None:
    pool = await create_pool(database_url)
    try:
        scheduler = create_scheduler(JobContext(pool))
        database_jobs = ["journal_retention", "ledger_verify", "stats_rollup", "message_retention"]
        assert [job.id for job in scheduler.get_jobs()] == database_jobs
    finally:
        await pool.close()


async def test_a_failing_tick_is_logged_and_the_next_one_runs(database_url: str, caplog) -> None:
    pool = await create_pool(database_url)
    calls = []

    async def flaky(ctx: JobContext) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("database restarting")

    try:
        ctx = JobContext(pool)
        assert await locked(ctx, "flaky", flaky)() is False
        assert "job flaky failed" in caplog.text
        assert await locked(ctx, "flaky", flaky)() is True
    finally:
        await pool.close()


async def test_journal_retention_drops_only_old_updates_and_stale_panel_sessions(
    database_url: str, db
) -> None:
    from app.scheduler.jobs import journal_retention

    await db.execute("""
        INSERT INTO update_journal (bot_id, update_id, kind, payload, received_at) VALUES
        (1, 1, 'message', '{}', now() - interval '200 days'),
        (1, 2, 'message', '{}', now() - interval '1 day')""")
    staff_id = await db.fetchval(
        "INSERT INTO staff (username, role) VALUES ('mod1', 'moderator') RETURNING id"
    )
    await db.execute(
        """
        INSERT INTO staff_sessions (id, staff_id, expires_at) VALUES
        ('old', $1, now() - interval '10 days'), ('live', $1, now() + interval '1 hour')""",
        staff_id,
    )
    pool = await create_pool(database_url)
    try:
        await journal_retention(JobContext(pool))
    finally:
        await pool.close()
    assert [r["update_id"] for r in await db.fetch("SELECT update_id FROM update_journal")] == [2]
    assert [r["id"] for r in await db.fetch("SELECT id FROM staff_sessions")] == ["live"]
