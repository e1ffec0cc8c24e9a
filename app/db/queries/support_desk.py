"""Queries on the support desk: tickets, their messages, canned replies, Telegram link tokens."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from app.db import Conn
from app.db.records import from_row, from_rows, maybe

SUPPORT_CHANNEL = "bozor_support"  # the panel's live desk: new tickets, messages, deliveries


class TicketStatus(StrEnum):
    OPEN = "open"  # an operator's turn
    WAITING = "waiting"  # the user's turn
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Ticket:
    id: int
    user_id: int
    status: TicketStatus
    language: str
    subject: str
    assignee_id: int | None
    rating: int | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None


@dataclass(frozen=True, slots=True)
class QueueRow:
    """A ticket as the queue lists it."""

    id: int
    user_id: int
    user_name: str
    username: str | None
    status: TicketStatus
    subject: str
    assignee_id: int | None
    assignee_name: str | None
    messages: int
    updated_at: datetime
    draft_waiting: bool  # an LLM draft waits for an operator's approval


@dataclass(frozen=True, slots=True)
class DeskMessage:
    """One message of a ticket's conversation, with its delivery state when it was sent."""

    id: int
    ticket_id: int
    author: str  # user, operator, note, system
    staff_id: int | None
    staff_name: str | None
    text: str
    file_kind: str | None
    file_id: str | None
    file_name: str | None
    storage_key: str | None
    kb_entry_id: int | None
    kb_entry_key: str | None
    outbox_id: int | None
    delivery: str | None  # the outbox row's status: pending, sending, sent, failed, uncertain, blocked
    via: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Canned:
    id: int
    title: str
    text: str


@dataclass(frozen=True, slots=True)
class Operator:
    """A staff member who may answer tickets, and their linked Telegram account."""

    id: int
    name: str
    telegram_user_id: int | None
    language: str | None = None  # what their Telegram account speaks with the bot, if known


@dataclass(frozen=True, slots=True)
class NewMessage:
    author: str
    text: str = ""
    staff_id: int | None = None
    file_kind: str | None = None
    file_id: str | None = None
    file_name: str | None = None
    storage_key: str | None = None
    kb_entry_id: int | None = None
    tg_message_id: int | None = None
    via: str = "bot"


TICKET_COLUMNS = (
    "id, user_id, status, language, subject, assignee_id, rating, created_at, updated_at, closed_at"
)


# Tickets ----------------------------------------------------------------------------------


async def active_ticket(conn: Conn, user_id: int, *, lock: bool = False) -> Ticket | None:
    """The user's ticket that is not closed, if any."""
    row = await conn.fetchrow(
        f"SELECT {TICKET_COLUMNS} FROM support_tickets WHERE user_id = $1 AND status <> 'closed'"
        + (" FOR UPDATE" if lock else ""),
        user_id,
    )
    return maybe(Ticket, row)


async def reopenable(conn: Conn, user_id: int, days: int) -> Ticket | None:
    """The user's last ticket if it was closed within `days` days (locked)."""
    row = await conn.fetchrow(
        f"""SELECT {TICKET_COLUMNS} FROM support_tickets
            WHERE user_id = $1 AND status = 'closed' AND closed_at > now() - make_interval(days => $2)
            ORDER BY id DESC LIMIT 1 FOR UPDATE""",
        user_id,
        days,
    )
    return maybe(Ticket, row)


async def insert_ticket(conn: Conn, user_id: int, language: str, subject: str) -> Ticket | None:
    """A new open ticket; None when the user already has one that is not closed."""
    row = await conn.fetchrow(
        f"""INSERT INTO support_tickets (user_id, language, subject) VALUES ($1, $2, $3)
            ON CONFLICT (user_id) WHERE status <> 'closed' DO NOTHING RETURNING {TICKET_COLUMNS}""",
        user_id,
        language,
        subject,
    )
    return maybe(Ticket, row)


async def get_ticket(conn: Conn, ticket_id: int, *, lock: bool = False) -> Ticket | None:
    row = await conn.fetchrow(
        f"SELECT {TICKET_COLUMNS} FROM support_tickets WHERE id = $1" + (" FOR UPDATE" if lock else ""),
        ticket_id,
    )
    return maybe(Ticket, row)


async def set_status(conn: Conn, ticket_id: int, status: TicketStatus, staff_id: int | None = None) -> Ticket:
    """Move a ticket; closing records when and by whom, (re)opening clears it and the rating."""
    row = await conn.fetchrow(
        f"""UPDATE support_tickets
               SET status = $2, updated_at = now(),
                   closed_at = CASE WHEN $2 = 'closed' THEN now() END,
                   closed_by = CASE WHEN $2 = 'closed' THEN $3::bigint END,
                   rating = CASE WHEN $2 = 'closed' THEN rating END
             WHERE id = $1 RETURNING {TICKET_COLUMNS}""",
        ticket_id,
        status.value,
        staff_id,
    )
    return from_row(Ticket, row)


