"""Staff accounts, roles, logging in (with throttling), one-time links, secrets and the audit log.

The panel and the command line call these functions; nothing here knows about HTTP.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import re
from dataclasses import dataclass

import asyncpg

from app import crypto
from app.db import Conn
from app.db.queries import panel_admin as admin_q
from app.db.queries import staff as q
from app.db.queries.staff import Role as Role
from app.db.queries.staff import Staff as Staff
from app.i18n import N_, UserError

ROLES = tuple(Role)
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{3,64}$")
MIN_PASSWORD = 10

# Throttling: after this many failures within WINDOW, further attempts wait until the oldest
# of them leaves the window. Kept in PostgreSQL so that every process counts the same.
MAX_FAILURES_PER_ACCOUNT = 5  # per account and address: a stranger cannot lock the owner out
MAX_FAILURES_PER_ACCOUNT_ANYWHERE = 100  # an attack from many addresses still slows down
MAX_FAILURES_PER_ADDRESS = 20  # a shared office address gets more room than one account
FAILURE_WINDOW = dt.timedelta(minutes=15)
AUTH_FAILURES_KEPT = dt.timedelta(days=30)
LINK_TTL = dt.timedelta(hours=1)
SESSION_TTL = dt.timedelta(hours=12)  # after login; then the password is asked again

# Secrets the panel knows by name; their values never leave the domain except to their users.
KNOWN_SECRETS = ("bot_token", "s3_secret_key", "llm_api_key")  # a feature that needs one adds it here


@functools.cache
def _dummy_hash() -> str:
    """A hash of a random password: unknown usernames cost as much time as known ones."""
    return crypto.hash_password(crypto.new_token())


class StaffError(ValueError):
    """Bad input for a staff operation; the message is for the operator."""


@dataclass(frozen=True)
class LoginResult:
    staff: Staff | None = None
    throttled_for: dt.timedelta | None = None  # set when the attempt was refused unchecked

    @property
    def ok(self) -> bool:
        return self.staff is not None


async def hash_password(password: str) -> str:
    """scrypt takes ~50 ms of CPU: off the event loop."""
    return await asyncio.to_thread(crypto.hash_password, password)


async def check_password(password: str, encoded: str | None) -> bool:
    return await asyncio.to_thread(crypto.verify_password, password, encoded or _dummy_hash())


def validate_username(username: str) -> str:
    username = username.strip()
    if not USERNAME_RE.match(username):
        raise StaffError("a username is 3-64 characters: letters, digits, _ . @ -")
    return username


def validate_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise StaffError(f"a password has at least {MIN_PASSWORD} characters")
    return password


async def create_staff(
    conn: Conn,
    username: str,
    password: str | None,
    role: Role | str,
    *,
    display_name: str | None = None,
    telegram_user_id: int | None = None,
    by: int | None = None,
) -> Staff:
    """A new account; with no password it can only log in through a one-time link."""
    username = validate_username(username)
    role = Role(role)
    password_hash = await hash_password(validate_password(password)) if password is not None else None
    if await q.find_staff_by_username(conn, username) is not None:
        raise StaffError(f"a staff account named {username!r} already exists")
    try:
        row = await q.insert_staff(
            conn,
            username=username,
            role=role,
            password_hash=password_hash,
            display_name=display_name,
            telegram_user_id=telegram_user_id,
        )
    except asyncpg.UniqueViolationError:
        raise StaffError(f"{username!r} or Telegram user {telegram_user_id} already has an account") from None
    staff = row.staff
    await audit(
        conn,
        by,
        "staff.create",
        f"staff:{staff.id}",
        None,
        {"username": staff.username, "role": staff.role, "telegram_user_id": telegram_user_id},
    )
    return staff


async def create_admin(conn: Conn, username: str, password: str | None) -> Staff:
    """`run.py create-admin`: an admin account (password None: log in with a one-time link)."""
    return await create_staff(conn, username, password, Role.ADMIN)


async def get_staff(conn: Conn, staff_id: int) -> Staff | None:
    """An active account, or None (deleted or deactivated accounts lose their sessions)."""
    account = await q.get_staff(conn, staff_id)
    return account.staff if account is not None and account.active else None


async def get_any_staff(conn: Conn, staff_id: int) -> Staff | None:
    """An account whether active or not (the Staff screen shows both)."""
    account = await q.get_staff(conn, staff_id)
    return None if account is None else account.staff


async def has_password(conn: Conn, staff_id: int) -> bool:
    """Whether the account has a password yet (one invited by link has none until they set it)."""
    account = await q.get_staff(conn, staff_id)
    return account is not None and account.password_hash is not None


async def find_staff(conn: Conn, username: str) -> Staff | None:
    account = await q.find_staff_by_username(conn, username)
    return account.staff if account is not None and account.active else None


async def find_any_staff(conn: Conn, username: str) -> Staff | None:
    """An account by name whether active or not (a name stays taken after deactivation)."""
    account = await q.find_staff_by_username(conn, username)
    return None if account is None else account.staff


async def staff_exists(conn: Conn) -> bool:
    """Whether anyone can log in to the panel yet (start-up and the login page tell how, if not)."""
    return await q.staff_exists(conn)


async def moderated_channel_ids(conn: Conn, staff: Staff) -> list[int] | None:
    """The channels this person moderates; None means every channel (admins)."""
    if staff.role is Role.ADMIN:
        return None
    if staff.role is Role.MODERATOR:
        return await q.staff_channel_ids(conn, staff.id)
    return []


async def can_moderate(conn: Conn, staff: Staff, channel_id: int) -> bool:
    allowed = await moderated_channel_ids(conn, staff)
    return allowed is None or channel_id in allowed


async def give_channel(conn: Conn, staff_id: int, channel_id: int, *, by: int | None) -> bool:
    added = await q.add_staff_channel(conn, staff_id, channel_id)
    if added:
        await audit(conn, by, "staff.channel_add", f"staff:{staff_id}", None, {"channel_id": channel_id})
    return added


STAFF_ACTIONS = ("deactivate", "reactivate", "role", "link")


async def change_member(
    conn: Conn, staff_id: int, by: Staff, *, action: str, role: str, base_url: str
) -> str | None:
    """An admin changes an account: deactivate, reactivate, a new role, or a new one-time login
    link (the way back in for someone without a password); returns the link. Audited; refused
    (StaffError with a msgid) when it would leave no active administrator."""
    account = await q.get_staff(conn, staff_id)
    if account is None:
        raise StaffNotFound(N_("No such staff member."))
    before = account.staff
    if action not in STAFF_ACTIONS or (action == "role" and role not in [r.value for r in ROLES]):
        raise StaffError(N_("Choose what to change."))
    losing_admin = (
        before.role == Role.ADMIN
        and account.active
        and (action == "deactivate" or (action == "role" and role != Role.ADMIN))
    )
    if losing_admin and await admin_q.count_active_admins(conn) <= 1:
        raise StaffError(
            N_("This is the last active administrator; make someone else an administrator first.")
        )
    if action == "deactivate" and staff_id == by.id:
        raise StaffError(N_("You cannot deactivate yourself."))
    if action == "link":
        if not account.active:
            raise StaffError(N_("Reactivate this account first."))
        return await issue_login_link(conn, staff_id, base_url, by=by.id)
    snapshot = {"role": before.role.value, "active": account.active}
    if action == "role":
        await admin_q.set_staff_role(conn, staff_id, Role(role))
        await revoke_sessions(conn, staff_id)  # the new role counts at the next login
        after = {**snapshot, "role": role}
    else:
        await admin_q.set_staff_active(conn, staff_id, action == "reactivate")
        if action == "deactivate":
            await revoke_sessions(conn, staff_id)
        after = {**snapshot, "active": action == "reactivate"}
    await audit(conn, by.id, f"staff.{action}", f"staff:{staff_id}", snapshot, after)
    return None


class StaffNotFound(StaffError):
    """No staff account with that id."""


async def take_channel(conn: Conn, staff_id: int, channel_id: int, *, by: int | None) -> bool:
    removed = await q.remove_staff_channel(conn, staff_id, channel_id)
    if removed:
        await audit(conn, by, "staff.channel_remove", f"staff:{staff_id}", {"channel_id": channel_id}, None)
    return removed


async def throttled_for(conn: Conn, username: str, address: str) -> dt.timedelta | None:
    """How long this account or address must still wait, or None when it may try now."""
    seen = await q.recent_failures(conn, username.strip().lower(), address, FAILURE_WINDOW)
    waits = []
    if seen.by_account >= MAX_FAILURES_PER_ACCOUNT and seen.account_oldest is not None:
        waits.append(seen.account_oldest + FAILURE_WINDOW - seen.now)
    if seen.by_address >= MAX_FAILURES_PER_ADDRESS and seen.address_oldest is not None:
        waits.append(seen.address_oldest + FAILURE_WINDOW - seen.now)
    if seen.by_account_anywhere >= MAX_FAILURES_PER_ACCOUNT_ANYWHERE and seen.anywhere_oldest is not None:
        waits.append(seen.anywhere_oldest + FAILURE_WINDOW - seen.now)
    return max(max(waits), dt.timedelta(seconds=1)) if waits else None


async def login(conn: Conn, username: str, password: str, address: str) -> LoginResult:
    """Check a password unless throttled; count a failure, or reset the account's count on success."""
    key = username.strip().lower()[:64]
    # Count and reserve in one locked step: the attempt is recorded as a failure before the
    # (slow) password check and withdrawn on success, so parallel tries cannot all pass.
    async with conn.transaction():
        await q.lock_login(conn, key, address)
        wait = await throttled_for(conn, key, address)
        attempt = None if wait is not None else await q.insert_login_failure(conn, key, address)
    if attempt is None:
        await note_anonymous_failure(conn, "login.throttled", key, address)
        return LoginResult(throttled_for=wait)
    account = await q.find_staff_by_username(conn, key) if USERNAME_RE.match(key) else None
    usable = account is not None and account.active
    good = await check_password(password, account.password_hash if account is not None and usable else None)
    if account is None or not (usable and good):
        if account is None:
            await note_anonymous_failure(conn, "login.failed", key, address)
            return LoginResult()
        await audit(
            conn,
            account.staff.id if account else None,
            "login.failed",
            f"username:{key[:64]}",
            None,
            {"address": address},
        )
        return LoginResult()
    staff = account.staff
    if account.password_hash is not None and crypto.needs_rehash(account.password_hash):
        await q.set_password_hash(conn, staff.id, await hash_password(password))
    await q.delete_login_failure(conn, attempt)
    await q.clear_account_failures(conn, key)
    await q.touch_login(conn, staff.id)
    await audit(conn, staff.id, "login", f"staff:{staff.id}", None, {"address": address})
    return LoginResult(staff=staff)


