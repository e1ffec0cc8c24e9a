"""Queries on staff accounts, their channels, login links, failed logins, secrets and the audit log."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

import asyncpg

from app.db import Conn
from app.db.records import one


class Role(StrEnum):
    ADMIN = "admin"  # everything
    MODERATOR = "moderator"  # moderation of the channels given to them
    OPERATOR = "operator"  # support tickets and users; no settings


@dataclass(frozen=True, slots=True)
class Staff:
    id: int
    username: str
    display_name: str | None
    role: Role
    telegram_user_id: int | None

    @property
    def name(self) -> str:
        return self.display_name or self.username

    def has_role(self, *roles: Role | str) -> bool:
        """Admins may do everything; others only what one of `roles` allows (none given: any staff)."""
        return self.role is Role.ADMIN or not roles or self.role in roles


@dataclass(frozen=True, slots=True)
class Account:
    """A staff account as logging in sees it: the person, whether active, the password's hash."""

    staff: Staff
    active: bool
    password_hash: str | None


@dataclass(frozen=True, slots=True)
class Failures:
    """Failed logins in the window, per account and per address, and when the oldest leaves it."""

    by_account: int  # this account from this address
    account_oldest: dt.datetime | None
    by_address: int
    address_oldest: dt.datetime | None
    now: dt.datetime
    by_account_anywhere: int = 0  # this account from every address
    anywhere_oldest: dt.datetime | None = None


def _account(row: asyncpg.Record) -> Account:
    staff = Staff(row["id"], row["username"], row["display_name"], Role(row["role"]), row["telegram_user_id"])
    return Account(staff, row["active"], row["password_hash"])


STAFF_COLUMNS = """id, username, display_name, role, password_hash, telegram_user_id, active,
    created_at, last_login_at"""


async def insert_staff(
    conn: Conn,
    *,
    username: str,
    role: str,
    password_hash: str | None,
    display_name: str | None = None,
    telegram_user_id: int | None = None,
) -> Account:
    row = await conn.fetchrow(
        f"""INSERT INTO staff (username, role, password_hash, display_name, telegram_user_id)
            VALUES ($1, $2, $3, $4, $5) RETURNING {STAFF_COLUMNS}""",
        username,
        role,
        password_hash,
        display_name,
        telegram_user_id,
    )
    return _account(one(row))


async def get_staff(conn: Conn, staff_id: int) -> Account | None:
    row = await conn.fetchrow(f"SELECT {STAFF_COLUMNS} FROM staff WHERE id = $1", staff_id)
    return None if row is None else _account(row)


async def find_staff_by_username(conn: Conn, username: str) -> Account | None:
    row = await conn.fetchrow(
        f"SELECT {STAFF_COLUMNS} FROM staff WHERE lower(username) = lower($1)", username
    )
    return None if row is None else _account(row)


async def staff_exists(conn: Conn) -> bool:
    """Whether any staff account exists at all (active or not)."""
    exists: bool = await conn.fetchval("SELECT EXISTS (SELECT 1 FROM staff)")
    return exists


async def set_password_hash(conn: Conn, staff_id: int, password_hash: str) -> None:
    await conn.execute("UPDATE staff SET password_hash = $2 WHERE id = $1", staff_id, password_hash)


async def touch_login(conn: Conn, staff_id: int) -> None:
    await conn.execute("UPDATE staff SET last_login_at = now() WHERE id = $1", staff_id)


async def staff_channel_ids(conn: Conn, staff_id: int) -> list[int]:
    rows = await conn.fetch(
        "SELECT channel_id FROM staff_channels WHERE staff_id = $1 ORDER BY channel_id", staff_id
    )
    return [row["channel_id"] for row in rows]


async def add_staff_channel(conn: Conn, staff_id: int, channel_id: int) -> bool:
    status = await conn.execute(
        "INSERT INTO staff_channels (staff_id, channel_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        staff_id,
        channel_id,
    )
    return status.endswith(" 1")


async def remove_staff_channel(conn: Conn, staff_id: int, channel_id: int) -> bool:
    status = await conn.execute(
        "DELETE FROM staff_channels WHERE staff_id = $1 AND channel_id = $2", staff_id, channel_id
    )
    return status.endswith(" 1")


