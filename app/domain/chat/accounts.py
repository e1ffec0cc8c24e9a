"""Web chat accounts (W1): registration, passwords, sessions, signing in through the bot, API tokens.

Web accounts are not staff accounts: they live in their own tables and never open the panel.
Passwords are hashed like the staff's (scrypt, app.crypto); sessions and tokens are random
strings of which the database keeps only a hash, so a leaked table signs nobody in.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from app import crypto
from app.db import Conn
from app.db.queries import chat_accounts as q
from app.db.queries.chat_accounts import ApiToken, ChatAccount, LoginRequest, RequestKind
from app.domain import staff as staff_domain
from app.domain.chat.ports import NOTIFY, ChatEvents
from app.i18n import LANGUAGES, N_, Text, UserError

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.]{3,32}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 1000
SESSION_TTL = dt.timedelta(days=30)
REQUEST_TTL = dt.timedelta(minutes=10)
WEB_LINK_TTL = dt.timedelta(minutes=30)
# Throttling: every attempt is counted before the password is checked (one upsert per key).
ATTEMPTS_PER_ACCOUNT = 5
ATTEMPTS_PER_ADDRESS = 30
ATTEMPT_WINDOW = dt.timedelta(minutes=15)
TOKEN_PREFIX = "bzr_"
SIGNED_OUT = "signed_out"  # a live event: an account's session or token ended; its sockets check again


class AccountError(UserError):
    """Something about an account the person must correct."""


@dataclass(frozen=True, slots=True)
class LoginOutcome:
    account: ChatAccount | None = None
    throttled_for: dt.timedelta | None = None


@dataclass(frozen=True, slots=True)
class Waiting:
    """A sign-in through the bot: the deep link's token and the waiting page's own secret."""

    token: str
    waiter: str


def _key(token: str) -> str:
    return crypto.token_hash(token).hex()


def clean_name(name: str) -> str:
    name = " ".join(name.split())[:64]
    if not name:
        raise AccountError(N_("Tell us your name."))
    return name


async def register(
    conn: Conn, username: str, password: str, repeat: str, display_name: str, language: str | None
) -> ChatAccount:
    """A new account with a username and password (it may link Telegram later)."""
    username = username.strip()
    if not USERNAME_RE.match(username):
        raise AccountError(N_("A username has 3-32 characters: Latin letters, digits, _ and ."))
    if len(password) < MIN_PASSWORD:
        raise AccountError(N_("A password has at least {n} characters."), n=MIN_PASSWORD)
    if len(password) > MAX_PASSWORD:
        raise AccountError(N_("This password is too long."))
    if password != repeat:
        raise AccountError(N_("The two passwords differ: type the same one twice."))
    name = clean_name(display_name or username)
    if await q.username_taken(conn, username):
        raise AccountError(N_("This username is taken. Choose another one."))
    password_hash = await staff_domain.hash_password(password)
    return await q.insert_account(
        conn,
        username=username,
        display_name=name,
        password_hash=password_hash,
        language=language if language in LANGUAGES else None,
    )


async def login(conn: Conn, username: str, password: str, address: str) -> LoginOutcome:
    """Check a password unless this account or address tried too often; each attempt is
    counted atomically first, so parallel guesses cannot slip past the limit."""
    name = username.strip().lower()[:64]
    by_account = await q.count_attempt(conn, f"u:{name}", ATTEMPT_WINDOW)
    by_address = await q.count_attempt(conn, f"a:{address}", ATTEMPT_WINDOW)
    if by_account > ATTEMPTS_PER_ACCOUNT:
        return LoginOutcome(throttled_for=await q.window_left(conn, f"u:{name}", ATTEMPT_WINDOW))
    if by_address > ATTEMPTS_PER_ADDRESS:
        return LoginOutcome(throttled_for=await q.window_left(conn, f"a:{address}", ATTEMPT_WINDOW))
    found = await q.find_credentials(conn, name) if USERNAME_RE.match(name) else None
    good = await staff_domain.check_password(password[:MAX_PASSWORD], found.password_hash if found else None)
    if found is None or not good or found.password_hash is None:
        return LoginOutcome()
    await q.clear_attempts(conn, f"u:{name}")
    return LoginOutcome(account=found.account)


# --- sessions -----------------------------------------------------------------------------------


async def open_session(conn: Conn, account: ChatAccount, address: str) -> str:
    """A new browser session for someone who just proved who they are; the cookie's token."""
    token = crypto.new_token()
    await q.insert_session(conn, _key(token), account.id, SESSION_TTL, address)
    await q.touch_login(conn, account.id)
    return token


async def session_account(conn: Conn, token: str) -> ChatAccount | None:
    return await q.session_account(conn, _key(token))


async def sign_out(conn: Conn, token: str, events: ChatEvents = NOTIFY) -> None:
    account_id = await q.revoke_session(conn, _key(token))
    if account_id is not None:
        await _signed_out(conn, account_id, events)


async def sign_out_everywhere(conn: Conn, account_id: int, events: ChatEvents = NOTIFY) -> int:
    """End every browser session of the account (API tokens are revoked one by one)."""
    ended = await q.revoke_sessions(conn, account_id)
    if ended:
        await _signed_out(conn, account_id, events)
    return ended


async def _signed_out(conn: Conn, account_id: int, events: ChatEvents) -> None:
    """The account's open sockets check what opened them now, not only at their next frame
    (a socket remembers a check for a while: app/web/chat/socket.py)."""
    await events.publish(conn, {"kind": SIGNED_OUT, "to": [account_id]})


async def get_account(conn: Conn, account_id: int) -> ChatAccount | None:
    return await q.get_account(conn, account_id)


