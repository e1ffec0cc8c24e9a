"""Queries on users and the inbound update journal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.db import Conn
from app.db.records import maybe, one


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
    support_ticket: bool = False  # the user has a support ticket that is not closed (message routing)


# One round trip on the hot path: journal the update, upsert its user and read the user's FSM
# state ($13) and whether they have a support ticket that is not closed (where their messages
# go) together. A message from a user who had blocked the bot proves they unblocked it ($11).
# The commit is asynchronous (set_config is local to this statement's transaction): a crash of
# the database server may lose the last few hundred milliseconds of journal, never a
# half-written row, and nothing else in Bozor relaxes durability.
JOURNAL_AND_UPSERT = """
WITH journal AS (
    INSERT INTO update_journal (bot_id, update_id, kind, user_id, chat_id, payload)
    VALUES ($1, $2, $3, $4, $5, $6::jsonb)
    ON CONFLICT (bot_id, update_id) DO NOTHING
    RETURNING id
), upsert AS (
    INSERT INTO users AS u (id, first_name, last_name, username, language_code, is_bot)
    VALUES ($4, $7, $8, $9, $10, $12)
    ON CONFLICT (id) DO UPDATE SET
        first_name = excluded.first_name, last_name = excluded.last_name,
        username = excluded.username,
        language_code = coalesce(excluded.language_code, u.language_code),
        last_seen = now(),
        blocked_bot_at = CASE WHEN $11 THEN NULL ELSE u.blocked_bot_at END
    RETURNING language, language_code, (xmax = 0) AS is_new, banned_at IS NOT NULL AS banned
)
SELECT (SELECT id FROM journal) AS journal_id, language, language_code, is_new, banned,
       (SELECT state FROM fsm_state WHERE key = $13) AS fsm_state,
       EXISTS (SELECT FROM support_tickets WHERE user_id = $4 AND status <> 'closed') AS support_ticket,
       set_config('synchronous_commit', 'off', true) AS async_commit
FROM upsert
"""

JOURNAL_ONLY = """
INSERT INTO update_journal (bot_id, update_id, kind, user_id, chat_id, payload)
VALUES ($1, $2, $3, NULL, $4, $5::jsonb)
ON CONFLICT (bot_id, update_id) DO NOTHING
RETURNING id
"""


async def journal_and_upsert(
    conn: Conn,
    inbound: Inbound,
    contact: Contact,
    *,
    clears_block: bool,
    fsm_key: str,
) -> Journaled:
    """Store the update and its user; returns what the handlers need to know of the user."""
    row = await conn.fetchrow(
        JOURNAL_AND_UPSERT,
        inbound.bot_id,
        inbound.update_id,
        inbound.kind,
        contact.id,
        inbound.chat_id,
        inbound.payload_json,
        contact.first_name,
        contact.last_name,
        contact.username,
        contact.language_code,
        clears_block,
        contact.is_bot,
        fsm_key,
    )
    # Built by hand, not by from_row: this runs for every update.
    row = one(row)
    return Journaled(
        row["journal_id"],
        row["language"],
        row["language_code"],
        row["is_new"],
        row["banned"],
        row["fsm_state"],
        row["support_ticket"],
    )


async def journal_only(conn: Conn, inbound: Inbound) -> int | None:
    """Store an update that has no user (e.g. a channel post); None when already stored."""
    journal_id: int | None = await conn.fetchval(
        JOURNAL_ONLY,
        inbound.bot_id,
        inbound.update_id,
        inbound.kind,
        inbound.chat_id,
        inbound.payload_json,
    )
    return journal_id


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
