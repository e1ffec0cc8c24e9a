"""Queries on broadcasts: the segment, fixing recipients, feeding the outbox, progress."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from app.db import Conn
from app.db.records import from_row, from_rows, maybe, one

REF_KIND = "broadcast"  # outbox rows of a broadcast: ref_kind 'broadcast', ref_id its id
PRIORITY = -10  # below every transactional row (default 0): sql/0080_broadcasts.sql


class BroadcastStatus(StrEnum):
    DRAFT = "draft"
    RUNNING = "running"
    PAUSED = "paused"
    DONE = "done"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class Audience:
    """A segment: every condition given narrows it; users who blocked the bot never count."""

    languages: tuple[str, ...] = ()  # empty: any language
    seen_days: int | None = None  # seen in the last N days
    channel_id: int | None = None  # sellers with a live (published) ad in this channel
    task_participants: bool = False  # users with a credited task
    min_balance: int | None = None  # points balance above N

    def as_json(self) -> dict[str, Any]:
        return {
            "languages": list(self.languages),
            "seen_days": self.seen_days,
            "channel_id": self.channel_id,
            "task_participants": self.task_participants,
            "min_balance": self.min_balance,
        }

    @classmethod
    def of_json(cls, value: dict[str, Any]) -> Audience:
        return cls(
            tuple(value.get("languages") or ()),
            value.get("seen_days"),
            value.get("channel_id"),
            bool(value.get("task_participants")),
            value.get("min_balance"),
        )


@dataclass(frozen=True, slots=True)
class Broadcast:
    id: int
    created_by: int
    status: BroadcastStatus
    texts: dict[str, str]
    buttons: list[dict[str, str]]
    audience: dict[str, Any]
    total: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    start_at: datetime | None  # a draft sent at a time: when
    photo_key: str | None = None  # the optional photo in Storage: then each row is a sendPhoto


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a broadcast is: counts of its recipients by outcome."""

    total: int
    sent: int
    failed: int
    blocked: int
    uncertain: int

    @property
    def left(self) -> int:
        return max(0, self.total - self.sent - self.failed - self.blocked - self.uncertain)


@dataclass(frozen=True, slots=True)
class FailureReason:
    """Why a broadcast's messages failed: Telegram's error as the outbox kept it, and how many."""

    error: str
    count: int


# The variant a user gets, as the bot picks their language (app.domain.users.resolve_language):
# their choice if enabled, else Telegram's language if enabled; with neither, the default text.
# The segment's language condition reads the same expression, so a "uz" segment is exactly the
# users who get the uz variant.
_TELEGRAM = "lower(split_part(u.language_code, '-', 1))"


def _language(enabled: str) -> str:
    """The SQL of a user's variant; `enabled` names the parameter holding the enabled languages."""
    return f"""coalesce(CASE WHEN u.language = ANY({enabled}::text[]) THEN u.language END,
                        CASE WHEN {_TELEGRAM} = ANY({enabled}::text[]) THEN {_TELEGRAM} END,
                        'default')"""


LANGUAGE = _language("$6")

# $1 languages (empty: any), $2 seen in the last N days, $3 channel with live ads, $4 task
# participants only, $5 points balance above, $6 the enabled languages.
SEGMENT = f"""
FROM users u
WHERE u.blocked_bot_at IS NULL AND NOT u.is_bot
  AND (cardinality($1::text[]) = 0 OR {LANGUAGE} = ANY($1::text[]))
  AND ($2::integer IS NULL OR u.last_seen > now() - make_interval(days => $2::integer))
  AND ($3::bigint IS NULL OR EXISTS (SELECT 1 FROM ads a WHERE a.seller_id = u.id
                                      AND a.channel_id = $3 AND a.status = 'published'))
  AND (NOT $4::boolean OR EXISTS (SELECT 1 FROM task_completions t WHERE t.user_id = u.id
                                   AND t.status = 'credited'))
  AND ($5::bigint IS NULL OR EXISTS (SELECT 1 FROM ledger_balances b WHERE b.account = u.id
                                      AND b.currency = 'points' AND b.balance > $5))
"""

COLUMNS = """id, created_by, status, texts, buttons, audience, total, created_at, started_at,
             finished_at, start_at, photo_key"""


def _args(audience: Audience, enabled: Sequence[str]) -> tuple[Any, ...]:
    return (
        list(audience.languages),
        audience.seen_days,
        audience.channel_id,
        audience.task_participants,
        audience.min_balance,
        list(enabled),
    )


def _record(row: Any) -> Broadcast:
    values = dict(row)
    for key in ("texts", "buttons", "audience"):
        if isinstance(values[key], str):
            values[key] = json.loads(values[key])
    return from_row(Broadcast, values)