async def note_anonymous_failure(conn: Conn, action: str, username: str | None, address: str) -> None:
    """A failure that names no account (or a throttled try): counted per hour and address in
    auth_failures, not one audit row each, so anonymous traffic cannot grow the audit log."""
    await q.note_auth_failure(conn, action, username, address)


async def prune_login_failures(conn: Conn) -> int:
    """Forget failures long out of the window (a daily scheduler job); returns how many."""
    return (
        await q.delete_old_failures(conn, FAILURE_WINDOW * 4)
        + await q.delete_old_sessions(conn)
        + await q.delete_old_auth_failures(conn, AUTH_FAILURES_KEPT)
    )


async def issue_login_link(conn: Conn, staff_id: int, base_url: str, *, by: int | None = None) -> str:
    """A one-time login link valid for LINK_TTL; only the token's hash is stored. `by` is the
    admin who asked for it (None: the terminal's create-admin)."""
    token = crypto.new_token()
    await q.end_login_tokens(conn, staff_id)  # only the newest link works
    await q.insert_login_token(conn, crypto.token_hash(token), staff_id, LINK_TTL)
    await audit(conn, by, "login_link.issue", f"staff:{staff_id}", None, None)
    return f"{base_url.rstrip('/')}/panel/login/once/{token}"


async def link_is_valid(conn: Conn, token: str) -> bool:
    return await q.peek_login_token(conn, crypto.token_hash(token)) is not None


