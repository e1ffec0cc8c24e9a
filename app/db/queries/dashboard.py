"""The dashboard's counts and 30-day series; `channels` None means every channel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from app.db import Conn
from app.db.queries.ads import AdStatus
from app.db.records import from_row, from_rows


@dataclass(frozen=True, slots=True)
class AdCounts:
    pending: int
    published: int
    sold_today: int


@dataclass(frozen=True, slots=True)
class GlobalCounts:
    users: int
    blocked: int  # by staff
    uncertain: int  # deliveries whose outcome is unknown


@dataclass(frozen=True, slots=True)
class StatusDay:
    day: date
    status: AdStatus
    n: int


@dataclass(frozen=True, slots=True)
class DecisionTimes:
    channel_id: int
    title: str
    decided: int
    p50: float  # minutes
    p95: float


@dataclass(frozen=True, slots=True)
class DayCount:
    day: date
    n: int


# `$1::bigint[] IS NULL OR channel_id = ANY($1)`: one statement for admins and moderators.
SCOPE = "($1::bigint[] IS NULL OR channel_id = ANY($1::bigint[]))"


async def ad_counts(conn: Conn, channels: list[int] | None, today: datetime) -> AdCounts:
    """Pending and published ads (kept per channel by triggers) and ads sold since `today` began."""
    row = await conn.fetchrow(
        f"""SELECT coalesce(sum(n) FILTER (WHERE status = 'pending'), 0) AS pending,
                   coalesce(sum(n) FILTER (WHERE status = 'published'), 0) AS published,
                   (SELECT count(DISTINCT e.ad_id) FROM ad_events e JOIN ads a ON a.id = e.ad_id
                     WHERE e.kind = 'sold' AND e.at >= $2 AND a.status = 'sold'
                       AND ($1::bigint[] IS NULL OR a.channel_id = ANY($1::bigint[]))) AS sold_today
              FROM dashboard_ad_totals
             WHERE status IN ('pending', 'published') AND {SCOPE}""",
        channels,
        today,
    )
    return from_row(AdCounts, row)


async def global_counts(conn: Conn) -> GlobalCounts:
    """Numbers that belong to no channel: people and deliveries."""
    row = await conn.fetchrow(
        """SELECT (SELECT count(*) FROM users) AS users,
                  (SELECT count(*) FROM users WHERE banned_at IS NOT NULL) AS blocked,
                  (SELECT count(*) FROM outbox WHERE status = 'uncertain') AS uncertain"""
    )
    return from_row(GlobalCounts, row)


# The series below read sql/0011's per-day tables, which triggers keep in the writer's own
# transaction: a few thousand rows for 30 days, however many ads there are.


# `until` (exclusive, None: no end) is the date range's end; the days are UTC days.
UNTIL = "($3::timestamptz IS NULL OR day < ($3::timestamptz AT TIME ZONE 'UTC')::date)"


async def ads_per_day(
    conn: Conn, channels: list[int] | None, since: datetime, until: datetime | None = None
) -> list[StatusDay]:
    """Ads submitted per UTC day and their status now."""
    rows = await conn.fetch(
        f"""SELECT day, status, sum(n)::bigint AS n FROM dashboard_ad_days
             WHERE day >= ($2::timestamptz AT TIME ZONE 'UTC')::date AND {UNTIL} AND {SCOPE}
             GROUP BY 1, 2 HAVING sum(n) <> 0""",
        channels,
        since,
        until,
    )
    return from_rows(StatusDay, rows)


async def decision_times(
    conn: Conn, channels: list[int] | None, since: datetime, until: datetime | None = None
) -> list[DecisionTimes]:
    """Minutes from submit to decision, median and 95th percentile, per channel: exact, from
    each day's list of seconds (sql/0011 says why not histograms)."""
    # One channel at a time: each sort is a few thousand integers in memory, where a single
    # GROUP BY sorted all of them by channel first (on disk, at the default work_mem).
    rows = await conn.fetch(
        """SELECT c.id AS channel_id, c.title, d.decided, d.p50 / 60 AS p50, d.p95 / 60 AS p95
             FROM channels c
            CROSS JOIN LATERAL (
                  SELECT count(*) AS decided,
                         percentile_cont(0.5) WITHIN GROUP (ORDER BY s) AS p50,
                         percentile_cont(0.95) WITHIN GROUP (ORDER BY s) AS p95
                    FROM dashboard_decision_days t CROSS JOIN unnest(t.seconds) s
                   WHERE t.channel_id = c.id
                     AND t.day >= ($2::timestamptz AT TIME ZONE 'UTC')::date
                     AND ($3::timestamptz IS NULL OR t.day < ($3::timestamptz AT TIME ZONE 'UTC')::date)) d
            WHERE d.decided > 0 AND ($1::bigint[] IS NULL OR c.id = ANY($1::bigint[]))
            ORDER BY c.title, c.id""",
        channels,
        since,
        until,
    )
    return from_rows(DecisionTimes, rows)


async def reposts_per_day(
    conn: Conn, channels: list[int] | None, since: datetime, until: datetime | None = None
) -> list[DayCount]:
    rows = await conn.fetch(
        f"""SELECT day, sum(n)::bigint AS n FROM dashboard_repost_days
             WHERE day >= ($2::timestamptz AT TIME ZONE 'UTC')::date AND {UNTIL} AND {SCOPE}
             GROUP BY 1""",
        channels,
        since,
        until,
    )
    return from_rows(DayCount, rows)


@dataclass(frozen=True, slots=True)
class FailedDelivery:
    """A message about an ad that Telegram refused for good, with its reason."""

    outbox_id: int
    ad_id: int
    ad_title: str
    method: str
    chat_id: int
    error: str | None
    done_at: datetime | None


async def failed_deliveries(conn: Conn, channels: list[int] | None, limit: int = 10) -> list[FailedDelivery]:
    """The latest failed deliveries about ads of these channels (sql/0030's index)."""
    rows = await conn.fetch(
        """SELECT o.id AS outbox_id, a.id AS ad_id, a.title AS ad_title, o.method, o.chat_id,
                  o.error, o.done_at
           FROM outbox o JOIN ads a ON o.ref_kind = 'ad' AND a.id = o.ref_id
           WHERE o.status = 'failed' AND ($1::bigint[] IS NULL OR a.channel_id = ANY($1::bigint[]))
           ORDER BY o.done_at DESC NULLS LAST, o.id DESC LIMIT $2""",
        channels,
        limit,
    )
    return from_rows(FailedDelivery, rows)
