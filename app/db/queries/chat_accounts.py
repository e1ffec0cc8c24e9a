"""Queries on web chat accounts: accounts, sessions, sign-in requests, throttling, API tokens."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from app.db import Conn
from app.db.records import from_rows, maybe, one


@dataclass(frozen=True, slots=True)
class ChatAccount:
    """Someone on the web chat (never a staff member)."""

    id: int
    username: str | None
    display_name: str
    telegram_user_id: int | None
    language: str | None
    created_at: dt.datetime
    ever_on_web: bool


@dataclass(frozen=True, slots=True)
class Credentials:
    account: ChatAccount
    password_hash: str | None


class RequestKind(StrEnum):
    LOGIN = "login"  # sign in with Telegram from the web page
    LINK = "link"  # attach Telegram to a signed-in account
    WEB = "web"  # the bot's "Open the web chat": a one-time sign-in link


@dataclass(frozen=True, slots=True)
class LoginRequest:
    kind: RequestKind
    account_id: int | None
    telegram_user_id: int | None
    next_path: str
    confirmed_at: dt.datetime | None
    used_at: dt.datetime | None
    expired: bool


@dataclass(frozen=True, slots=True)
class ApiToken:
    id: int
    name: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


ACCOUNT = "a.id, a.username, a.display_name, a.telegram_user_id, a.language, a.created_at, a.ever_on_web"


async def insert_account(
    conn: Conn,
    *,
    username: str | None,
    display_name: str,
    password_hash: str | None,
    telegram_user_id: int | None = None,
    language: str | None = None,
) -> ChatAccount:
    row = await conn.fetchrow(
        f"""INSERT INTO chat_accounts AS a (username, display_name, password_hash, telegram_user_id, language)
            VALUES ($1, $2, $3, $4, $5) RETURNING {ACCOUNT}""",
        username,
        display_name,
        password_hash,
        telegram_user_id,
        language,
    )
    return ChatAccount(**dict(one(row)))


async def account_for_telegram(conn: Conn, telegram_user_id: int) -> ChatAccount | None:
    """The Telegram user's account, made (named after their Telegram first name) when missing;
    None when the user is unknown (or, rarely, made by a parallel call not yet visible)."""
    row = await conn.fetchrow(
        f"""WITH made AS (
                INSERT INTO chat_accounts AS a (display_name, telegram_user_id)
                SELECT left(coalesce(nullif(u.first_name, ''), 'User'), 64), u.id FROM users u WHERE u.id = $1
                ON CONFLICT (telegram_user_id) DO NOTHING
                RETURNING {ACCOUNT})
            SELECT * FROM made
            UNION ALL
            SELECT {ACCOUNT} FROM chat_accounts a WHERE a.telegram_user_id = $1""",
        telegram_user_id,
    )
    return maybe(ChatAccount, row)


async def get_account(conn: Conn, account_id: int) -> ChatAccount | None:
    row = await conn.fetchrow(f"SELECT {ACCOUNT} FROM chat_accounts a WHERE a.id = $1", account_id)
    return maybe(ChatAccount, row)


async def find_telegram_account(conn: Conn, telegram_user_id: int) -> ChatAccount | None:
    row = await conn.fetchrow(
        f"SELECT {ACCOUNT} FROM chat_accounts a WHERE a.telegram_user_id = $1", telegram_user_id
    )
    return maybe(ChatAccount, row)


async def find_credentials(conn: Conn, username: str) -> Credentials | None:
    row = await conn.fetchrow(
        f"SELECT {ACCOUNT}, a.password_hash FROM chat_accounts a WHERE lower(a.username) = lower($1)",
        username,
    )
    if row is None:
        return None
    values = dict(row)
    password_hash = values.pop("password_hash")
    return Credentials(ChatAccount(**values), password_hash)


async def username_taken(conn: Conn, username: str) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM chat_accounts WHERE lower(username) = lower($1))", username
        )
    )


async def set_password_hash(conn: Conn, account_id: int, password_hash: str) -> None:
    await conn.execute("UPDATE chat_accounts SET password_hash = $2 WHERE id = $1", account_id, password_hash)


async def set_language(conn: Conn, account_id: int, language: str | None) -> None:
    await conn.execute("UPDATE chat_accounts SET language = $2 WHERE id = $1", account_id, language)


async def link_telegram(conn: Conn, account_id: int, telegram_user_id: int) -> bool:
    """Attach a Telegram user to an account that has none; False when either is taken."""
    done = await conn.fetchval(
        """UPDATE chat_accounts SET telegram_user_id = $2
           WHERE id = $1 AND telegram_user_id IS NULL
             AND NOT EXISTS (SELECT 1 FROM chat_accounts WHERE telegram_user_id = $2)
           RETURNING id""",
        account_id,
        telegram_user_id,
    )
    return done is not None


async def touch_login(conn: Conn, account_id: int) -> None:
    await conn.execute(
        "UPDATE chat_accounts SET last_login_at = now(), ever_on_web = true WHERE id = $1", account_id
    )


# --- sessions ---------------------------------------------------------------------------------


async def insert_session(
    conn: Conn, session_id: str, account_id: int, lifetime: dt.timedelta, address: str
) -> None:
    await conn.execute(
        "INSERT INTO chat_sessions (id, account_id, expires_at, address) VALUES ($1, $2, now() + $3, $4)",
        session_id,
        account_id,
        lifetime,
        address[:64],
    )


async def session_account(conn: Conn, session_id: str) -> ChatAccount | None:
    row = await conn.fetchrow(
        f"""SELECT {ACCOUNT} FROM chat_sessions s JOIN chat_accounts a ON a.id = s.account_id
            WHERE s.id = $1 AND s.revoked_at IS NULL AND s.expires_at > now()""",
        session_id,
    )
    return maybe(ChatAccount, row)


async def revoke_session(conn: Conn, session_id: str) -> int | None:
    """End a session; its account's id (None: no such live session)."""
    account_id: int | None = await conn.fetchval(
        """UPDATE chat_sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL
           RETURNING account_id""",
        session_id,
    )
    return account_id


