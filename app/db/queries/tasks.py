"""Queries on tasks and their completions: the list a user sees, the once-only completion, the
review queue, the re-check sweep and the figures per task."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from app.db import Conn
from app.db.records import from_row, from_rows, maybe

TASKS_CHANNEL = "bozor_tasks"  # LISTENed to by the panel's live screenshot queue


class Verification(StrEnum):
    AUTO = "auto"  # the bot sees the chat's members: getChatMember
    SCREENSHOT = "screenshot"  # staff look at a screenshot


class CompletionStatus(StrEnum):
    PENDING = "pending"  # a screenshot waits for review
    CREDITED = "credited"
    REJECTED = "rejected"  # a screenshot refused (the user may send another)
    TAKEN_BACK = "taken_back"  # the user left within the window: the reward taken back


@dataclass(frozen=True, slots=True)
class Task:
    id: int
    chat_ref: str
    chat_id: int | None
    chat_title: str | None
    join_url: str
    titles: dict[str, str]
    descriptions: dict[str, str]
    reward: int
    max_completions: int | None
    completions: int
    starts_at: datetime | None
    ends_at: datetime | None
    verification: Verification
    leave_days: int | None
    active: bool
    created_at: datetime

    def title(self, language: str) -> str:
        return _pick(self.titles, language)

    def description(self, language: str) -> str:
        return _pick(self.descriptions, language)


def _pick(texts: dict[str, str], language: str) -> str:
    """The text in `language`, else any filled one (uz, ru, en), else empty."""
    for code in (language, "uz", "ru", "en"):
        if texts.get(code):
            return texts[code]
    return ""


@dataclass(frozen=True, slots=True)
class Completion:
    id: int
    task_id: int
    user_id: int
    status: CompletionStatus
    reward: int
    screenshot: str | None
    created_at: datetime
    credited_at: datetime | None
    decided_by: int | None
    decided_at: datetime | None
    reject_reason: str | None
    watch_until: datetime | None
    next_check_at: datetime | None
    left_at: datetime | None
    taken_back: int | None


@dataclass(frozen=True, slots=True)
class ReviewItem:
    """A screenshot in the queue with the user's context."""

    id: int
    task_id: int
    task_title: str
    chat_title: str | None
    user_id: int
    first_name: str
    username: str | None
    screenshot: str | None
    created_at: datetime
    done_before: int  # the user's credited tasks so far
    rejected_before: int


@dataclass(frozen=True, slots=True)
class TaskStats:
    task_id: int
    completions: int
    pending: int
    rejected: int
    taken_back: int
    points_paid: int  # rewards credited minus taken back


@dataclass(frozen=True, slots=True)
class DayStats:
    day: datetime
    completions: int
    taken_back: int
    points: int


TASK_COLUMNS = """id, chat_ref, chat_id, chat_title, join_url, titles, descriptions, reward,
    max_completions, completions, starts_at, ends_at, verification, leave_days, active, created_at"""
COMPLETION_COLUMNS = """id, task_id, user_id, status, reward, screenshot, created_at, credited_at,
    decided_by, decided_at, reject_reason, watch_until, next_check_at, left_at, taken_back"""

C_COLUMNS = ", ".join("c." + c.strip() for c in COMPLETION_COLUMNS.split(","))


def _task(row: Any) -> Task:
    values = dict(row)
    for key in ("titles", "descriptions"):
        if isinstance(values[key], str):
            values[key] = json.loads(values[key])
    return from_row(Task, values)


async def insert_task(conn: Conn, fields: dict[str, Any], staff_id: int | None) -> Task:
    row = await conn.fetchrow(
        f"""INSERT INTO tasks (chat_ref, chat_id, chat_title, join_url, titles, descriptions, reward,
                               max_completions, starts_at, ends_at, verification, leave_days, active,
                               created_by)
            VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7, $8, $9, $10, $11, $12, $13, $14)
            RETURNING {TASK_COLUMNS}""",
        *_values(fields),
        staff_id,
    )
    return _task(row)


def _values(f: dict[str, Any]) -> list[Any]:
    return [
        f["chat_ref"],
        f["chat_id"],
        f["chat_title"],
        f["join_url"],
        json.dumps(f["titles"]),
        json.dumps(f["descriptions"]),
        f["reward"],
        f["max_completions"],
        f["starts_at"],
        f["ends_at"],
        f["verification"].value,
        f["leave_days"],
        f["active"],
    ]


