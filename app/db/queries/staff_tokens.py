"""Queries on staff API tokens: create, list, revoke, and who a token belongs to."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from app.db import Conn
from app.db.queries.staff import Role, Staff
from app.db.records import from_row, from_rows, one


@dataclass(frozen=True, slots=True)
class StaffToken:
    id: int
    name: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


TOKEN = "id, name, created_at, last_used_at, revoked_at"


async def insert_token(conn: Conn, staff_id: int, name: str, token_hash: bytes) -> StaffToken:
    row = await conn.fetchrow(
        f"INSERT INTO staff_api_tokens (staff_id, name, token_hash) VALUES ($1, $2, $3) RETURNING {TOKEN}",
        staff_id,
        name,
        token_hash,
    )
    return from_row(StaffToken, one(row))


async def tokens(conn: Conn, staff_id: int) -> list[StaffToken]:
    rows = await conn.fetch(
        f"SELECT {TOKEN} FROM staff_api_tokens WHERE staff_id = $1 ORDER BY revoked_at IS NOT NULL, id DESC",
        staff_id,
    )
    return from_rows(StaffToken, rows)


async def revoke_token(conn: Conn, staff_id: int, token_id: int) -> str | None:
    """Revoke one's own live token; its name, or None when there is no such live token."""
    name = await conn.fetchval(
        """UPDATE staff_api_tokens SET revoked_at = now()
           WHERE id = $1 AND staff_id = $2 AND revoked_at IS NULL RETURNING name""",
        token_id,
        staff_id,
    )
    return None if name is None else str(name)


async def token_staff(conn: Conn, token_hash: bytes) -> Staff | None:
    """The active staff member behind a live token, noting its use (at most once a minute)."""
    row = await conn.fetchrow(
        """WITH t AS (
               UPDATE staff_api_tokens SET last_used_at = now()
               WHERE token_hash = $1 AND revoked_at IS NULL
                 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')
               RETURNING staff_id)
           SELECT s.id, s.username, s.display_name, s.role, s.telegram_user_id FROM staff s
           WHERE s.active AND s.id = coalesce((SELECT staff_id FROM t),
                                              (SELECT staff_id FROM staff_api_tokens
                                               WHERE token_hash = $1 AND revoked_at IS NULL))""",
        token_hash,
    )
    if row is None:
        return None
    return Staff(row["id"], row["username"], row["display_name"], Role(row["role"]), row["telegram_user_id"])
