"""Queries on the outbox: enqueue, claim in per-chat order, record outcomes, read results."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from app.db import Conn
from app.db.records import from_row, from_rows, maybe, one

CHANNEL = "bozor_outbox"  # NOTIFY channel: a committed enqueue wakes every sender at once


class OutboxStatus(StrEnum):
    """Where an outbox row is (sql/0002_outbox.sql says what each means)."""

    PENDING = "pending"  # waiting for its turn
    SENDING = "sending"  # claimed by a sender until its lease ends
    SENT = "sent"  # done; result holds the message id(s)
    FAILED = "failed"  # refused for good, or never tried (error says why)
    UNCERTAIN = "uncertain"  # the call may or may not have taken effect
    BLOCKED = "blocked"  # the private chat's user has blocked the bot


OPEN = (OutboxStatus.PENDING, OutboxStatus.SENDING)


@dataclass(frozen=True, slots=True)
class Delivery:
    """An outbox row as business code and admins see it."""

    id: int
    chat_id: int
    method: str
    params: dict[str, Any]
    status: OutboxStatus
    attempts: int
    result: dict[str, Any] | None
    error: str | None
    ref_kind: str | None
    ref_id: int | None
    created_at: datetime
    done_at: datetime | None

    @property
    def message_ids(self) -> list[int]:
        """The message ids Telegram returned (one, or an album's), empty until sent."""
        return message_ids(self.result)


def message_ids(result: dict[str, Any] | None) -> list[int]:
    if not result:
        return []
    if "message_ids" in result:
        return list(result["message_ids"])
    return [result["message_id"]] if "message_id" in result else []


@dataclass(frozen=True, slots=True)
class Claimed:
    """A row a sender took to deliver, with what it needs to decide how."""

    id: int
    chat_id: int
    method: str
    params: dict[str, Any]
    idempotent: bool
    attempts: int
    after_sent: int | None  # goes only if this row was sent (it is among deps)
    recipient_blocked: bool | None
    deps: dict[str, Any]  # {row id: {"status", "result"}} of the rows its placeholders refer to


@dataclass(frozen=True, slots=True)
class Reaped:
    """A claim whose sender died: back to pending (safe to repeat) or uncertain."""

    id: int
    status: OutboxStatus
    method: str
    chat_id: int


# One round trip: the row and the wake-up. NOTIFY is queued with the transaction and delivered
# only at commit (identical notifications in one transaction fold into one), so a rolled-back
# change sends nothing and a committed one is picked up at once.
INSERT = """
WITH row AS (
    INSERT INTO outbox (chat_id, method, params, idempotent, depends_on, ref_kind, ref_id,
                        not_before, after_sent)
    VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7, coalesce($8, now()), $9)
    RETURNING id
)
SELECT id, pg_notify('bozor_outbox', '') FROM row
"""

INSERT_MANY = """
WITH rows AS (
    INSERT INTO outbox (chat_id, method, params, idempotent, depends_on, ref_kind, ref_id,
                        not_before)
    SELECT r.chat_id, r.method, r.params::jsonb, r.idempotent,
           CASE WHEN r.deps = '' THEN NULL ELSE string_to_array(r.deps, ',')::bigint[] END,
           r.ref_kind, r.ref_id, coalesce(r.not_before, now())
    FROM unnest($1::bigint[], $2::text[], $3::text[], $4::boolean[], $5::text[], $6::text[],
                $7::bigint[], $8::timestamptz[])
         WITH ORDINALITY AS r(chat_id, method, params, idempotent, deps, ref_kind, ref_id,
                              not_before, n)
    ORDER BY r.n
    RETURNING id
)
SELECT array_agg(id ORDER BY id) AS ids, pg_notify('bozor_outbox', '') FROM rows
"""

# A row may go when it is due, it is the oldest unfinished row of its chat (per-chat order:
# an album's edit never overtakes the album), its dependencies are finished, and its chat is
# not resting in this sender ($3). Higher priorities go first (broadcasts are below the default:
# sql/0080_broadcasts.sql). SKIP LOCKED lets several senders claim side by side; a row
# another sender just claimed is 'sending' and keeps its chat's later rows waiting.
CLAIM = """
WITH due AS (
    SELECT o.id FROM outbox o
    WHERE o.status = 'pending' AND o.not_before <= now() AND o.chat_id <> ALL($3::bigint[])
      AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.chat_id = o.chat_id AND e.id < o.id
                                              AND e.status IN ('pending', 'sending'))
      AND (o.depends_on IS NULL OR NOT EXISTS (
            SELECT 1 FROM outbox d WHERE d.id = ANY(o.depends_on)
                                     AND d.status IN ('pending', 'sending')))
    ORDER BY o.priority DESC, o.not_before, o.id
    LIMIT $1
    FOR UPDATE OF o SKIP LOCKED
)
UPDATE outbox o SET status = 'sending', attempts = o.attempts + 1, claimed_by = $4,
                    claimer_key = $5, call_started_at = NULL,
                    lease_until = now() + make_interval(secs => $2)
FROM due WHERE o.id = due.id
RETURNING o.id, o.chat_id, o.method, o.params, o.idempotent, o.attempts, o.after_sent,
    (SELECT u.blocked_bot_at IS NOT NULL FROM users u WHERE u.id = o.chat_id) AS recipient_blocked,
    (SELECT jsonb_object_agg(d.id::text, jsonb_build_object('status', d.status, 'result', d.result))
       FROM outbox d WHERE d.id = ANY(o.depends_on)) AS deps
"""

# Outcomes are fenced by the attempt number: a sender whose claim was taken back and claimed
# again changes nothing. A claim taken back as 'uncertain' may still be settled by its owner,
# which knows better.
FINISH = """
UPDATE outbox SET status = $3, result = $4::jsonb, error = $5, lease_until = NULL, done_at = now()
WHERE id = $1 AND attempts = $2 AND status IN ('sending', 'uncertain')
"""

RETRY_LATER = """
UPDATE outbox SET status = 'pending', error = $3, lease_until = NULL,
                  not_before = now() + make_interval(secs => $4)
WHERE id = $1 AND attempts = $2 AND status = 'sending'
"""

# A claim given back untried (the sender is stopping): the attempt did not happen.
RELEASE = """
UPDATE outbox SET status = 'pending', attempts = attempts - 1, lease_until = NULL
WHERE id = $1 AND attempts = $2 AND status = 'sending'
"""

# 403 in a private chat: this row and every other unfinished row for that user stop here.
BLOCK_CHAT = """
UPDATE outbox SET status = 'blocked', error = $3, lease_until = NULL, done_at = now()
WHERE chat_id = $2 AND (id = $1 OR status = 'pending')
"""

# The advisory lock a sender holds on its listening connection while it lives: (this, its key).
SENDER_LOCK_SPACE = 2826

# Just before the HTTP call of a row that must not be repeated: from now on its sender may die
# inside the call. Fenced like the outcomes: a claim already taken back is not called at all.
START_CALL = """
UPDATE outbox SET call_started_at = now(), lease_until = now() + make_interval(secs => $3)
WHERE id = $1 AND attempts = $2 AND status = 'sending'
"""

# Claims whose sender died (its lock is gone: the process ended) or went silent (the lease ran
# out): repeat what is safe to repeat or was never called; only a call that may have been under
# way when the sender died is put before an admin (or resolved below).
REAP_EXPIRED = f"""
UPDATE outbox SET
    status = CASE WHEN idempotent OR call_started_at IS NULL THEN 'pending' ELSE 'uncertain' END,
    error = CASE WHEN idempotent OR call_started_at IS NULL THEN error
            ELSE 'its sender stopped during the call (' || coalesce(claimed_by, '?')
                 || '): it may or may not have been sent' END,
    done_at = CASE WHEN idempotent OR call_started_at IS NULL THEN NULL ELSE now() END,
    lease_until = NULL
WHERE id IN (
    SELECT o.id FROM outbox o
    WHERE o.status = 'sending'
      AND (o.lease_until < now()
           OR (o.claimer_key IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM pg_locks l
                WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
                  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                  AND l.classid = {SENDER_LOCK_SPACE}::oid AND l.objid = o.claimer_key::oid)))
    FOR UPDATE OF o SKIP LOCKED)
RETURNING id, status, method, chat_id
"""

# Uncertain posts in channels and groups (negative chat ids), not yet compared with the ids
# around them.
UNCERTAIN_POSTS = """
SELECT id, chat_id, call_started_at FROM outbox
WHERE status = 'uncertain' AND chat_id < 0 AND call_started_at IS NOT NULL AND NOT auto_checked
ORDER BY id LIMIT $1
"""

# A chat's message ids around a moment: the last one our calls created before it, the first one
# a call started `$3` seconds after it created (Telegram has answered or dropped anything sent at
# the moment by then), and how many ids in between our own calls account for.
IDS_AROUND = """
WITH posts AS (
    SELECT o.call_started_at AS at, (m.v)::bigint AS mid
    FROM outbox o
    CROSS JOIN LATERAL jsonb_array_elements(
        coalesce(o.result -> 'message_ids', jsonb_build_array(o.result -> 'message_id'))) AS m(v)
    WHERE o.chat_id = $1 AND o.status = 'sent' AND o.call_started_at IS NOT NULL
      AND jsonb_typeof(m.v) = 'number'
), bounds AS (
    SELECT (SELECT max(mid) FROM posts WHERE at < $2) AS before,
           (SELECT min(mid) FROM posts WHERE at > $2 + make_interval(secs => $3)) AS after
)
SELECT b.before, b.after,
       (SELECT count(DISTINCT mid) FROM posts WHERE mid > b.before AND mid < b.after) AS known
FROM bounds b
"""

NEXT_DUE = """
SELECT extract(epoch FROM min(not_before) - now())::float8
FROM outbox WHERE status = 'pending' AND not_before > now()
"""

DELIVERY_COLUMNS = """id, chat_id, method, params, status, attempts, result, error, ref_kind,
                      ref_id, created_at, done_at"""


async def insert(
    conn: Conn,
    *,
    chat_id: int,
    method: str,
    params_json: str,
    idempotent: bool,
    depends_on: list[int] | None,
    ref_kind: str | None,
    ref_id: int | None,
    not_before: datetime | None,
    after_sent: int | None = None,
) -> int:
    row_id: int = await conn.fetchval(
        INSERT,
        chat_id,
        method,
        params_json,
        idempotent,
        depends_on,
        ref_kind,
        ref_id,
        not_before,
        after_sent,
    )
    return row_id


async def insert_many(conn: Conn, rows: Sequence[tuple[Any, ...]]) -> list[int]:
    """Rows of (chat_id, method, params_json, idempotent, deps_csv, ref_kind, ref_id, not_before)."""
    if not rows:
        return []
    columns = [list(c) for c in zip(*rows, strict=True)]
    record = one(await conn.fetchrow(INSERT_MANY, *columns))
    return list(record["ids"])


async def claim(
    conn: Conn,
    *,
    limit: int,
    lease_seconds: float,
    resting_chats: list[int],
    claimer: str,
    claimer_key: int,
) -> list[Claimed]:
    rows = await conn.fetch(CLAIM, limit, lease_seconds, resting_chats, claimer, claimer_key)
    return [
        Claimed(
            r["id"],
            r["chat_id"],
            r["method"],
            _json(r["params"]),
            r["idempotent"],
            r["attempts"],
            r["after_sent"],
            r["recipient_blocked"],
            _json(r["deps"]) or {},
        )
        for r in rows
    ]


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


async def finish(
    conn: Conn,
    outbox_id: int,
    attempt: int,
    status: OutboxStatus,
    result: dict[str, Any] | None = None,
    error: str | None = None,
) -> bool:
    done = await conn.execute(FINISH, outbox_id, attempt, status, result, _clip(error))
    return done != "UPDATE 0"


async def retry_later(conn: Conn, outbox_id: int, attempt: int, error: str, delay: float) -> None:
    await conn.execute(RETRY_LATER, outbox_id, attempt, _clip(error), delay)


async def release(conn: Conn, outbox_id: int, attempt: int) -> None:
    await conn.execute(RELEASE, outbox_id, attempt)


async def block_chat(conn: Conn, outbox_id: int, chat_id: int, error: str) -> int:
    """Mark the row and the chat's other pending rows blocked; returns how many."""
    status = await conn.execute(BLOCK_CHAT, outbox_id, chat_id, _clip(error))
    return int(status.rsplit(" ", 1)[1])


async def hold_sender_lock(conn: Conn, key: int) -> None:
    """Say this sender lives for as long as `conn` stays open (released with the connection)."""
    await conn.execute("SELECT pg_advisory_lock($1, $2)", SENDER_LOCK_SPACE, key)


async def drop_sender_lock(conn: Conn, key: int) -> None:
    await conn.execute("SELECT pg_advisory_unlock($1, $2)", SENDER_LOCK_SPACE, key)


async def start_call(conn: Conn, outbox_id: int, attempt: int, lease_seconds: float) -> bool:
    """Record that the call is about to go; False: the claim was taken back, do not call."""
    return await conn.execute(START_CALL, outbox_id, attempt, lease_seconds) != "UPDATE 0"


async def reap_expired(conn: Conn) -> list[Reaped]:
    return from_rows(Reaped, await conn.fetch(REAP_EXPIRED))


@dataclass(frozen=True, slots=True)
class UncertainPost:
    """An uncertain call to a channel or group, and when it started."""

    id: int
    chat_id: int
    call_started_at: datetime


@dataclass(frozen=True, slots=True)
class IdsAround:
    """A chat's message ids around a moment (see IDS_AROUND); None where no call tells."""

    before: int | None
    after: int | None
    known: int  # ids strictly between the two that our own sent calls created

    @property
    def decided(self) -> bool:
        return self.before is not None and self.after is not None

    @property
    def unexplained(self) -> int:
        """Messages between the two that none of our sent calls made (someone else's, or the
        uncertain calls')."""
        assert self.before is not None and self.after is not None
        return self.after - self.before - 1 - self.known


async def uncertain_posts(conn: Conn, limit: int) -> list[UncertainPost]:
    return from_rows(UncertainPost, await conn.fetch(UNCERTAIN_POSTS, limit))


async def ids_around(conn: Conn, chat_id: int, moment: datetime, settle_seconds: float) -> IdsAround:
    return from_row(IdsAround, await conn.fetchrow(IDS_AROUND, chat_id, moment, settle_seconds))


async def resend_unsent(conn: Conn, outbox_id: int, note: str) -> bool:
    """An uncertain row shown not to have arrived: pending again, due now, the sender woken."""
    status = await conn.execute(
        "UPDATE outbox SET status = 'pending', error = $2, not_before = now(), done_at = NULL, "
        "call_started_at = NULL, auto_checked = true WHERE id = $1 AND status = 'uncertain'",
        outbox_id,
        _clip(note),
    )
    if status != "UPDATE 0":
        await conn.execute("SELECT pg_notify($1, '')", CHANNEL)
    return status != "UPDATE 0"


async def leave_to_admin(conn: Conn, outbox_id: int, note: str) -> None:
    """Compared and still in doubt: say what was found, and do not compare it again."""
    await conn.execute(
        "UPDATE outbox SET auto_checked = true, error = left(coalesce(error, '') || ' — ' || $2, 2000) "
        "WHERE id = $1 AND status = 'uncertain'",
        outbox_id,
        note,
    )


async def seconds_to_next_due(conn: Conn) -> float | None:
    """How long until the next pending row that is not yet due comes due (None: none)."""
    seconds: float | None = await conn.fetchval(NEXT_DUE)
    return seconds


async def by_ref(conn: Conn, ref_kind: str, ref_id: int) -> list[Delivery]:
    rows = await conn.fetch(
        f"SELECT {DELIVERY_COLUMNS} FROM outbox WHERE ref_kind = $1 AND ref_id = $2 ORDER BY id",
        ref_kind,
        ref_id,
    )
    return from_rows(Delivery, rows)


async def get(conn: Conn, outbox_id: int) -> Delivery | None:
    return maybe(
        Delivery, await conn.fetchrow(f"SELECT {DELIVERY_COLUMNS} FROM outbox WHERE id = $1", outbox_id)
    )


async def uncertain(conn: Conn, limit: int) -> list[Delivery]:
    rows = await conn.fetch(
        f"SELECT {DELIVERY_COLUMNS} FROM outbox WHERE status = 'uncertain' ORDER BY id LIMIT $1", limit
    )
    return from_rows(Delivery, rows)


async def settle_uncertain(conn: Conn, outbox_id: int, *, resend: bool, note: str) -> bool:
    """An admin's decision on an uncertain row: send it again, or close it as delivered.

    A delivered row is 'sent' without message ids (nobody knows them): rows that refer to its
    message fail with that reason instead of pointing at a wrong message."""
    status = await conn.execute(
        "UPDATE outbox SET status = CASE WHEN $2 THEN 'pending' ELSE 'sent' END, error = $3, "
        "result = CASE WHEN $2 THEN result ELSE '{}'::jsonb END, "
        "not_before = now(), done_at = CASE WHEN $2 THEN NULL ELSE now() END "
        "WHERE id = $1 AND status = 'uncertain'",
        outbox_id,
        resend,
        _clip(note),
    )
    if status != "UPDATE 0":
        # Rows waiting on this one can now go (or fail with a reason): wake the sender.
        await conn.execute("SELECT pg_notify($1, '')", CHANNEL)
    return status != "UPDATE 0"


def _clip(error: str | None) -> str | None:
    return None if error is None else error[:2000]


async def queue_depth(conn: Conn) -> list[tuple[str, int, int]]:
    """Unfinished rows by kind (ref_kind, else the method) and priority, for /metrics."""
    rows = await conn.fetch(
        """SELECT coalesce(ref_kind, method) AS kind, priority, count(*) AS n FROM outbox
           WHERE status IN ('pending', 'sending') GROUP BY 1, 2"""
    )
    return [(r["kind"], r["priority"], r["n"]) for r in rows]