async def update_task(conn: Conn, task_id: int, fields: dict[str, Any]) -> Task | None:
    row = await conn.fetchrow(
        f"""UPDATE tasks SET chat_ref = $2, chat_id = $3, chat_title = $4, join_url = $5,
                   titles = $6::jsonb, descriptions = $7::jsonb, reward = $8, max_completions = $9,
                   starts_at = $10, ends_at = $11, verification = $12, leave_days = $13,
                   active = $14, updated_at = now()
             WHERE id = $1
            RETURNING {TASK_COLUMNS}""",
        task_id,
        *_values(fields),
    )
    return None if row is None else _task(row)


BIGINT = range(1, 2**63)  # ids from buttons may be forged: beyond a bigint is "no such row"


async def get_task(conn: Conn, task_id: int) -> Task | None:
    if task_id not in BIGINT:
        return None
    row = await conn.fetchrow(f"SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1", task_id)
    return None if row is None else _task(row)


async def list_tasks(conn: Conn) -> list[Task]:
    rows = await conn.fetch(f"SELECT {TASK_COLUMNS} FROM tasks ORDER BY active DESC, id DESC")
    return [_task(r) for r in rows]


async def open_tasks_for(conn: Conn, user_id: int, now: datetime, limit: int) -> list[Task]:
    """Active tasks within their dates and limit that this user has not done (a rejected
    screenshot may be sent again)."""
    rows = await conn.fetch(
        f"""SELECT {TASK_COLUMNS} FROM tasks t
             WHERE active AND (starts_at IS NULL OR starts_at <= $2) AND (ends_at IS NULL OR ends_at > $2)
               AND (max_completions IS NULL OR completions < max_completions)
               AND NOT EXISTS (SELECT 1 FROM task_completions c
                                WHERE c.task_id = t.id AND c.user_id = $1 AND c.status <> 'rejected')
             ORDER BY id LIMIT $3""",
        user_id,
        now,
        limit,
    )
    return [_task(r) for r in rows]


async def get_completion(conn: Conn, task_id: int, user_id: int) -> Completion | None:
    row = await conn.fetchrow(
        f"SELECT {COMPLETION_COLUMNS} FROM task_completions WHERE task_id = $1 AND user_id = $2",
        task_id,
        user_id,
    )
    return maybe(Completion, row)


async def completion_by_id(conn: Conn, completion_id: int) -> Completion | None:
    if completion_id not in BIGINT:
        return None
    row = await conn.fetchrow(
        f"SELECT {COMPLETION_COLUMNS} FROM task_completions WHERE id = $1", completion_id
    )
    return maybe(Completion, row)


# One statement claims the completion: a new row, or a rejected screenshot's row sent again.
# Of two at once, the unique constraint makes the second wait for the first and then find it
# (ON CONFLICT … WHERE fails): it returns nothing.
CLAIM = f"""
INSERT INTO task_completions AS c (task_id, user_id, status, reward, screenshot, credited_at,
                                   watch_until, next_check_at)
VALUES ($1, $2, $3, $4, $5, CASE WHEN $3 = 'credited' THEN now() END, $6, $7)
ON CONFLICT (task_id, user_id) DO UPDATE
   SET status = excluded.status, screenshot = excluded.screenshot, created_at = now(),
       reward = excluded.reward, credited_at = excluded.credited_at,
       watch_until = excluded.watch_until, next_check_at = excluded.next_check_at,
       decided_by = NULL, decided_at = NULL, reject_reason = NULL
 WHERE c.status = 'rejected'
RETURNING {COMPLETION_COLUMNS}
"""


async def claim_completion(
    conn: Conn,
    task_id: int,
    user_id: int,
    status: CompletionStatus,
    reward: int,
    screenshot: str | None,
    watch_until: datetime | None,
    next_check_at: datetime | None,
) -> Completion | None:
    """None when the user already has this task (done, waiting, taken back)."""
    row = await conn.fetchrow(
        CLAIM, task_id, user_id, status.value, reward, screenshot, watch_until, next_check_at
    )
    return maybe(Completion, row)


async def count_completion(conn: Conn, task_id: int) -> bool:
    """Count one more completion of the task; False when its limit is reached."""
    row = await conn.fetchrow(
        """UPDATE tasks SET completions = completions + 1
            WHERE id = $1 AND (max_completions IS NULL OR completions < max_completions)
           RETURNING id""",
        task_id,
    )
    return row is not None


