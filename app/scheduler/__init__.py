"""APScheduler on the main loop; jobs only tick, durable state lives in our tables."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable

import asyncpg
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from app.db.pool import advisory_lock
from app.scheduler import jobs

log = logging.getLogger(__name__)

Job = Callable[[asyncpg.Pool], Awaitable[None]]


def locked(pool: asyncpg.Pool, name: str, job: Job) -> Callable[[], Awaitable[bool]]:
    """Wrap `job` so that only one process runs it at a time; the others skip that tick."""

    @functools.wraps(job)
    async def run() -> bool:
        async with advisory_lock(pool, f"bozor.job.{name}", wait=False) as got:
            if not got:
                log.debug("job %s is running elsewhere; skipping this tick", name)
                return False
            await job(pool)
            return True

    return run


def create_scheduler(pool: asyncpg.Pool) -> AsyncIOScheduler:
    """The scheduler with every job; start it from inside the running loop."""
    scheduler = AsyncIOScheduler(job_defaults={"coalesce": True, "max_instances": 1,
                                               "misfire_grace_time": 300})
    scheduler.add_job(locked(pool, "journal_retention", jobs.journal_retention), "interval",
                      hours=6, id="journal_retention", jitter=60)
    return scheduler
