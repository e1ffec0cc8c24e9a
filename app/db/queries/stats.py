"""The dashboard's per-day figures for every area over a date range (UTC days, as sql/0011's).

The busy logs (updates, the message record, the outbox, web-chat messages) are read from
sql/0085's stats_days, which `rollup` keeps, plus the rows after each log's watermark; the
smaller areas are counted per day off their time indexes. Every function returns `MetricDay`
rows: a day, a metric name (the `Metric` enum) and a number; days without any are absent.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from app.db import Conn
from app.db.records import from_rows


class Metric(StrEnum):
    # users
    NEW_USERS = "new_users"
    ACTIVE_USERS = "active_users"  # sent Bozor anything that day
    BLOCKED_BOT = "blocked_bot"  # blocked the bot that day
    BANNED = "banned"  # blocked by staff that day
    # messages
    UPDATES = "updates"
    MESSAGES_IN = "messages_in"  # messages users wrote to the bot
    MESSAGES_OUT = "messages_out"  # messages Bozor sent or edited: direct replies and deliveries
    # support desk
    TICKETS_OPENED = "tickets_opened"
    TICKETS_CLOSED = "tickets_closed"
    SUPPORT_IN = "support_in"
    SUPPORT_OUT = "support_out"
    # web chat
    CONVERSATIONS = "conversations"
    CHAT_MESSAGES = "chat_messages"
    CHAT_REPORTS = "chat_reports"
    # tasks
    COMPLETIONS = "completions"
    CREDITED = "credited"
    POINTS_REWARDED = "points_rewarded"
    # payments
    STARS_PAID = "stars_paid"
    PROMOTIONS_PAID = "promotions_paid"
    WITHDRAWALS = "withdrawals"
    # broadcasts
    BROADCASTS_STARTED = "broadcasts_started"
    BROADCAST_OUT = "broadcast_out"


@dataclass(frozen=True, slots=True)
class MetricDay:
    day: dt.date
    metric: Metric
    n: int


# The logs rolled up into stats_days: their time column and what is counted of each row.
ROLLED = {
    "update_journal": ("received_at", {"updates": "true", "messages_in": "kind = 'message'"}),
    # Every message the bot sent (a direct reply or an outbox delivery) is on record (sql/0090),
    # as the Messages screen shows them; the outbox alone misses the direct replies (sql/0093).
    "message_record": ("at", {"messages_out": "direction = 'out'"}),
    "outbox": ("created_at", {"broadcast_out": "ref_kind = 'broadcast'"}),
    "chat_messages": ("created_at", {"chat_messages": "true"}),
}
# A row younger than this is left for the next run: a lower id whose transaction commits
# late is then still ahead of the watermark (ids are handed out before commit). The record's
# `at` is when a message was sent; the bot usually writes it a fraction of a second later
# (app/bot/record.py), well inside this — but a backlog kept while the database was away is
# written with older moments, and two processes writing such backlogs at once may leave a few
# of them behind the watermark, uncounted (a column of insert time would close that).
SETTLE = "interval '2 minutes'"
MAX_ID = 2**63 - 1


async def rollup(conn: Conn, source: str, batch: int = 50_000) -> int:
    """Count up to `batch` settled rows of a log into stats_days; returns how many were counted.

    In the caller's transaction (the watermark row is locked for it)."""
    at, metrics = ROLLED[source]
    last = await conn.fetchval("SELECT last_id FROM stats_rollup WHERE source = $1 FOR UPDATE", source)
    upto = await conn.fetchval(
        f"""WITH b AS (SELECT id, {at} AS at FROM {source} WHERE id > $1 ORDER BY id LIMIT $2)
            SELECT max(id) FROM b
             WHERE id < coalesce((SELECT min(id) FROM b WHERE at >= now() - {SETTLE}), {MAX_ID})""",
        last,
        batch,
    )
    if upto is None:
        return 0
    counts = ", ".join(f"count(*) FILTER (WHERE {cond}) AS {name}" for name, cond in metrics.items())
    values = ", ".join(f"('{name}', g.{name})" for name in metrics)
    await conn.execute(
        f"""INSERT INTO stats_days AS t (day, metric, n)
            SELECT g.day, v.metric, v.n
              FROM (SELECT dashboard_day({at}) AS day, {counts}
                      FROM {source} WHERE id > $1 AND id <= $2 GROUP BY 1) g
             CROSS JOIN LATERAL (VALUES {values}) v (metric, n)
             WHERE v.n > 0
             ORDER BY 1, 2
            ON CONFLICT (day, metric) DO UPDATE SET n = t.n + excluded.n""",
        last,
        upto,
    )
    if source == "update_journal":
        # Each user once a day: only the (day, user) pairs not counted before add to the day.
        await conn.execute(
            """WITH fresh AS (
                   INSERT INTO stats_active (day, user_id)
                   SELECT DISTINCT dashboard_day(received_at), user_id FROM update_journal
                    WHERE id > $1 AND id <= $2 AND user_id IS NOT NULL
                   ON CONFLICT DO NOTHING RETURNING day)
               INSERT INTO stats_days AS t (day, metric, n)
               SELECT day, 'active_users', count(*) FROM fresh GROUP BY day ORDER BY day
               ON CONFLICT (day, metric) DO UPDATE SET n = t.n + excluded.n""",
            last,
            upto,
        )
        await conn.execute(
            """DELETE FROM stats_active WHERE day < (SELECT dashboard_day(received_at) - 1
                                                      FROM update_journal WHERE id = $1)""",
            upto,
        )
    count = await conn.fetchval(f"SELECT count(*) FROM {source} WHERE id > $1 AND id <= $2", last, upto)
    await conn.execute("UPDATE stats_rollup SET last_id = $2 WHERE source = $1", source, upto)
    return int(count)