async def login_with_link(conn: Conn, token: str, address: str) -> Staff | None:
    """Use a one-time link: the first use logs in, every later one (or an expired link) fails."""
    staff_id = await q.use_login_token(conn, crypto.token_hash(token))
    staff = await get_staff(conn, staff_id) if staff_id is not None else None
    if staff is None:
        await note_anonymous_failure(conn, "login_link.failed", None, address)
        return None
    await q.touch_login(conn, staff.id)
    await audit(
        conn, staff.id, "login", f"staff:{staff.id}", None, {"address": address, "via": "one-time link"}
    )
    return staff


async def logout(conn: Conn, staff: Staff, address: str, session_token: str | None = None) -> None:
    if session_token is not None:
        await q.revoke_session(conn, _session_id(session_token))
    await audit(conn, staff.id, "logout", f"staff:{staff.id}", None, {"address": address})


class PasswordError(UserError):
    """A password change that cannot be made."""


async def change_password(
    conn: Conn, staff: Staff, *, current: str, new: str, repeat: str, session_token: str
) -> None:
    """Set one's own password. The current one is asked for when there is one (someone who came
    in by a one-time link has none yet); every other session of the account ends."""
    account = await q.get_staff(conn, staff.id)
    had = account.password_hash if account is not None else None
    if had is not None and not await check_password(current, had):
        raise PasswordError(N_("The current password is not right."))
    if len(new) < MIN_PASSWORD:
        raise PasswordError(N_("A password has at least {n} characters."), n=MIN_PASSWORD)
    if new != repeat:
        raise PasswordError(N_("The two new passwords differ: type the same one twice."))
    await q.set_password_hash(conn, staff.id, await hash_password(new))
    ended = await q.revoke_other_sessions(conn, staff.id, _session_id(session_token))
    await audit(
        conn,
        staff.id,
        "staff.password",
        f"staff:{staff.id}",
        {"had_password": had is not None},
        {"had_password": True, "other_sessions_ended": ended},
    )