async def revoke_sessions(conn: Conn, account_id: int) -> int:
    ended = await conn.fetchval(
        """WITH ended AS (UPDATE chat_sessions SET revoked_at = now()
                          WHERE account_id = $1 AND revoked_at IS NULL RETURNING 1)
           SELECT count(*) FROM ended""",
        account_id,
    )
    return int(ended or 0)


async def live_sessions(conn: Conn, account_id: int) -> int:
    count = await conn.fetchval(
        """SELECT count(*) FROM chat_sessions
           WHERE account_id = $1 AND revoked_at IS NULL AND expires_at > now()""",
        account_id,
    )
    return int(count or 0)


# --- sign-in requests -------------------------------------------------------------------------


async def insert_request(
    conn: Conn,
    *,
    token_hash: bytes,
    kind: RequestKind,
    waiter_hash: bytes | None,
    account_id: int | None,
    telegram_user_id: int | None,
    next_path: str,
    lifetime: dt.timedelta,
) -> None:
    await conn.execute(
        """INSERT INTO chat_login_requests
               (token_hash, kind, waiter_hash, account_id, telegram_user_id, next_path, expires_at,
                confirmed_at)
           VALUES ($1, $2, $3, $4, $5, $6, now() + $7,
                   CASE WHEN $5::bigint IS NULL THEN NULL ELSE now() END)""",
        token_hash,
        kind.value,
        waiter_hash,
        account_id,
        telegram_user_id,
        next_path,
        lifetime,
    )


REQUEST = (
    "kind, account_id, telegram_user_id, next_path, confirmed_at, used_at, expires_at <= now() AS expired"
)


async def confirm_request(conn: Conn, token_hash: bytes, telegram_user_id: int) -> LoginRequest | None:
    """The bot's side: the Telegram user who pressed Start confirms a waiting request, once."""
    row = await conn.fetchrow(
        f"""UPDATE chat_login_requests SET telegram_user_id = $2, confirmed_at = now()
            WHERE token_hash = $1 AND kind IN ('login', 'link') AND confirmed_at IS NULL
              AND expires_at > now()
            RETURNING {REQUEST}""",
        token_hash,
        telegram_user_id,
    )
    return maybe(LoginRequest, row)


async def peek_request(conn: Conn, token_hash: bytes) -> LoginRequest | None:
    row = await conn.fetchrow(f"SELECT {REQUEST} FROM chat_login_requests WHERE token_hash = $1", token_hash)
    return maybe(LoginRequest, row)


async def use_request(conn: Conn, token_hash: bytes, waiter_hash: bytes | None) -> LoginRequest | None:
    """The web side: a confirmed, live request is used once (by the page holding its waiter
    cookie; a "web" link by whoever opens it)."""
    row = await conn.fetchrow(
        f"""UPDATE chat_login_requests SET used_at = now()
            WHERE token_hash = $1 AND used_at IS NULL AND confirmed_at IS NOT NULL AND expires_at > now()
              AND waiter_hash IS NOT DISTINCT FROM $2
            RETURNING {REQUEST}""",
        token_hash,
        waiter_hash,
    )
    return maybe(LoginRequest, row)


