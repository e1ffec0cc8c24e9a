"""The dashboard's figures: rolling the busy logs up into per-day counts (a scheduled job)."""

from __future__ import annotations

from app.db import Conn
from app.db.queries import stats as q
from app.db.queries.stats import Metric, MetricDay
from app.domain.daterange import DateRange

__all__ = ["AREAS", "Metric", "MetricDay", "daily", "roll_up"]
AREAS = tuple(q.AREAS)  # users, support, chat, tasks, payments, broadcasts (plus the logs)

BATCH = 50_000


async def roll_up(conn: Conn, batch: int = BATCH) -> int:
    """Count the settled rows of each log into stats_days, a batch per transaction; returns the
    rows counted. Idempotent: a row is counted once, behind its log's watermark."""
    total = 0
    for source in q.ROLLED:
        while True:
            async with conn.transaction():
                counted = await q.rollup(conn, source, batch)
            total += counted
            if counted < batch:
                break
    return total


async def daily(conn: Conn, rng: DateRange, areas: tuple[str, ...] = AREAS) -> list[MetricDay]:
    """Every area's figures per UTC day of the range (what the dashboard charts; the staff API
    may serve the same): the logs' from their rolled-up days, the rest off time indexes."""
    figures = await q.logs(conn, rng.first, rng.last)
    for name in areas:
        figures += await q.area(conn, name, rng.since(), rng.until())
    return figures
