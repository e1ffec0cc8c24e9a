"""The support desk's figures per day (S6), computed from the tickets tables (sql/0045).

Days are local days of the desk's time zone. First response: from a ticket's opening to the
first operator answer in it, counted on the day the ticket was opened (a ticket not answered
yet has none). What the bot does without a ticket (auto-answers, "Did you mean…?", 👍/👎) comes
from its own counts (support_daily, sql/0051).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from app.db import Conn
from app.db.records import from_rows


@dataclass(frozen=True, slots=True)
class DeskDay:
    day: dt.date
    messages_in: int  # what users wrote into tickets
    messages_out: int  # operators' answers
    opened: int
    closed: int
    answered: int  # tickets opened this day that have a first response
    first_response_p50: float | None  # seconds
    first_response_p95: float | None
    auto_answered: int  # questions the knowledge base answered at once
    offered: int  # "Did you mean…?" shown
    picked: int  # a suggestion chosen
    helpful: int  # 👍
    unhelpful: int  # 👎
    resolution_p50: float | None  # seconds from opening to closing, of the tickets closed this day
    resolution_p95: float | None


async def daily(conn: Conn, first: dt.date, last: dt.date, timezone: str) -> list[DeskDay]:
    rows = await conn.fetch(
        """
        WITH bounds AS (
            SELECT ($1::date)::timestamp AT TIME ZONE $3 AS since,
                   ($2::date + 1)::timestamp AT TIME ZONE $3 AS until
        ), msgs AS (
            SELECT (m.created_at AT TIME ZONE $3)::date AS day,
                   count(*) FILTER (WHERE m.author = 'user') AS messages_in,
                   count(*) FILTER (WHERE m.author = 'operator') AS messages_out
              FROM support_messages m, bounds b
             WHERE m.created_at >= b.since AND m.created_at < b.until
             GROUP BY 1
        ), opened AS (
            SELECT (t.created_at AT TIME ZONE $3)::date AS day, count(*) AS opened
              FROM support_tickets t, bounds b
             WHERE t.created_at >= b.since AND t.created_at < b.until
             GROUP BY 1
        ), closed AS (
            SELECT (t.closed_at AT TIME ZONE $3)::date AS day, count(*) AS closed,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY r.seconds) AS r50,
                   percentile_cont(0.95) WITHIN GROUP (ORDER BY r.seconds) AS r95
              FROM support_tickets t, bounds b,
                   LATERAL (SELECT extract(epoch FROM t.closed_at - t.created_at)::float8 AS seconds) r
             WHERE t.closed_at >= b.since AND t.closed_at < b.until
             GROUP BY 1
        ), firsts AS (
            SELECT (t.created_at AT TIME ZONE $3)::date AS day,
                   extract(epoch FROM min(m.created_at) - t.created_at)::float8 AS seconds
              FROM support_tickets t
              JOIN support_messages m ON m.ticket_id = t.id AND m.author = 'operator', bounds b
             WHERE t.created_at >= b.since AND t.created_at < b.until
             GROUP BY t.id, t.created_at
        ), bot AS (
            SELECT day,
                   sum(count) FILTER (WHERE kind = 'auto') AS auto_answered,
                   sum(count) FILTER (WHERE kind = 'offered') AS offered,
                   sum(count) FILTER (WHERE kind = 'picked') AS picked,
                   sum(count) FILTER (WHERE kind = 'helpful') AS helpful,
                   sum(count) FILTER (WHERE kind = 'unhelpful') AS unhelpful
              FROM support_daily WHERE day BETWEEN $1::date AND $2::date GROUP BY day
        ), responses AS (
            SELECT day, count(*) AS answered,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) AS p50,
                   percentile_cont(0.95) WITHIN GROUP (ORDER BY seconds) AS p95
              FROM firsts GROUP BY day
        )
        SELECT d.day::date AS day,
               coalesce(msgs.messages_in, 0)::int AS messages_in,
               coalesce(msgs.messages_out, 0)::int AS messages_out,
               coalesce(opened.opened, 0)::int AS opened,
               coalesce(closed.closed, 0)::int AS closed,
               coalesce(responses.answered, 0)::int AS answered,
               responses.p50 AS first_response_p50,
               responses.p95 AS first_response_p95,
               coalesce(bot.auto_answered, 0)::int AS auto_answered,
               coalesce(bot.offered, 0)::int AS offered,
               coalesce(bot.picked, 0)::int AS picked,
               coalesce(bot.helpful, 0)::int AS helpful,
               coalesce(bot.unhelpful, 0)::int AS unhelpful,
               closed.r50 AS resolution_p50,
               closed.r95 AS resolution_p95
          FROM generate_series($1::date, $2::date, interval '1 day') AS d(day)
          LEFT JOIN msgs ON msgs.day = d.day::date
          LEFT JOIN opened ON opened.day = d.day::date
          LEFT JOIN closed ON closed.day = d.day::date
          LEFT JOIN responses ON responses.day = d.day::date
          LEFT JOIN bot ON bot.day = d.day::date
         ORDER BY d.day
        """,
        first,
        last,
        timezone,
    )
    return from_rows(DeskDay, rows)


async def add_counts(conn: Conn, counts: dict[tuple[dt.date, str], int]) -> None:
    """Add the bot's counts (per day and kind) to what is stored."""
    await conn.execute(
        """INSERT INTO support_daily (day, kind, count)
           SELECT * FROM unnest($1::date[], $2::text[], $3::bigint[])
           ON CONFLICT (day, kind) DO UPDATE SET count = support_daily.count + EXCLUDED.count""",
        [day for day, _kind in counts],
        [kind for _day, kind in counts],
        list(counts.values()),
    )