async def touch(conn: Conn, ticket_id: int) -> None:
    await conn.execute("UPDATE support_tickets SET updated_at = now() WHERE id = $1", ticket_id)


async def assign(conn: Conn, ticket_id: int, staff_id: int | None) -> Ticket | None:
    row = await conn.fetchrow(
        f"""UPDATE support_tickets SET assignee_id = $2, updated_at = now()
            WHERE id = $1 RETURNING {TICKET_COLUMNS}""",
        ticket_id,
        staff_id,
    )
    return maybe(Ticket, row)


async def assign_if_unassigned(conn: Conn, ticket_id: int, staff_id: int) -> None:
    await conn.execute(
        "UPDATE support_tickets SET assignee_id = $2 WHERE id = $1 AND assignee_id IS NULL",
        ticket_id,
        staff_id,
    )


async def rate(conn: Conn, ticket_id: int, user_id: int, rating: int) -> bool:
    """A closed ticket's rating by its user; False when it is not theirs or not closed."""
    status = await conn.execute(
        "UPDATE support_tickets SET rating = $3 WHERE id = $1 AND user_id = $2 AND status = 'closed'",
        ticket_id,
        user_id,
        rating,
    )
    return status.endswith(" 1")


async def queue(
    conn: Conn, *, statuses: Sequence[str], assignee: int | None, unassigned: bool, limit: int = 200
) -> list[QueueRow]:
    """Tickets by status, the most recently active first; mine (assignee) or unassigned only."""
    rows = await conn.fetch(
        """SELECT t.id, t.user_id, u.first_name AS user_name, u.username, t.status, t.subject,
                  t.assignee_id, coalesce(s.display_name, s.username) AS assignee_name,
                  (SELECT count(*) FROM support_messages m
                    WHERE m.ticket_id = t.id AND m.author <> 'note')::int AS messages,
                  t.updated_at,
                  EXISTS (SELECT FROM support_drafts d
                           WHERE d.ticket_id = t.id AND d.status = 'pending') AS draft_waiting
             FROM support_tickets t JOIN users u ON u.id = t.user_id
             LEFT JOIN staff s ON s.id = t.assignee_id
            WHERE t.status = ANY($1::text[])
              AND ($2::bigint IS NULL OR t.assignee_id = $2)
              AND (NOT $3 OR t.assignee_id IS NULL)
            ORDER BY t.status = 'closed', t.updated_at DESC LIMIT $4""",
        list(statuses),
        assignee,
        unassigned,
        limit,
    )
    return from_rows(QueueRow, rows)


async def counts(conn: Conn) -> dict[str, int]:
    rows = await conn.fetch("SELECT status, count(*)::int AS n FROM support_tickets GROUP BY status")
    return {r["status"]: r["n"] for r in rows}


async def user_tickets(conn: Conn, user_id: int, limit: int = 20) -> list[Ticket]:
    rows = await conn.fetch(
        f"SELECT {TICKET_COLUMNS} FROM support_tickets WHERE user_id = $1 ORDER BY id DESC LIMIT $2",
        user_id,
        limit,
    )
    return from_rows(Ticket, rows)


# Messages ---------------------------------------------------------------------------------

MESSAGE_SELECT = """
SELECT m.id, m.ticket_id, m.author, m.staff_id, coalesce(s.display_name, s.username) AS staff_name,
       m.text, m.file_kind, m.file_id, m.file_name, m.storage_key, m.kb_entry_id,
       e.key AS kb_entry_key, m.outbox_id, o.status AS delivery, m.via, m.created_at
  FROM support_messages m
  LEFT JOIN staff s ON s.id = m.staff_id
  LEFT JOIN support_kb_entries e ON e.id = m.kb_entry_id
  LEFT JOIN outbox o ON o.id = m.outbox_id
"""


async def insert_message(conn: Conn, ticket_id: int, m: NewMessage) -> int:
    message_id: int = await conn.fetchval(
        """INSERT INTO support_messages (ticket_id, author, staff_id, text, file_kind, file_id, file_name,
                                         storage_key, kb_entry_id, tg_message_id, via)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id""",
        ticket_id,
        m.author,
        m.staff_id,
        m.text,
        m.file_kind,
        m.file_id,
        m.file_name,
        m.storage_key,
        m.kb_entry_id,
        m.tg_message_id,
        m.via,
    )
    return message_id


async def set_outbox(conn: Conn, message_id: int, outbox_id: int) -> None:
    await conn.execute("UPDATE support_messages SET outbox_id = $2 WHERE id = $1", message_id, outbox_id)


async def messages(conn: Conn, ticket_id: int) -> list[DeskMessage]:
    rows = await conn.fetch(MESSAGE_SELECT + " WHERE m.ticket_id = $1 ORDER BY m.id", ticket_id)
    return from_rows(DeskMessage, rows)


