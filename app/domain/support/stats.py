"""The desk's statistics per day (S6) over a date range the panel chooses."""

from __future__ import annotations

import datetime as dt

from app.db import Conn
from app.db.queries import support_stats as q
from app.db.queries.support_stats import DeskDay, OperatorFigures
from app.domain.support.settings import DeskSettings


async def daily(conn: Conn, first: dt.date, last: dt.date, settings: DeskSettings) -> list[DeskDay]:
    """Messages in and out, tickets opened and closed, first response p50/p95, per local day."""
    return await q.daily(conn, first, last, _zone(settings))


async def per_operator(
    conn: Conn, first: dt.date, last: dt.date, settings: DeskSettings
) -> list[OperatorFigures]:
    """Each operator's answers, closed tickets and first responses (p50/p95) over the range."""
    return await q.per_operator(conn, first, last, _zone(settings))


def _zone(settings: DeskSettings) -> str:
    return getattr(settings.zone(), "key", "UTC")  # a time zone PostgreSQL knows too


def today(settings: DeskSettings, now: dt.datetime) -> dt.date:
    return now.astimezone(settings.zone()).date()