RANGE = "BETWEEN $1::date AND $2::date"


async def logs(conn: Conn, first: dt.date, last: dt.date) -> list[MetricDay]:
    """Updates, messages in and out, active users, web-chat messages, broadcast messages: the
    rolled-up days plus each log's rows after its watermark."""
    rows = await conn.fetch(
        f"""WITH marks AS (SELECT source, last_id FROM stats_rollup)
            SELECT day, metric, sum(n)::bigint AS n FROM (
                SELECT day, metric, n FROM stats_days WHERE day {RANGE}
                UNION ALL
                SELECT g.day, v.metric, v.n FROM (
                    SELECT dashboard_day(j.received_at) AS day, count(*) AS updates,
                           count(*) FILTER (WHERE j.kind = 'message') AS messages_in,
                           count(DISTINCT j.user_id) FILTER (
                               WHERE j.user_id IS NOT NULL AND NOT EXISTS (
                                   SELECT 1 FROM stats_active a
                                    WHERE a.day = dashboard_day(j.received_at) AND a.user_id = j.user_id)
                           ) AS active_users
                      FROM update_journal j
                     WHERE j.id > (SELECT last_id FROM marks WHERE source = 'update_journal')
                     GROUP BY 1) g
                CROSS JOIN LATERAL (VALUES ('updates', g.updates), ('messages_in', g.messages_in),
                                           ('active_users', g.active_users)) v (metric, n)
                WHERE g.day {RANGE}
                UNION ALL
                SELECT dashboard_day(r.at), 'messages_out', count(*)
                  FROM message_record r
                 WHERE r.id > (SELECT last_id FROM marks WHERE source = 'message_record')
                   AND r.direction = 'out'
                 GROUP BY 1 HAVING dashboard_day(r.at) {RANGE}
                UNION ALL
                SELECT dashboard_day(o.created_at), 'broadcast_out', count(*)
                  FROM outbox o
                 WHERE o.id > (SELECT last_id FROM marks WHERE source = 'outbox') AND o.ref_kind = 'broadcast'
                 GROUP BY 1 HAVING dashboard_day(o.created_at) {RANGE}
                UNION ALL
                SELECT dashboard_day(m.created_at), 'chat_messages', count(*)
                  FROM chat_messages m WHERE m.id > (SELECT last_id FROM marks WHERE source = 'chat_messages')
                 GROUP BY 1 HAVING dashboard_day(m.created_at) {RANGE}
            ) s GROUP BY 1, 2 HAVING sum(n) <> 0""",
        first,
        last,
    )
    return from_rows(MetricDay, rows)


# Per-day counts of the smaller areas off their time indexes: $1 and $2 are the range's
# moments (the first day's start, the day after the last one's start, UTC).


def _per_day(metric: Metric, table: str, column: str, value: str = "count(*)", where: str = "true") -> str:
    return (
        f"SELECT dashboard_day({column}) AS day, '{metric.value}' AS metric, ({value})::bigint AS n"
        f" FROM {table} WHERE {column} >= $1 AND {column} < $2 AND {where} GROUP BY 1"
    )


AREAS: dict[str, tuple[str, ...]] = {
    "users": (
        _per_day(Metric.NEW_USERS, "users", "first_seen"),
        _per_day(Metric.BLOCKED_BOT, "users", "blocked_bot_at"),
        _per_day(Metric.BANNED, "users", "banned_at"),
    ),
    "support": (
        _per_day(Metric.TICKETS_OPENED, "support_tickets", "created_at"),
        _per_day(Metric.TICKETS_CLOSED, "support_tickets", "closed_at"),
        _per_day(Metric.SUPPORT_IN, "support_messages", "created_at", where="author = 'user'"),
        _per_day(Metric.SUPPORT_OUT, "support_messages", "created_at", where="author = 'operator'"),
    ),
    "chat": (
        _per_day(Metric.CONVERSATIONS, "chat_conversations", "created_at"),
        _per_day(Metric.CHAT_REPORTS, "chat_reports", "created_at"),
    ),
    "tasks": (
        _per_day(Metric.COMPLETIONS, "task_completions", "created_at"),
        _per_day(Metric.CREDITED, "task_completions", "created_at", where="status = 'credited'"),
        _per_day(
            Metric.POINTS_REWARDED,
            "ledger_entries",
            "created_at",
            "sum(amount)",
            "kind IN ('task_reward', 'take_back')",
        ),
    ),
    "payments": (
        _per_day(
            Metric.STARS_PAID,
            "ledger_entries",
            "created_at",
            "sum(amount)",
            "kind = 'payment' AND currency = 'XTR'",
        ),
        _per_day(Metric.PROMOTIONS_PAID, "promotions", "paid_at"),
        _per_day(Metric.WITHDRAWALS, "withdrawal_requests", "requested_at"),
    ),
    "broadcasts": (_per_day(Metric.BROADCASTS_STARTED, "broadcasts", "started_at"),),
}


async def area(conn: Conn, name: str, since: dt.datetime, until: dt.datetime) -> list[MetricDay]:
    """One area's figures per day (`AREAS`' names: users, support, chat, tasks, payments, broadcasts)."""
    rows = await conn.fetch(" UNION ALL ".join(AREAS[name]), since, until)
    return from_rows(MetricDay, rows)