async def account_for_telegram(conn: Conn, telegram_user_id: int) -> ChatAccount:
    """The web account of a Telegram user of the bot, made on first need."""
    account = await q.account_for_telegram(conn, telegram_user_id)
    if account is None:
        account = await q.find_telegram_account(conn, telegram_user_id)  # made in parallel
    if account is None:
        raise AccountError(N_("Start the bot first."))
    return account


async def telegram_account(conn: Conn, telegram_user_id: int) -> ChatAccount | None:
    """The account linked to this Telegram user, if there is one (nothing is made)."""
    return await q.find_telegram_account(conn, telegram_user_id)


async def set_language(conn: Conn, account_id: int, language: str) -> None:
    if language not in LANGUAGES:
        raise AccountError(N_("Choose one of the languages offered."))
    await q.set_language(conn, account_id, language)


# --- signing in through the bot -------------------------------------------------------------------


async def start_telegram_login(
    conn: Conn, *, account_id: int | None = None, next_path: str = "/chat"
) -> Waiting:
    """A one-time deep link into the bot (`?start=login_<token>`) and the waiting page's secret.
    With `account_id` it links Telegram to that (signed-in) account instead of signing in."""
    waiting = Waiting(crypto.new_token(), crypto.new_token())
    await q.insert_request(
        conn,
        token_hash=crypto.token_hash(waiting.token),
        kind=RequestKind.LINK if account_id is not None else RequestKind.LOGIN,
        waiter_hash=crypto.token_hash(waiting.waiter),
        account_id=account_id,
        telegram_user_id=None,
        next_path=next_path,
        lifetime=REQUEST_TTL,
    )
    return waiting


async def confirm_from_bot(conn: Conn, token: str, telegram_user_id: int) -> Text:
    """Someone pressed Start on a sign-in deep link: what the bot tells them."""
    request = await q.confirm_request(conn, crypto.token_hash(token), telegram_user_id)
    if request is None:
        return Text(N_("This sign-in link has expired or was already used. Open the sign-in page again."))
    if request.kind is RequestKind.LINK:
        assert request.account_id is not None  # link requests are made for an account
        if not await q.link_telegram(conn, request.account_id, telegram_user_id):
            return Text(N_("This Telegram or this web account is already linked to another one."))
        return Text(N_("Your Telegram is now linked to your web account."))
    await account_for_telegram(conn, telegram_user_id)
    return Text(N_("You are signed in on the web. Go back to the page: it opens by itself."))


async def finish_telegram_login(conn: Conn, token: str, waiter: str) -> LoginRequest | None:
    """The waiting page asks whether the bot confirmed; the confirmed request, used once, or None."""
    return await q.use_request(conn, crypto.token_hash(token), crypto.token_hash(waiter))


async def request_state(conn: Conn, token: str) -> LoginRequest | None:
    return await q.peek_request(conn, crypto.token_hash(token))


async def web_link(conn: Conn, telegram_user_id: int, next_path: str) -> str:
    """The bot's "Open the web chat": a one-time token that signs this Telegram user in."""
    account = await account_for_telegram(conn, telegram_user_id)
    token = crypto.new_token()
    await q.insert_request(
        conn,
        token_hash=crypto.token_hash(token),
        kind=RequestKind.WEB,
        waiter_hash=None,
        account_id=account.id,
        telegram_user_id=telegram_user_id,
        next_path=next_path,
        lifetime=WEB_LINK_TTL,
    )
    return token


async def use_web_link(conn: Conn, token: str) -> tuple[ChatAccount, str] | None:
    """Open a one-time link from the bot: its account and where to go, once."""
    request = await q.use_request(conn, crypto.token_hash(token), None)
    if request is None or request.kind is not RequestKind.WEB or request.account_id is None:
        return None
    account = await q.get_account(conn, request.account_id)
    return None if account is None else (account, request.next_path)


async def account_of_request(conn: Conn, request: LoginRequest) -> ChatAccount | None:
    """Who a used sign-in request signs in (a link request: nobody new)."""
    if request.kind is RequestKind.LOGIN and request.telegram_user_id is not None:
        return await account_for_telegram(conn, request.telegram_user_id)
    return None


async def prune(conn: Conn) -> int:
    """Forget used sign-in requests, sessions ended a week ago and old throttling windows (a
    daily job); how many rows went."""
    week = dt.timedelta(days=7)
    return (
        await q.delete_old_requests(conn, dt.timedelta(days=1))
        + await q.delete_old_sessions(conn, week)
        + await q.delete_old_attempts(conn, ATTEMPT_WINDOW * 4)
    )


# --- API tokens --------------------------------------------------------------------------------


async def create_api_token(conn: Conn, account_id: int, name: str) -> tuple[ApiToken, str]:
    """A new personal token; its text is returned now and never again (only its hash is kept)."""
    name = " ".join(name.split())[:64]
    if not name:
        raise AccountError(N_("Name the token (e.g. the program that will use it)."))
    secret = TOKEN_PREFIX + crypto.new_token()
    return await q.insert_api_token(conn, account_id, name, crypto.token_hash(secret)), secret


async def api_tokens(conn: Conn, account_id: int) -> list[ApiToken]:
    return await q.api_tokens(conn, account_id)


async def revoke_api_token(conn: Conn, account_id: int, token_id: int, events: ChatEvents = NOTIFY) -> bool:
    revoked = await q.revoke_api_token(conn, account_id, token_id)
    if revoked:
        await _signed_out(conn, account_id, events)
    return revoked


async def token_account(conn: Conn, secret: str) -> ChatAccount | None:
    """The account behind a bearer token, while it is not revoked."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    return await q.token_account(conn, crypto.token_hash(secret))
