"""Queries on users and the inbound update journal."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from app.db import Conn
from app.db.records import maybe


@dataclass(frozen=True, slots=True)
class User:
    """Someone who contacted the bot (M1)."""

    id: int
    first_name: str
    last_name: str | None
    username: str | None
    language_code: str | None  # as Telegram reports it
    language: str | None  # chosen with /language
    is_bot: bool
    first_seen: datetime
    last_seen: datetime
    blocked_bot_at: datetime | None  # they blocked the bot: nothing is sent to them
    banned_at: datetime | None  # staff blocked them: their messages get a polite refusal
    banned_by: int | None
    banned_reason: str | None

    @property
    def handle(self) -> str:
        """How admins see them: @username, else the first name."""
        return f"@{self.username}" if self.username else self.first_name


@dataclass(frozen=True, slots=True)
class Contact:
    """What Telegram tells us about a user with each update."""

    id: int
    first_name: str
    last_name: str | None
    username: str | None
    language_code: str | None
    is_bot: bool = False


@dataclass(frozen=True, slots=True)
class Inbound:
    """One incoming update as the journal stores it."""

    bot_id: int
    update_id: int
    kind: str
    chat_id: int | None
    payload_json: str


@dataclass(frozen=True, slots=True)
class Journaled:
    """What journaling an update learnt about its user, in the same round trip."""

    journal_id: int | None  # None: the same update was stored before (a re-delivery)
    language: str | None
    language_code: str | None
    is_new: bool
    banned: bool
    fsm_state: str | None  # the conversation state under the key the middleware asked for
    fsm_data: str | None  # its data as JSON; None when the key has no row
    support_ticket: bool = False  # the user has a support ticket that is not closed (message routing)


@dataclass(frozen=True, slots=True)
class Arrival:
    """An update to journal, with the user it came from and the FSM key its handler will read."""

    inbound: Inbound
    contact: Contact | None  # None: no user (e.g. a channel post)
    clears_block: bool  # a message proves a user who had blocked the bot unblocked it
    fsm_key: str  # "" when the update has no conversation


# One round trip on the hot path for a whole getUpdates batch: journal the updates, upsert
# their users (each once, with what their latest update says) and read their FSM state and data and
# whether they have a support ticket that is not closed (where their messages go).
# A re-delivered update (its id already journaled) comes back with no journal id and is not
# handled again. The commit is asynchronous (set_config is local to this statement's
# transaction): a crash of the database server may lose the last few hundred milliseconds of
# journal, never a half-written row, and nothing else in Bozor relaxes durability.
JOURNAL_BATCH = """
WITH input AS (
    SELECT * FROM unnest($2::bigint[], $3::text[], $4::bigint[], $5::bigint[], $6::text[], $7::text[],
                         $8::text[], $9::text[], $10::text[], $11::bool[], $12::bool[], $13::text[])
        WITH ORDINALITY AS i(update_id, kind, user_id, chat_id, payload, first_name, last_name, username,
                             language_code, is_bot, clears_block, fsm_key, ord)
), journal AS (
    INSERT INTO update_journal (bot_id, update_id, kind, user_id, chat_id, payload, handled)
    SELECT $1, update_id, kind, user_id, chat_id, payload::jsonb, false FROM input ORDER BY ord
    ON CONFLICT (bot_id, update_id) DO NOTHING
    RETURNING id, update_id
), replayed AS (  -- a replay (see claim_unhandled) journaled them before: their rows
    SELECT id, update_id FROM update_journal
    WHERE $14 AND bot_id = $1 AND update_id IN (SELECT update_id FROM input)
), latest AS (
    SELECT DISTINCT ON (user_id) user_id, first_name, last_name, username, language_code, is_bot,
           bool_or(clears_block) OVER (PARTITION BY user_id) AS clears_block
    FROM input WHERE user_id IS NOT NULL
    ORDER BY user_id, ord DESC
), upsert AS (
    INSERT INTO users AS u (id, first_name, last_name, username, language_code, is_bot)
    SELECT user_id, first_name, last_name, username, language_code, is_bot FROM latest
    ON CONFLICT (id) DO UPDATE SET
        first_name = excluded.first_name, last_name = excluded.last_name,
        username = excluded.username,
        language_code = coalesce(excluded.language_code, u.language_code),
        last_seen = now(),
        blocked_bot_at = CASE WHEN (SELECT l.clears_block FROM latest l WHERE l.user_id = u.id)
                              THEN NULL ELSE u.blocked_bot_at END
    RETURNING id, language, language_code, (xmax = 0) AS is_new, banned_at IS NOT NULL AS banned
)
SELECT coalesce(j.id, r.id) AS journal_id, u.language, u.language_code,
       coalesce(u.is_new, false) AS is_new, coalesce(u.banned, false) AS banned,
       f.state AS fsm_state, f.data::text AS fsm_data,
       set_config('synchronous_commit', 'off', true) AS async_commit,
       EXISTS (SELECT FROM support_tickets t WHERE t.user_id = i.user_id AND t.status <> 'closed')
           AS support_ticket
