"""The dashboard's figures: rolling the busy logs up into per-day counts (a scheduled job)."""

from __future__ import annotations

from app.db import Conn
from app.db.queries import stats as q

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
