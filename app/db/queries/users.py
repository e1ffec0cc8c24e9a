"""Queries on users and the inbound update journal."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg


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


# One round trip on the hot path: journal the update, upsert its user and read the user's FSM
# state ($13) together. A message from a user who had blocked the bot proves they unblocked
# it ($11). The commit is asynchronous (set_config is local to this statement's transaction):
# a crash of the database server may lose the last few hundred milliseconds of journal, never
# a half-written row, and nothing else in Bozor relaxes durability.
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
    conn: asyncpg.Connection,
    inbound: Inbound,
    contact: Contact,
    *,
    clears_block: bool,
    fsm_key: str,
) -> asyncpg.Record:
    """Store the update and its user; returns journal_id (None for a repeat), language, is_new
    and the FSM state stored under `fsm_key`."""
    return await conn.fetchrow(
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


async def journal_only(conn: asyncpg.Connection, inbound: Inbound) -> int | None:
    """Store an update that has no user (e.g. a channel post); None when already stored."""
    return await conn.fetchval(
        JOURNAL_ONLY,
        inbound.bot_id,
        inbound.update_id,
        inbound.kind,
        inbound.chat_id,
        inbound.payload_json,
    )


async def record_journal_error(conn: asyncpg.Connection, journal_id: int, error: str) -> None:
    await conn.execute("UPDATE update_journal SET error = $2 WHERE id = $1", journal_id, error[:2000])


async def set_language(conn: asyncpg.Connection, user_id: int, language: str) -> None:
    await conn.execute("UPDATE users SET language = $2 WHERE id = $1", user_id, language)


async def set_blocked(conn: asyncpg.Connection, user_id: int, blocked: bool) -> None:
    await conn.execute(
        "UPDATE users SET blocked_bot_at = CASE WHEN $2 THEN coalesce(blocked_bot_at, now()) END "
        "WHERE id = $1",
        user_id,
        blocked,
    )


async def get_user(conn: asyncpg.Connection, user_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM users WHERE id = $1", user_id)


async def delete_journal_before(conn: asyncpg.Connection, days: int) -> int:
    """Drop journal rows older than `days`; returns how many went."""
    status = await conn.execute(
        "DELETE FROM update_journal WHERE received_at < now() - make_interval(days => $1)", days
    )
    return int(status.rsplit(" ", 1)[1])
