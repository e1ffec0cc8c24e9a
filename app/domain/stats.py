"""The dashboard's figures: rolling the busy logs up into per-day counts (a scheduled job)."""

from __future__ import annotations

from app.db import Conn
from app.db.queries import stats as q
from app.db.queries.stats import Metric, MetricDay
from app.domain import staff as staff_domain
from app.domain.daterange import DateRange
from app.domain.staff import Role, Staff

__all__ = [
    "AREAS",
    "CHARTS",
    "Metric",
    "MetricDay",
    "ad_channels",
    "areas_for",
    "daily",
    "figures_for",
    "roll_up",
]
AREAS = tuple(q.AREAS)  # users, support, chat, tasks, payments, broadcasts (plus the logs)

# The dashboard's areas and their series, in the order it draws them: one list for the
# panel's charts, its CSV and the staff API, so that they cannot disagree.
CHARTS: dict[str, tuple[Metric, ...]] = {
    "users": (Metric.NEW_USERS, Metric.ACTIVE_USERS, Metric.BLOCKED_BOT, Metric.BANNED),
    "messages": (Metric.MESSAGES_IN, Metric.MESSAGES_OUT, Metric.UPDATES),
    "support": (Metric.TICKETS_OPENED, Metric.TICKETS_CLOSED, Metric.SUPPORT_IN, Metric.SUPPORT_OUT),
    "chat": (Metric.CONVERSATIONS, Metric.CHAT_MESSAGES, Metric.CHAT_REPORTS),
    "tasks": (Metric.COMPLETIONS, Metric.CREDITED, Metric.POINTS_REWARDED),
    "payments": (Metric.PROMOTIONS_PAID, Metric.WITHDRAWALS, Metric.STARS_PAID),
    "broadcasts": (Metric.BROADCASTS_STARTED, Metric.BROADCAST_OUT),
}
# What operators see besides ads (payments, tasks and broadcasts are the admins' screens).
OPERATOR_AREAS = ("users", "messages", "support", "chat")


def areas_for(staff: Staff) -> tuple[str, ...]:
    """The areas whose charts this member sees: an admin every one, an operator those of their
    work, a moderator none (their figures are their channels' ads)."""
    if staff.role is Role.ADMIN:
        return tuple(CHARTS)
    if staff.role is Role.OPERATOR:
        return OPERATOR_AREAS
    return ()


async def ad_channels(conn: Conn, staff: Staff) -> list[int] | None:
    """Whose ads the member's figures count: a moderator's channels; None, every channel."""
    return await staff_domain.moderated_channel_ids(conn, staff) if staff.role is Role.MODERATOR else None


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


async def figures_for(conn: Conn, staff: Staff, rng: DateRange) -> dict[str, dict[Metric, list[int]]]:
    """The areas this member sees (`areas_for`), each metric's count per day of the range."""
    shown = areas_for(staff)
    if not shown:
        return {}
    index = {day: i for i, day in enumerate(rng.day_list())}
    values: dict[Metric, list[int]] = {}
    for row in await daily(conn, rng, tuple(name for name in AREAS if name in shown)):
        if row.day in index:
            values.setdefault(row.metric, [0] * rng.days)[index[row.day]] += row.n
    return {area: {metric: values.get(metric, [0] * rng.days) for metric in CHARTS[area]} for area in shown}