async def insert_login_token(conn: Conn, token_hash: bytes, staff_id: int, ttl: dt.timedelta) -> None:
    await conn.execute(
        """INSERT INTO staff_login_tokens (token_hash, staff_id, expires_at)
           VALUES ($1, $2, now() + $3::interval)""",
        token_hash,
        staff_id,
        ttl,
    )


async def end_login_tokens(conn: Conn, staff_id: int) -> None:
    """Every unused link of this staff member stops working (a newer one replaces them)."""
    await conn.execute(
        "UPDATE staff_login_tokens SET expires_at = least(expires_at, now()) "
        "WHERE staff_id = $1 AND used_at IS NULL",
        staff_id,
    )


async def peek_login_token(conn: Conn, token_hash: bytes) -> int | None:
    """The staff id of a valid (unused, unexpired) token, without using it."""
    staff_id: int | None = await conn.fetchval(
        """SELECT t.staff_id FROM staff_login_tokens t JOIN staff s ON s.id = t.staff_id
           WHERE t.token_hash = $1 AND t.used_at IS NULL AND t.expires_at > now() AND s.active""",
        token_hash,
    )
    return staff_id


async def use_login_token(conn: Conn, token_hash: bytes) -> int | None:
    """Mark a valid token used and return its staff id; the first caller wins, once."""
    staff_id: int | None = await conn.fetchval(
        """UPDATE staff_login_tokens t SET used_at = now()
           FROM staff s
           WHERE t.token_hash = $1 AND t.used_at IS NULL AND t.expires_at > now()
             AND s.id = t.staff_id AND s.active
           RETURNING t.staff_id""",
        token_hash,
    )
    return staff_id


async def insert_login_failure(conn: Conn, username: str, address: str) -> int:
    """A failure (or an attempt counted as one until it succeeds); its id."""
    failure_id: int = await conn.fetchval(
        "INSERT INTO login_failures (username, address) VALUES ($1, $2) RETURNING id", username, address
    )
    return failure_id


async def note_auth_failure(conn: Conn, action: str, username: str | None, address: str) -> None:
    """Count an anonymous failure in its hour's row for this action and address."""
    await conn.execute(
        """INSERT INTO auth_failures AS f (hour, action, address, last_username)
           VALUES (date_trunc('hour', now()), $1, $2, $3)
           ON CONFLICT (hour, action, address) DO UPDATE
           SET attempts = f.attempts + 1, last_username = excluded.last_username, last_at = now()""",
        action,
        address[:64],
        username,
    )


async def delete_old_auth_failures(conn: Conn, older_than: dt.timedelta) -> int:
    status = await conn.execute("DELETE FROM auth_failures WHERE hour < now() - $1::interval", older_than)
    return int(status.split()[-1])


async def delete_login_failure(conn: Conn, failure_id: int) -> None:
    await conn.execute("DELETE FROM login_failures WHERE id = $1", failure_id)


async def lock_login(conn: Conn, username: str, address: str) -> None:
    """Serialise counting and recording attempts for this account and this address (in the
    caller's transaction), so parallel tries cannot all pass the same count."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtext('bozor.login.account:' || $1)), "
        "pg_advisory_xact_lock(hashtext('bozor.login.address:' || $2))",
        username,
        address,
    )


async def recent_failures(conn: Conn, username: str, address: str, window: dt.timedelta) -> Failures:
    """Failures in the window for this account from this address, from this address, and for
    this account from anywhere; and when the oldest of each leaves the window."""
    row = await conn.fetchrow(
        """SELECT count(*) FILTER (WHERE username = $1 AND address = $2 AND counts_for_account)
                      AS by_account,
                  min(at) FILTER (WHERE username = $1 AND address = $2 AND counts_for_account)
                      AS account_oldest,
                  count(*) FILTER (WHERE address = $2) AS by_address,
                  min(at) FILTER (WHERE address = $2) AS address_oldest,
                  count(*) FILTER (WHERE username = $1 AND counts_for_account) AS anywhere,
                  min(at) FILTER (WHERE username = $1 AND counts_for_account) AS anywhere_oldest,
                  now() AS now
           FROM login_failures
           WHERE (username = $1 OR address = $2) AND at > now() - $3::interval""",
        username,
        address,
        window,
    )
    row = one(row)
    return Failures(
        row["by_account"],
        row["account_oldest"],
        row["by_address"],
        row["address_oldest"],
        row["now"],
        row["anywhere"],
        row["anywhere_oldest"],
    )


async def clear_account_failures(conn: Conn, username: str) -> None:
    """The account's count starts again; the rows still count for their client addresses."""
    await conn.execute(
        "UPDATE login_failures SET counts_for_account = false WHERE username = $1 AND counts_for_account",
        username,
    )