async def get_message(conn: Conn, message_id: int) -> DeskMessage | None:
    return maybe(DeskMessage, await conn.fetchrow(MESSAGE_SELECT + " WHERE m.id = $1", message_id))


async def question_before(conn: Conn, ticket_id: int, message_id: int) -> str | None:
    """The user's last text before the given message: the question an answer answered."""
    text: str | None = await conn.fetchval(
        """SELECT text FROM support_messages
            WHERE ticket_id = $1 AND id < $2 AND author = 'user' AND text <> ''
            ORDER BY id DESC LIMIT 1""",
        ticket_id,
        message_id,
    )
    return text


# Canned replies ---------------------------------------------------------------------------


async def canned(conn: Conn) -> list[Canned]:
    return from_rows(Canned, await conn.fetch("SELECT id, title, text FROM support_canned ORDER BY title"))


async def insert_canned(conn: Conn, title: str, text: str, staff_id: int) -> Canned | None:
    row = await conn.fetchrow(
        """INSERT INTO support_canned (title, text, created_by) VALUES ($1, $2, $3)
           ON CONFLICT (title) DO NOTHING RETURNING id, title, text""",
        title,
        text,
        staff_id,
    )
    return maybe(Canned, row)


async def delete_canned(conn: Conn, canned_id: int) -> bool:
    status = await conn.execute("DELETE FROM support_canned WHERE id = $1", canned_id)
    return status.endswith(" 1")


# Operators and their Telegram -------------------------------------------------------------


async def linked_operators(conn: Conn) -> list[Operator]:
    """Active operators and admins with a linked Telegram account (they get new tickets there)."""
    rows = await conn.fetch(
        """SELECT s.id, coalesce(s.display_name, s.username) AS name, s.telegram_user_id,
                  coalesce(u.language, lower(split_part(u.language_code, '-', 1))) AS language
             FROM staff s LEFT JOIN users u ON u.id = s.telegram_user_id
            WHERE s.active AND s.role IN ('operator', 'admin') AND s.telegram_user_id IS NOT NULL
            ORDER BY s.id"""
    )
    return from_rows(Operator, rows)


async def operators(conn: Conn) -> list[Operator]:
    """Active staff who may take tickets (operators and admins), for the assign list."""
    rows = await conn.fetch(
        """SELECT id, coalesce(display_name, username) AS name, telegram_user_id, NULL::text AS language
             FROM staff
            WHERE active AND role IN ('operator', 'admin') ORDER BY lower(username)"""
    )
    return from_rows(Operator, rows)


async def operator_by_telegram(conn: Conn, telegram_user_id: int) -> Operator | None:
    row = await conn.fetchrow(
        """SELECT id, coalesce(display_name, username) AS name, telegram_user_id, NULL::text AS language
             FROM staff
            WHERE active AND role IN ('operator', 'admin') AND telegram_user_id = $1""",
        telegram_user_id,
    )
    return maybe(Operator, row)


async def insert_link_token(conn: Conn, token_hash: bytes, staff_id: int, ttl_minutes: int) -> None:
    await conn.execute(
        """INSERT INTO support_link_tokens (token_hash, staff_id, expires_at)
           VALUES ($1, $2, now() + make_interval(mins => $3))""",
        token_hash,
        staff_id,
        ttl_minutes,
    )


async def use_link_token(conn: Conn, token_hash: bytes) -> int | None:
    """The staff id of a valid unused token, which is used up; None otherwise."""
    staff_id: int | None = await conn.fetchval(
        """UPDATE support_link_tokens SET used_at = now()
            WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now() RETURNING staff_id""",
        token_hash,
    )
    return staff_id


async def link_telegram(conn: Conn, staff_id: int, telegram_user_id: int) -> bool:
    """Link the account; another staff member's link to the same Telegram user moves here."""
    await conn.execute(
        "UPDATE staff SET telegram_user_id = NULL WHERE telegram_user_id = $1 AND id <> $2",
        telegram_user_id,
        staff_id,
    )
    status = await conn.execute(
        "UPDATE staff SET telegram_user_id = $2 WHERE id = $1 AND active", staff_id, telegram_user_id
    )
    return status.endswith(" 1")


async def ticket_of_notice(conn: Conn, chat_id: int, message_id: int) -> int | None:
    """The ticket a bot message to an operator was about (they reply to it to answer)."""
    ticket_id: int | None = await conn.fetchval(
        """SELECT ref_id FROM outbox
            WHERE ref_kind = 'support_notice' AND chat_id = $1 AND status = 'sent'
              AND (result->>'message_id')::bigint = $2
            ORDER BY id DESC LIMIT 1""",
        chat_id,
        message_id,
    )
    return ticket_id


async def notify(conn: Conn, payload: dict[str, object]) -> None:
    await conn.execute("SELECT pg_notify($1, $2::jsonb::text)", SUPPORT_CHANNEL, payload)
