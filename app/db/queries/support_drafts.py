"""Queries on LLM drafts waiting in tickets (sql/0058_support_drafts.sql)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from app.db import Conn
from app.db.records import maybe


class DraftStatus(StrEnum):
    ASKING = "asking"  # the LLM is being asked
    PENDING = "pending"  # waits for an operator
    FAILED = "failed"  # the LLM did not answer: a note on the ticket
    SENT = "sent"
    DISCARDED = "discarded"
    SUPERSEDED = "superseded"  # a newer message of the user got a draft of its own


@dataclass(frozen=True, slots=True)
class Draft:
    id: int
    ticket_id: int
    question_id: int
    status: DraftStatus
    text: str
    problem: str | None
    detail: str | None
    seconds: float | None
    kb_entries: list[str]
    decided_by: int | None
    reply_id: int | None
    edited: bool | None
    created_at: datetime
    answered_at: datetime | None
    decided_at: datetime | None


COLUMNS = """id, ticket_id, question_id, status, text, problem, detail, seconds, kb_entries, decided_by,
             reply_id, edited, created_at, answered_at, decided_at"""


async def claim(conn: Conn, ticket_id: int, question_id: int, seconds: float) -> int | None:
    """A new draft being asked for this user message; None when a draft for it exists already
    (another process heard the same message)."""
    draft_id: int | None = await conn.fetchval(
        """INSERT INTO support_drafts (ticket_id, question_id, seconds) VALUES ($1, $2, $3)
           ON CONFLICT (question_id) DO NOTHING RETURNING id""",
        ticket_id,
        question_id,
        seconds,
    )
    return draft_id


async def supersede_others(conn: Conn, ticket_id: int, draft_id: int) -> int:
    """Older drafts of the ticket still asking or waiting give way to the new one."""
    status = await conn.execute(
        """UPDATE support_drafts SET status = 'superseded', decided_at = now()
            WHERE ticket_id = $1 AND id <> $2 AND status IN ('asking', 'pending')""",
        ticket_id,
        draft_id,
    )
    return int(status.split()[-1])


async def answered(conn: Conn, draft_id: int, text: str, kb_entries: list[str]) -> Draft | None:
    """The LLM's answer: the draft waits for an operator. None when it was superseded meanwhile."""
    row = await conn.fetchrow(
        f"""UPDATE support_drafts SET status = 'pending', text = $2, kb_entries = $3, answered_at = now()
             WHERE id = $1 AND status = 'asking' RETURNING {COLUMNS}""",
        draft_id,
        text,
        kb_entries,
    )
    return maybe(Draft, row)


async def failed(conn: Conn, draft_id: int, problem: str, detail: str) -> Draft | None:
    row = await conn.fetchrow(
        f"""UPDATE support_drafts SET status = 'failed', problem = $2, detail = $3, answered_at = now()
             WHERE id = $1 AND status = 'asking' RETURNING {COLUMNS}""",
        draft_id,
        problem,
        detail[:300],
    )
    return maybe(Draft, row)


async def expire_asking(conn: Conn, older_than_seconds: float) -> list[int]:
    """Drafts still asking long after their time-out (the process that asked stopped): failed.
    Returns their tickets."""
    rows = await conn.fetch(
        """UPDATE support_drafts SET status = 'failed', problem = 'timeout', detail = '', answered_at = now()
            WHERE status = 'asking' AND created_at < now() - make_interval(secs => $1)
        RETURNING ticket_id""",
        older_than_seconds,
    )
    return [int(r["ticket_id"]) for r in rows]


async def get(conn: Conn, draft_id: int) -> Draft | None:
    return maybe(Draft, await conn.fetchrow(f"SELECT {COLUMNS} FROM support_drafts WHERE id = $1", draft_id))


async def latest(conn: Conn, ticket_id: int) -> Draft | None:
    """The ticket's newest draft, whatever became of it."""
    row = await conn.fetchrow(
        f"SELECT {COLUMNS} FROM support_drafts WHERE ticket_id = $1 ORDER BY id DESC LIMIT 1", ticket_id
    )
    return maybe(Draft, row)


async def decide(
    conn: Conn,
    draft_id: int,
    status: DraftStatus,
    staff_id: int,
    *,
    reply_id: int | None = None,
    edited: bool | None = None,
) -> Draft | None:
    """Sent or discarded by an operator; None when it no longer waits (another operator was first)."""
    row = await conn.fetchrow(
        f"""UPDATE support_drafts
               SET status = $2, decided_by = $3, reply_id = $4, edited = $5, decided_at = now()
             WHERE id = $1 AND status = 'pending' RETURNING {COLUMNS}""",
        draft_id,
        status.value,
        staff_id,
        reply_id,
        edited,
    )
    return maybe(Draft, row)


async def answered_since(conn: Conn, ticket_id: int, message_id: int) -> bool:
    """Whether an operator answered in the ticket after this message."""
    answered: bool = await conn.fetchval(
        """SELECT EXISTS (SELECT FROM support_messages
                           WHERE ticket_id = $1 AND id > $2 AND author = 'operator')""",
        ticket_id,
        message_id,
    )
    return answered


async def last_user_message(conn: Conn, ticket_id: int) -> int | None:
    """The id of the user's newest message in the ticket."""
    message_id: int | None = await conn.fetchval(
        "SELECT max(id) FROM support_messages WHERE ticket_id = $1 AND author = 'user'", ticket_id
    )
    return message_id