@dataclass(frozen=True, slots=True)
class OperatorFigures:
    staff_id: int
    name: str
    answers: int  # answers sent in the range
    closed: int  # tickets closed in the range
    first_responses: int  # tickets opened in the range whose first answer was theirs
    first_response_p50: float | None
    first_response_p95: float | None
    # Seconds from opening to closing of the tickets they closed in the range (as `closed`): the
    # one who closes a ticket resolved it; the assignee may have changed or never been set.
    resolution_p50: float | None
    resolution_p95: float | None


async def per_operator(conn: Conn, first: dt.date, last: dt.date, timezone: str) -> list[OperatorFigures]:
    rows = await conn.fetch(
        """
        WITH bounds AS (
            SELECT ($1::date)::timestamp AT TIME ZONE $3 AS since,
                   ($2::date + 1)::timestamp AT TIME ZONE $3 AS until
        ), answers AS (
            SELECT m.staff_id, count(*) AS n
              FROM support_messages m, bounds b
             WHERE m.author = 'operator' AND m.staff_id IS NOT NULL
               AND m.created_at >= b.since AND m.created_at < b.until
             GROUP BY m.staff_id
        ), closed AS (
            SELECT t.closed_by AS staff_id, count(*) AS n,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY r.seconds) AS r50,
                   percentile_cont(0.95) WITHIN GROUP (ORDER BY r.seconds) AS r95
              FROM support_tickets t, bounds b,
                   LATERAL (SELECT extract(epoch FROM t.closed_at - t.created_at)::float8 AS seconds) r
             WHERE t.closed_by IS NOT NULL AND t.closed_at >= b.since AND t.closed_at < b.until
             GROUP BY t.closed_by
        ), firsts AS (
            SELECT DISTINCT ON (t.id) m.staff_id,
                   extract(epoch FROM m.created_at - t.created_at)::float8 AS seconds
              FROM support_tickets t
              JOIN support_messages m ON m.ticket_id = t.id AND m.author = 'operator', bounds b
             WHERE t.created_at >= b.since AND t.created_at < b.until
             ORDER BY t.id, m.created_at, m.id
        ), responses AS (
            SELECT staff_id, count(*) AS n,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) AS p50,
                   percentile_cont(0.95) WITHIN GROUP (ORDER BY seconds) AS p95
              FROM firsts WHERE staff_id IS NOT NULL GROUP BY staff_id
        )
        SELECT s.id AS staff_id, coalesce(s.display_name, s.username) AS name,
               coalesce(answers.n, 0)::int AS answers, coalesce(closed.n, 0)::int AS closed,
               coalesce(responses.n, 0)::int AS first_responses,
               responses.p50 AS first_response_p50, responses.p95 AS first_response_p95,
               closed.r50 AS resolution_p50, closed.r95 AS resolution_p95
          FROM staff s
          LEFT JOIN answers ON answers.staff_id = s.id
          LEFT JOIN closed ON closed.staff_id = s.id
          LEFT JOIN responses ON responses.staff_id = s.id
         WHERE answers.n IS NOT NULL OR closed.n IS NOT NULL OR responses.n IS NOT NULL
         ORDER BY 2, 1
        """,
        first,
        last,
        timezone,
    )
    return from_rows(OperatorFigures, rows)