async def count_audience(conn: Conn, audience: Audience, enabled: Sequence[str]) -> int:
    """How many users the segment reaches; `enabled`: the languages the bot speaks now."""
    return int(await conn.fetchval("SELECT count(*) " + SEGMENT, *_args(audience, enabled)))


async def create(
    conn: Conn,
    staff_id: int,
    texts: dict[str, str],
    payloads: dict[str, dict[str, Any]],
    buttons: list[dict[str, str]],
    audience: Audience,
    photo_key: str | None = None,
) -> Broadcast:
    row = await conn.fetchrow(
        f"""INSERT INTO broadcasts (created_by, texts, payloads, buttons, audience, photo_key)
            VALUES ($1, $2::jsonb, $3::jsonb, $4::jsonb, $5::jsonb, $6) RETURNING {COLUMNS}""",
        staff_id,
        json.dumps(texts, ensure_ascii=False),
        json.dumps(payloads, ensure_ascii=False),
        json.dumps(buttons, ensure_ascii=False),
        json.dumps(audience.as_json()),
        photo_key,
    )
    return _record(one(row))


async def get(conn: Conn, broadcast_id: int) -> Broadcast | None:
    row = await conn.fetchrow(f"SELECT {COLUMNS} FROM broadcasts WHERE id = $1", broadcast_id)
    return None if row is None else _record(row)


async def recent(conn: Conn, limit: int = 50) -> list[Broadcast]:
    rows = await conn.fetch(f"SELECT {COLUMNS} FROM broadcasts ORDER BY id DESC LIMIT $1", limit)
    return [_record(r) for r in rows]


async def set_start_at(conn: Conn, broadcast_id: int, at: datetime | None, staff_id: int) -> bool:
    """A draft's start time (None: not at a time); False unless it is a draft."""
    changed = await conn.fetchval(
        "UPDATE broadcasts SET start_at = $2, scheduled_by = $3 WHERE id = $1 AND status = 'draft' "
        "RETURNING id",
        broadcast_id,
        at,
        staff_id,
    )
    return changed is not None


async def due_drafts(conn: Conn) -> list[tuple[int, int]]:
    """(id, scheduled_by) of drafts whose start time has come."""
    rows = await conn.fetch(
        "SELECT id, scheduled_by FROM broadcasts WHERE status = 'draft' AND start_at <= now() "
        "AND scheduled_by IS NOT NULL ORDER BY start_at"
    )
    return [(r["id"], r["scheduled_by"]) for r in rows]


async def running_ids(conn: Conn) -> list[int]:
    return [r["id"] for r in await conn.fetch("SELECT id FROM broadcasts WHERE status = 'running'")]


# A broadcast with a photo sends it with its caption; without, a text message.
METHOD = "CASE WHEN b.photo_key IS NULL THEN 'sendMessage' ELSE 'sendPhoto' END"


async def payload_for(conn: Conn, broadcast_id: int, language: str) -> tuple[str, dict[str, Any]] | None:
    """The Bot API method and params (without chat_id) a user of `language` gets."""
    row = await conn.fetchrow(
        f"SELECT {METHOD} AS method, coalesce(b.payloads -> $2, b.payloads -> 'default') AS payload "
        "FROM broadcasts b WHERE b.id = $1",
        broadcast_id,
        language,
    )
    if row is None:
        return None
    value = row["payload"]
    return str(row["method"]), dict(json.loads(value) if isinstance(value, str) else value)


async def language_of(conn: Conn, user_id: int, enabled: Sequence[str]) -> str:
    """The variant a user gets (as a broadcast's recipient would), else 'default'."""
    value = await conn.fetchval(
        f"SELECT {_language('$2')} FROM users u WHERE u.id = $1", user_id, list(enabled)
    )
    return str(value or "default")


async def start(conn: Conn, broadcast_id: int, audience: Audience, enabled: Sequence[str]) -> int | None:
    """Draft -> running, with the recipients fixed in one statement; None if not a draft."""
    started = await conn.fetchval(
        "UPDATE broadcasts SET status = 'running', started_at = now() "
        "WHERE id = $1 AND status = 'draft' RETURNING id",
        broadcast_id,
    )
    if started is None:
        return None
    total = await conn.fetchval(
        f"""WITH fixed AS (
                INSERT INTO broadcast_recipients (broadcast_id, user_id, language)
                SELECT $7, u.id, {LANGUAGE} {SEGMENT}
                RETURNING 1)
            SELECT count(*) FROM fixed""",
        *_args(audience, enabled),
        broadcast_id,
    )
    await conn.execute("UPDATE broadcasts SET total = $2 WHERE id = $1", broadcast_id, total)
    return int(total)