async def delete_old_requests(conn: Conn, older_than: dt.timedelta) -> int:
    done = await conn.fetchval(
        """WITH gone AS (DELETE FROM chat_login_requests WHERE expires_at < now() - $1::interval RETURNING 1)
           SELECT count(*) FROM gone""",
        older_than,
    )
    return int(done or 0)


async def delete_old_sessions(conn: Conn, older_than: dt.timedelta) -> int:
    done = await conn.fetchval(
        """WITH gone AS (DELETE FROM chat_sessions
                         WHERE coalesce(revoked_at, expires_at) < now() - $1::interval RETURNING 1)
           SELECT count(*) FROM gone""",
        older_than,
    )
    return int(done or 0)


async def delete_old_attempts(conn: Conn, older_than: dt.timedelta) -> int:
    done = await conn.fetchval(
        """WITH gone AS (DELETE FROM chat_login_attempts
                         WHERE window_start < now() - $1::interval RETURNING 1)
           SELECT count(*) FROM gone""",
        older_than,
    )
    return int(done or 0)


# --- throttling -------------------------------------------------------------------------------


async def count_attempt(conn: Conn, key: str, window: dt.timedelta) -> int:
    """Count one attempt under `key` (a new window when the old one is over); the count so far,
    this one included. One statement: parallel attempts each see their own number."""
    attempts = await conn.fetchval(
        """INSERT INTO chat_login_attempts AS t (key, attempts, window_start) VALUES ($1, 1, now())
           ON CONFLICT (key) DO UPDATE SET
               attempts = CASE WHEN t.window_start <= now() - $2::interval THEN 1 ELSE t.attempts + 1 END,
               window_start = CASE WHEN t.window_start <= now() - $2::interval
                                   THEN now() ELSE t.window_start END
           RETURNING attempts""",
        key,
        window,
    )
    return int(attempts)


async def window_left(conn: Conn, key: str, window: dt.timedelta) -> dt.timedelta:
    left = await conn.fetchval(
        """SELECT greatest(window_start + $2 - now(), interval '1 second')
           FROM chat_login_attempts WHERE key = $1""",
        key,
        window,
    )
    return left if isinstance(left, dt.timedelta) else dt.timedelta(seconds=1)


async def clear_attempts(conn: Conn, key: str) -> None:
    await conn.execute("DELETE FROM chat_login_attempts WHERE key = $1", key)


# --- API tokens -------------------------------------------------------------------------------

TOKEN = "id, name, created_at, last_used_at, revoked_at"


async def insert_api_token(conn: Conn, account_id: int, name: str, token_hash: bytes) -> ApiToken:
    row = await conn.fetchrow(
        f"INSERT INTO chat_api_tokens (account_id, name, token_hash) VALUES ($1, $2, $3) RETURNING {TOKEN}",
        account_id,
        name,
        token_hash,
    )
    return ApiToken(**dict(one(row)))


async def api_tokens(conn: Conn, account_id: int) -> list[ApiToken]:
    rows = await conn.fetch(
        f"SELECT {TOKEN} FROM chat_api_tokens WHERE account_id = $1 ORDER BY revoked_at IS NOT NULL, id DESC",
        account_id,
    )
    return from_rows(ApiToken, rows)


async def revoke_api_token(conn: Conn, account_id: int, token_id: int) -> bool:
    done = await conn.fetchval(
        """UPDATE chat_api_tokens SET revoked_at = now()
           WHERE id = $1 AND account_id = $2 AND revoked_at IS NULL RETURNING id""",
        token_id,
        account_id,
    )
    return done is not None


async def token_account(conn: Conn, token_hash: bytes) -> ChatAccount | None:
    """The account of a live token, noting its use (at most once a minute, to spare writes)."""
    row = await conn.fetchrow(
        f"""WITH t AS (
                UPDATE chat_api_tokens SET last_used_at = now()
                WHERE token_hash = $1 AND revoked_at IS NULL
                  AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')
                RETURNING account_id)
            SELECT {ACCOUNT} FROM chat_accounts a
            WHERE a.id = coalesce((SELECT account_id FROM t),
                                  (SELECT account_id FROM chat_api_tokens
                                   WHERE token_hash = $1 AND revoked_at IS NULL))""",
        token_hash,
    )
    return maybe(ChatAccount, row)
