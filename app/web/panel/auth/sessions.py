"""Staff sessions: the encrypted cookie, the database session it names, the client's address."""

from __future__ import annotations

import aiohttp_session
from aiohttp import web
from aiohttp_session.cookie_storage import EncryptedCookieStorage

from app import crypto
from app.config import Config
from app.domain import staff as staff_domain
from app.domain.staff import Staff
from app.web import keys

SESSION_COOKIE = "bozor_session"
STAFF = web.RequestKey("panel_staff", Staff)
LOOPBACK = frozenset({"127.0.0.1", "::1"})


def session_storage(config: Config) -> EncryptedCookieStorage:
    """An encrypted (Fernet, key from SECRET_KEY by HKDF) HttpOnly SameSite=Lax cookie."""
    secure = bool(config.public_url and config.public_url.lower().startswith("https"))
    return EncryptedCookieStorage(
        crypto.session_fernet(config.secret_key),
        cookie_name=SESSION_COOKIE,
        httponly=True,
        samesite="Lax",
        secure=secure,
        path="/",
    )


async def current_staff(request: web.Request) -> Staff | None:
    """The logged-in, still active staff member of this request, or None."""
    if STAFF in request:
        return request[STAFF]
    session = await aiohttp_session.get_session(request)
    token = session.get("sid")
    if not isinstance(token, str):
        return None
    async with request.app[keys.POOL].acquire() as conn:
        staff = await staff_domain.session_staff(conn, token)
    if staff is not None:
        request[STAFF] = staff
    return staff


async def start_session(request: web.Request, staff: Staff) -> None:
    """A fresh session (new CSRF token) for someone who just proved who they are; the database
    keeps it, so logout ends it for good (a copied cookie stops working too)."""
    async with request.app[keys.POOL].acquire() as conn:
        token = await staff_domain.open_session(conn, staff, client_address(request))
    session = await aiohttp_session.new_session(request)
    session["sid"] = token
    session["csrf"] = crypto.new_token()
    request[STAFF] = staff


def client_address(request: web.Request) -> str:
    """The client's address: the peer's, or behind our nginx on this host (a loopback peer) the
    last X-Forwarded-For entry, which nginx itself appended ($proxy_add_x_forwarded_for)."""
    peer = request.remote or "unknown"
    forwarded = request.headers.get("X-Forwarded-For")
    if peer in LOOPBACK and forwarded:
        last = forwarded.rsplit(",", 1)[-1].strip()
        if last:
            return last[:64]
    return peer