# One statement: the next unfed recipients become outbox rows (each their language's payload,
# else the default) and are linked to them; nothing happens unless the broadcast is running.
FEED = f"""
WITH b AS (
    SELECT id, payloads, photo_key FROM broadcasts WHERE id = $1 AND status = 'running' FOR SHARE
), picked AS (
    SELECT r.user_id, r.language FROM broadcast_recipients r
    WHERE r.broadcast_id = $1 AND r.outbox_id IS NULL AND EXISTS (SELECT 1 FROM b)
    ORDER BY r.user_id LIMIT $2
    FOR UPDATE OF r SKIP LOCKED
), rows AS (
    INSERT INTO outbox (chat_id, method, params, idempotent, ref_kind, ref_id, priority)
    SELECT p.user_id, {METHOD},
           coalesce(b.payloads -> p.language, b.payloads -> 'default')
               || jsonb_build_object('chat_id', p.user_id),
           false, '{REF_KIND}', $1, {PRIORITY}
    FROM picked p CROSS JOIN b
    ORDER BY p.user_id
    RETURNING id, chat_id
), linked AS (
    UPDATE broadcast_recipients r SET outbox_id = rows.id
    FROM rows WHERE r.broadcast_id = $1 AND r.user_id = rows.chat_id
    RETURNING 1
)
SELECT count(*) AS fed, pg_notify('bozor_outbox', '') FROM linked
"""


async def open_rows(conn: Conn, broadcast_id: int) -> int:
    """The broadcast's outbox rows not finished yet (the feed keeps a window of them)."""
    return int(
        await conn.fetchval(
            "SELECT count(*) FROM outbox WHERE ref_kind = $1 AND ref_id = $2 "
            "AND status IN ('pending', 'sending')",
            REF_KIND,
            broadcast_id,
        )
    )


async def feed(conn: Conn, broadcast_id: int, limit: int) -> int:
    if limit <= 0:
        return 0
    return int(one(await conn.fetchrow(FEED, broadcast_id, limit))["fed"])


async def finish_if_done(conn: Conn, broadcast_id: int) -> bool:
    """Running -> done once every recipient was fed and every row finished."""
    done = await conn.fetchval(
        f"""UPDATE broadcasts SET status = 'done', finished_at = now()
            WHERE id = $1 AND status = 'running'
              AND NOT EXISTS (SELECT 1 FROM broadcast_recipients r
                              WHERE r.broadcast_id = $1 AND r.outbox_id IS NULL)
              AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.ref_kind = '{REF_KIND}'
                              AND o.ref_id = $1 AND o.status IN ('pending', 'sending'))
            RETURNING id""",
        broadcast_id,
    )
    return done is not None


async def set_status(
    conn: Conn, broadcast_id: int, to: BroadcastStatus, allowed: tuple[BroadcastStatus, ...]
) -> bool:
    changed = await conn.fetchval(
        "UPDATE broadcasts SET status = $2, finished_at = CASE WHEN $2 IN ('done', 'cancelled') "
        "THEN now() ELSE finished_at END WHERE id = $1 AND status = ANY($3::text[]) RETURNING id",
        broadcast_id,
        to.value,
        [s.value for s in allowed],
    )
    return changed is not None


# Rows not claimed yet go back to their recipients (a pending row was never called: a claimed
# one is 'sending' and finishes). The row locks of a claim in progress make this wait for it.
UNFEED = f"""
WITH gone AS (
    DELETE FROM outbox WHERE ref_kind = '{REF_KIND}' AND ref_id = $1 AND status = 'pending'
    RETURNING id
)
UPDATE broadcast_recipients r SET outbox_id = NULL
FROM gone WHERE r.broadcast_id = $1 AND r.outbox_id = gone.id
"""


async def unfeed(conn: Conn, broadcast_id: int) -> None:
    await conn.execute(UNFEED, broadcast_id)


async def progress(conn: Conn, broadcast_id: int) -> Progress:
    row = await conn.fetchrow(
        f"""SELECT coalesce(b.total, 0) AS total,
                   count(*) FILTER (WHERE o.status = 'sent') AS sent,
                   count(*) FILTER (WHERE o.status = 'failed') AS failed,
                   count(*) FILTER (WHERE o.status = 'blocked') AS blocked,
                   count(*) FILTER (WHERE o.status = 'uncertain') AS uncertain
            FROM broadcasts b
            LEFT JOIN outbox o ON o.ref_kind = '{REF_KIND}' AND o.ref_id = b.id
            WHERE b.id = $1 GROUP BY b.total""",
        broadcast_id,
    )
    return maybe(Progress, row) or Progress(0, 0, 0, 0, 0)


async def failure_reasons(conn: Conn, broadcast_id: int, limit: int) -> list[FailureReason]:
    """The broadcast's failed rows grouped by their last error, the most frequent first."""
    rows = await conn.fetch(
        f"""SELECT coalesce(error, '') AS error, count(*) AS count FROM outbox
            WHERE ref_kind = '{REF_KIND}' AND ref_id = $1 AND status = 'failed'
            GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT $2""",
        broadcast_id,
        limit,
    )
    return from_rows(FailureReason, rows)
