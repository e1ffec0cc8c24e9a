"""The desk's statistics per day (S6) over a date range the panel chooses."""

from __future__ import annotations

import datetime as dt

from app.db import Conn
from app.db.queries import support_stats as q
from app.db.queries.support_stats import DeskDay, OperatorFigures
from app.domain.support.settings import DeskSettings
from app.i18n import N_, UserError

MAX_DAYS = 366
DEFAULT_DAYS = 30
EARLIEST, LATEST = dt.date(2000, 1, 1), dt.date(2100, 12, 31)  # far dates overflow PostgreSQL's


class StatsError(UserError):
    """A date range that cannot be shown."""


def date_range(since: str, until: str, today: dt.date) -> tuple[dt.date, dt.date]:
    """The range from the form ("YYYY-MM-DD", either may be empty): the last 30 days by default."""
    try:
        last = dt.date.fromisoformat(until) if until.strip() else today
        first = dt.date.fromisoformat(since) if since.strip() else last - dt.timedelta(days=DEFAULT_DAYS - 1)
    except (ValueError, OverflowError):  # OverflowError: 30 days before 0001-01-01
        raise StatsError(N_("Dates are written as YYYY-MM-DD.")) from None
    if first < EARLIEST or last > LATEST:
        raise StatsError(N_("Choose days between 2000 and 2100."))
    if first > last:
        raise StatsError(N_("The first day comes after the last one."))
    if (last - first).days >= MAX_DAYS:
        raise StatsError(N_("Choose at most 366 days."))
    return first, last


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