async def delete_old_failures(conn: Conn, older_than: dt.timedelta) -> int:
    status = await conn.execute("DELETE FROM login_failures WHERE at < now() - $1::interval", older_than)
    return int(status.split()[-1])


async def upsert_secret(conn: Conn, name: str, ciphertext: str, by: int | None) -> bool:
    """Store a secret's ciphertext; True when it replaced an earlier one."""
    replaced: bool = await conn.fetchval(
        """INSERT INTO settings_secrets AS s (name, ciphertext, updated_by) VALUES ($1, $2, $3)
           ON CONFLICT (name) DO UPDATE SET ciphertext = excluded.ciphertext,
               updated_by = excluded.updated_by, updated_at = now()
           RETURNING xmax <> 0""",
        name,
        ciphertext,
        by,
    )
    return replaced


async def delete_secret(conn: Conn, name: str) -> bool:
    """Forget a secret; True when there was one."""
    return await conn.execute("DELETE FROM settings_secrets WHERE name = $1", name) != "DELETE 0"


async def get_secret_ciphertext(conn: Conn, name: str) -> str | None:
    ciphertext: str | None = await conn.fetchval(
        "SELECT ciphertext FROM settings_secrets WHERE name = $1", name
    )
    return ciphertext


async def secret_names(conn: Conn) -> list[str]:
    """Which secrets are set — never their values."""
    return [r["name"] for r in await conn.fetch("SELECT name FROM settings_secrets ORDER BY name")]


async def insert_audit(
    conn: Conn,
    staff_id: int | None,
    action: str,
    target: str | None,
    before: object,
    after: object,
) -> int:
    audit_id: int = await conn.fetchval(
        """INSERT INTO audit_log (staff_id, action, target, before, after)
           VALUES ($1, $2, $3, $4, $5) RETURNING id""",
        staff_id,
        action,
        target,
        before,
        after,
    )
    return audit_id


async def insert_session(
    conn: Conn, session_id: str, staff_id: int, lifetime: dt.timedelta, address: str
) -> None:
    await conn.execute(
        """INSERT INTO staff_sessions (id, staff_id, expires_at, address)
           VALUES ($1, $2, now() + $3, $4)""",
        session_id,
        staff_id,
        lifetime,
        address,
    )


async def session_staff(conn: Conn, session_id: str) -> Staff | None:
    """The active staff member behind a live (not revoked, not expired) session, in one query."""
    row = await conn.fetchrow(
        f"""SELECT {", ".join("s." + c.strip() for c in STAFF_COLUMNS.split(","))}
            FROM staff_sessions ss JOIN staff s ON s.id = ss.staff_id
            WHERE ss.id = $1 AND ss.revoked_at IS NULL AND ss.expires_at > now() AND s.active""",
        session_id,
    )
    return None if row is None else _account(row).staff


async def revoke_session(conn: Conn, session_id: str) -> bool:
    return (
        await conn.fetchval(
            """UPDATE staff_sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL
           RETURNING true""",
            session_id,
        )
        or False
    )


async def revoke_staff_sessions(conn: Conn, staff_id: int) -> int:
    rows = await conn.fetch(
        """UPDATE staff_sessions SET revoked_at = now() WHERE staff_id = $1 AND revoked_at IS NULL
           RETURNING id""",
        staff_id,
    )
    return len(rows)


async def revoke_other_sessions(conn: Conn, staff_id: int, keep_id: str) -> int:
    """End every session of an account but the one it is using now."""
    status = await conn.execute(
        "UPDATE staff_sessions SET revoked_at = now() WHERE staff_id = $1 AND id <> $2 "
        "AND revoked_at IS NULL",
        staff_id,
        keep_id,
    )
    return int(status.split()[-1])


async def delete_old_sessions(conn: Conn) -> int:
    rows = await conn.fetch(
        "DELETE FROM staff_sessions WHERE expires_at < now() - interval '7 days' RETURNING 1"
    )
    return len(rows)