async def uncount_completion(conn: Conn, task_id: int) -> None:
    """A rejected screenshot frees its place in the limit."""
    await conn.execute(
        "UPDATE tasks SET completions = completions - 1 WHERE id = $1 AND completions > 0", task_id
    )


async def decide_review(
    conn: Conn,
    completion_id: int,
    status: CompletionStatus,
    staff_id: int,
    reason: str | None,
    watch_until: datetime | None,
    next_check_at: datetime | None,
) -> Completion | None:
    """The first decision wins: only a pending screenshot changes; None when decided before."""
    row = await conn.fetchrow(
        f"""UPDATE task_completions
               SET status = $2, decided_by = $3, decided_at = now(), reject_reason = $4,
                   credited_at = CASE WHEN $2 = 'credited' THEN now() END,
                   watch_until = $5, next_check_at = $6
             WHERE id = $1 AND status = 'pending'
            RETURNING {COMPLETION_COLUMNS}""",
        completion_id,
        status.value,
        staff_id,
        reason,
        watch_until,
        next_check_at,
    )
    return maybe(Completion, row)


async def review_queue(conn: Conn, language: str, limit: int) -> list[ReviewItem]:
    rows = await conn.fetch(
        """SELECT c.id, c.task_id, t.titles, t.chat_title, c.user_id, u.first_name, u.username,
                  c.screenshot, c.created_at,
                  (SELECT count(*) FROM task_completions d
                    WHERE d.user_id = c.user_id AND d.status = 'credited') AS done_before,
                  (SELECT count(*) FROM task_completions d
                    WHERE d.user_id = c.user_id AND d.status = 'rejected') AS rejected_before
             FROM task_completions c JOIN tasks t ON t.id = c.task_id JOIN users u ON u.id = c.user_id
            WHERE c.status = 'pending' ORDER BY c.id LIMIT $1""",
        limit,
    )
    return [_review(r, language) for r in rows]


async def review_item(conn: Conn, completion_id: int, language: str) -> ReviewItem | None:
    row = await conn.fetchrow(
        """SELECT c.id, c.task_id, t.titles, t.chat_title, c.user_id, u.first_name, u.username,
                  c.screenshot, c.created_at,
                  (SELECT count(*) FROM task_completions d
                    WHERE d.user_id = c.user_id AND d.status = 'credited') AS done_before,
                  (SELECT count(*) FROM task_completions d
                    WHERE d.user_id = c.user_id AND d.status = 'rejected') AS rejected_before
             FROM task_completions c JOIN tasks t ON t.id = c.task_id JOIN users u ON u.id = c.user_id
            WHERE c.id = $1 AND c.status = 'pending'""",
        completion_id,
    )
    return None if row is None else _review(row, language)


def _review(row: Any, language: str) -> ReviewItem:
    titles = row["titles"] if isinstance(row["titles"], dict) else json.loads(row["titles"])
    values = dict(row)
    values["task_title"] = _pick(titles, language)
    return from_row(ReviewItem, values)


async def notify(conn: Conn, event: dict[str, Any]) -> None:
    """Tell the panels (live queue) in the caller's transaction: sent on commit."""
    await conn.execute("SELECT pg_notify($1, $2::jsonb::text)", TASKS_CHANNEL, json.dumps(event))


# --- leaving ----------------------------------------------------------------------------------


async def watched_in_chat(conn: Conn, chat_id: int, user_id: int, now: datetime) -> list[Completion]:
    """The user's credited completions of tasks in this chat still inside their window."""
    rows = await conn.fetch(
        f"""SELECT {C_COLUMNS}
              FROM task_completions c JOIN tasks t ON t.id = c.task_id
             WHERE t.chat_id = $1 AND c.user_id = $2 AND c.status = 'credited' AND c.watch_until > $3""",
        chat_id,
        user_id,
        now,
    )
    return from_rows(Completion, rows)