FROM input i
LEFT JOIN journal j ON j.update_id = i.update_id
LEFT JOIN replayed r ON r.update_id = i.update_id
LEFT JOIN upsert u ON u.id = i.user_id
LEFT JOIN fsm_state f ON f.key = i.fsm_key
ORDER BY i.ord
"""


async def journal_batch(
    conn: Conn, bot_id: int, arrivals: Sequence[Arrival], *, replay: bool = False
) -> list[Journaled]:
    """Store the updates and their users in one statement; one result per update, in order.
    With `replay`, the updates are already journaled (claimed by claim_unhandled)."""
    columns: list[list[object]] = [[] for _ in range(12)]
    for a in arrivals:
        c = a.contact
        values = (
            a.inbound.update_id,
            a.inbound.kind,
            c.id if c else None,
            a.inbound.chat_id,
            a.inbound.payload_json,
            c.first_name if c else None,
            c.last_name if c else None,
            c.username if c else None,
            c.language_code if c else None,
            c.is_bot if c else None,
            a.clears_block,
            a.fsm_key,
        )
        for column, value in zip(columns, values, strict=True):
            column.append(value)
    rows = await conn.fetch(JOURNAL_BATCH, bot_id, *columns, replay)
    # Built by hand, not by from_rows: this runs for every update.
    return [
        Journaled(
            r["journal_id"],
            r["language"],
            r["language_code"],
            r["is_new"],
            r["banned"],
            r["fsm_state"],
            r["fsm_data"],
            r["support_ticket"],
        )
        for r in rows
    ]


async def journal_unfit(conn: Conn, inbound: Inbound, user_id: int | None, error: str) -> int | None:
    """Journal an update whose row the batch statement could not take, with `error` saying why;
    marked handled, as it is not handled (the sweep leaves it). None: its id was journaled before."""
    journal_id: int | None = await conn.fetchval(
        """
        INSERT INTO update_journal (bot_id, update_id, kind, user_id, chat_id, payload, handled, error)
        VALUES ($1, $2, $3, $4, $5, $6::jsonb, true, $7)
        ON CONFLICT (bot_id, update_id) DO NOTHING
        RETURNING id
        """,
        inbound.bot_id,
        inbound.update_id,
        inbound.kind,
        user_id,
        inbound.chat_id,
        inbound.payload_json,
        error[:2000],
    )
    return journal_id


async def mark_handled(conn: Conn, journal_ids: Sequence[int]) -> None:
    """Their handlers started (written in bulk, off the reply's path: see HandledMarks)."""
    await conn.execute("UPDATE update_journal SET handled = true WHERE id = ANY($1::bigint[])", journal_ids)


async def claim_unhandled(conn: Conn, bot_id: int, older_than_seconds: float, limit: int) -> list[str]:
    """Updates journaled (and so acknowledged) long ago whose handlers never started — their
    process stopped in between — claimed for handling here, oldest first (payload JSON).
    SKIP LOCKED: two processes sweeping at once claim different rows."""
    rows = await conn.fetch(
        """
        UPDATE update_journal SET handled = true
        WHERE id IN (
            SELECT id FROM update_journal
            WHERE bot_id = $1 AND NOT handled AND received_at < now() - make_interval(secs => $2)
            ORDER BY update_id LIMIT $3 FOR UPDATE SKIP LOCKED
        )
        RETURNING update_id, payload::text AS payload
        """,
        bot_id,
        older_than_seconds,
        limit,
    )
    return [r["payload"] for r in sorted(rows, key=lambda r: r["update_id"])]


async def record_journal_error(conn: Conn, journal_id: int, error: str) -> None:
    await conn.execute("UPDATE update_journal SET error = $2 WHERE id = $1", journal_id, error[:2000])


async def set_language(conn: Conn, user_id: int, language: str) -> None:
    await conn.execute("UPDATE users SET language = $2 WHERE id = $1", user_id, language)


async def set_blocked(conn: Conn, user_id: int, blocked: bool) -> None:
    await conn.execute(
        "UPDATE users SET blocked_bot_at = CASE WHEN $2 THEN coalesce(blocked_bot_at, now()) END "
        "WHERE id = $1",
        user_id,
        blocked,
    )


async def get_user(conn: Conn, user_id: int) -> User | None:
    return maybe(User, await conn.fetchrow("SELECT * FROM users WHERE id = $1", user_id))


async def language_settings(conn: Conn, user_ids: list[int]) -> dict[int, tuple[str | None, str | None]]:
    """(chosen language, Telegram language_code) for each known user."""
    rows = await conn.fetch(
        "SELECT id, language, language_code FROM users WHERE id = ANY($1::bigint[])", user_ids
    )
    return {r["id"]: (r["language"], r["language_code"]) for r in rows}


async def delete_journal_before(conn: Conn, days: int) -> int:
    """Drop journal rows older than `days`; returns how many went."""
    status = await conn.execute(
        "DELETE FROM update_journal WHERE received_at < now() - make_interval(days => $1)", days
    )
    return int(status.rsplit(" ", 1)[1])
