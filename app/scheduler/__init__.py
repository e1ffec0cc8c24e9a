"""APScheduler on the main loop; jobs only tick, durable state lives in our tables."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from app.db.pool import advisory_lock
from app.metrics import JOB_FAILURES, JOB_RUNS
from app.scheduler import jobs
from app.scheduler.jobs import JobContext

log = logging.getLogger(__name__)

Job = Callable[[JobContext], Awaitable[None]]


def locked(ctx: JobContext, name: str, job: Job) -> Callable[[], Awaitable[bool]]:
    """Wrap `job` so that only one process runs it at a time; the others skip that tick.

    A failing tick is logged and the next one tries again: the job's state is in the tables.
    """

    @functools.wraps(job)
    async def run() -> bool:
        async with advisory_lock(ctx.pool, f"bozor.job.{name}", wait=False) as got:
            if not got:
                log.debug("job %s is running elsewhere; skipping this tick", name)
                return False
            JOB_RUNS.labels(name).inc()
            try:
                await job(ctx)
            except Exception:
                JOB_FAILURES.labels(name).inc()
                log.exception("job %s failed; it runs again at its next tick", name)
                return False
            return True

    return run


# (name, job, seconds between ticks, needs the bot)
SCHEDULE = [
    ("journal_retention", jobs.journal_retention, 6 * 3600, False),
    ("reposts", jobs.reposts, 60, True),
    ("checkins", jobs.checkins, 300, True),
    ("channel_sync", jobs.channel_sync, 600, True),
    ("chat_notices", jobs.chat_notices, 5, True),
    ("broadcasts", jobs.broadcasts_tick, 5, True),
    ("task_rechecks", jobs.task_rechecks, 60, True),
    ("promotions", jobs.promotions_tick, 60, True),
    ("ledger_verify", jobs.ledger_verify, 24 * 3600, False),
    ("stats_rollup", jobs.stats_rollup, 60, False),
    ("message_retention", jobs.message_retention, 6 * 3600, False),
]


def create_scheduler(ctx: JobContext) -> AsyncIOScheduler:
    """The scheduler with every job; start it from inside the running loop."""
    scheduler = AsyncIOScheduler(
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300}
    )
    for name, job, seconds, needs_bot in SCHEDULE:
        if needs_bot and ctx.ad_messages is None:
            continue
        scheduler.add_job(
            locked(ctx, name, job), "interval", seconds=seconds, id=name, jitter=min(30, seconds // 10)
        )
    return scheduler