async def lease_due_checks(
    conn: Conn, now: datetime, lease_until: datetime, limit: int
) -> list[tuple[Completion, int]]:
    """Take up to `limit` due credited completions, soonest first, with their chat id: their
    due date moves to `lease_until`, so another sweep (another process) skips them, and a sweep
    that dies leaves them due again once the lease ends."""
    rows = await conn.fetch(
        f"""WITH due AS (
                SELECT c.id FROM task_completions c
                 WHERE c.status = 'credited' AND c.next_check_at IS NOT NULL AND c.next_check_at <= $1
                 ORDER BY c.next_check_at LIMIT $3
                   FOR UPDATE SKIP LOCKED
            )
            UPDATE task_completions c SET next_check_at = $2 FROM due, tasks t
             WHERE c.id = due.id AND t.id = c.task_id AND t.chat_id IS NOT NULL
            RETURNING {C_COLUMNS}, t.chat_id AS chat""",
        now,
        lease_until,
        limit,
    )
    return [(from_row(Completion, r), r["chat"]) for r in rows]


async def set_next_check(conn: Conn, completion_id: int, at: datetime | None) -> None:
    await conn.execute(
        "UPDATE task_completions SET next_check_at = $2 WHERE id = $1 AND status = 'credited'",
        completion_id,
        at,
    )


async def mark_taken_back(
    conn: Conn, completion_id: int, left_at: datetime, amount: int
) -> Completion | None:
    """Once: only a credited completion is taken back; None when it was before."""
    row = await conn.fetchrow(
        f"""UPDATE task_completions
               SET status = 'taken_back', left_at = $2, taken_back = $3, next_check_at = NULL
             WHERE id = $1 AND status = 'credited'
            RETURNING {COMPLETION_COLUMNS}""",
        completion_id,
        left_at,
        amount,
    )
    return maybe(Completion, row)


# --- figures ----------------------------------------------------------------------------------


async def task_stats(conn: Conn) -> dict[int, TaskStats]:
    rows = await conn.fetch(
        """SELECT task_id,
                  count(*) FILTER (WHERE status IN ('credited', 'taken_back')) AS completions,
                  count(*) FILTER (WHERE status = 'pending') AS pending,
                  count(*) FILTER (WHERE status = 'rejected') AS rejected,
                  count(*) FILTER (WHERE status = 'taken_back') AS taken_back,
                  coalesce(sum(reward) FILTER (WHERE status IN ('credited', 'taken_back')), 0)
                    - coalesce(sum(taken_back), 0) AS points_paid
             FROM task_completions GROUP BY task_id"""
    )
    return {r["task_id"]: from_row(TaskStats, r) for r in rows}


async def daily_stats(conn: Conn, task_ids: list[int], since: datetime, until: datetime) -> list[DayStats]:
    """Per day from `since` (a day's start) to before `until` (a later day's start): completions,
    take-backs and net points of these tasks together."""
    rows = await conn.fetch(
        """WITH days AS (
                SELECT d AS day, d + interval '1 day' AS next
                  FROM generate_series($2::timestamptz, $3::timestamptz - interval '1 day',
                                       interval '1 day') AS d
            )
            SELECT d.day,
                   count(c.id) FILTER (WHERE c.credited_at >= d.day AND c.credited_at < d.next)
                     AS completions,
                   count(c.id) FILTER (WHERE c.left_at >= d.day AND c.left_at < d.next
                                         AND c.status = 'taken_back') AS taken_back,
                   coalesce(sum(c.reward) FILTER (WHERE c.credited_at >= d.day
                                                    AND c.credited_at < d.next), 0)
                   - coalesce(sum(c.taken_back) FILTER (WHERE c.left_at >= d.day
                                                          AND c.left_at < d.next), 0) AS points
              FROM days d
              LEFT JOIN task_completions c ON c.task_id = ANY($1::bigint[])
                   AND (c.credited_at >= d.day AND c.credited_at < d.next
                        OR c.left_at >= d.day AND c.left_at < d.next)
             GROUP BY d.day ORDER BY d.day""",
        task_ids,
        since,
        until,
    )
    return from_rows(DayStats, rows)


async def user_completions(conn: Conn, user_id: int, limit: int) -> list[tuple[Completion, Task]]:
    rows = await conn.fetch(
        f"""SELECT {COMPLETION_COLUMNS} FROM task_completions WHERE user_id = $1
             ORDER BY id DESC LIMIT $2""",
        user_id,
        limit,
    )
    out = []
    for r in rows:
        task = await get_task(conn, r["task_id"])
        if task is not None:
            out.append((from_row(Completion, r), task))
    return out


async def user_exists(conn: Conn, user_id: int) -> bool:
    return bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)", user_id))