# Server-side sessions: the cookie holds a token, the database whether it still counts ---------


def _session_id(token: str) -> str:
    return crypto.token_hash(token).hex()


async def open_session(conn: Conn, staff: Staff, address: str) -> str:
    """A new session for someone who just proved who they are; returns the cookie's token."""
    token = crypto.new_token()
    await q.insert_session(conn, _session_id(token), staff.id, SESSION_TTL, address)
    return token


async def session_staff(conn: Conn, token: str) -> Staff | None:
    """Who a session token belongs to, while it is live and the account active."""
    return await q.session_staff(conn, _session_id(token))


async def revoke_sessions(conn: Conn, staff_id: int) -> int:
    """End every session of an account (deactivated, role or password changed)."""
    return await q.revoke_staff_sessions(conn, staff_id)


# Secrets at rest ---------------------------------------------------------------------------


def _secret_name(name: str) -> str:
    if not re.fullmatch(r"[a-z][a-z0-9_]{1,63}", name):
        raise StaffError(f"{name!r} is not a valid secret name")
    return name


async def set_secret(conn: Conn, name: str, value: str, by: int | None, *, secret_key: str) -> None:
    """Encrypt and store a secret; the audit log records that it changed, never the value."""
    name = _secret_name(name)
    if not value:
        raise StaffError("a secret cannot be empty")
    replaced = await q.upsert_secret(conn, name, crypto.encrypt_secret(secret_key, value), by)
    await audit(conn, by, "secret.set", f"secret:{name}", {"set": replaced}, {"set": True})


async def forget_secret(conn: Conn, name: str, by: int | None) -> None:
    """Delete a stored secret (audited, like setting one) — e.g. S3 keys when S3 is switched off."""
    name = _secret_name(name)
    if await q.delete_secret(conn, name):
        await audit(conn, by, "secret.delete", f"secret:{name}", {"set": True}, {"set": False})


async def get_secret(conn: Conn, name: str, *, secret_key: str) -> str | None:
    """The decrypted value, for the code that uses it (a bot token, an S3 key) — never for views."""
    ciphertext = await q.get_secret_ciphertext(conn, _secret_name(name))
    return None if ciphertext is None else crypto.decrypt_secret(secret_key, ciphertext)


async def secret_is_set(conn: Conn, name: str) -> bool:
    return await q.get_secret_ciphertext(conn, _secret_name(name)) is not None


async def secrets_status(conn: Conn) -> dict[str, bool]:
    """Every known secret name (and any other stored) → set or not; what the panel shows."""
    stored = set(await q.secret_names(conn))
    return {name: name in stored for name in sorted(set(KNOWN_SECRETS) | stored)}


# Audit ------------------------------------------------------------------------------------


async def audit(
    conn: Conn,
    staff_id: int | None,
    action: str,
    target: str | None,
    before: object,
    after: object,
) -> int:
    """Record who did what to which target, with JSON snapshots before and after."""
    return await q.insert_audit(conn, staff_id, action, target, before, after)
