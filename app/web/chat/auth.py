"""Who is on the web chat: the session cookie, CSRF, the language, the guard, and page rendering.

The cookie holds a random session token (HttpOnly, SameSite=Lax, Secure behind https); the
database says whether it still counts. CSRF tokens are an HMAC of the session token (or, before
signing in, of a random pre-session cookie), so no state is kept for them.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Awaitable, Callable, MutableMapping
from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web
from aiohttp.typedefs import Handler

from app import crypto
from app.db.queries.chat_accounts import ChatAccount
from app.domain.chat import accounts
from app.i18n import LANGUAGES, Gettext
from app.web import keys
from app.web.forms import read_upload
from app.web.panel.auth.language import LANGUAGE_NAMES, PANEL_TRANSLATOR
from app.web.panel.auth.language import language as browser_language
from app.web.panel.auth.sessions import client_address

CHAT_PREFIX = "/chat"
SESSION_COOKIE = "bozor_chat"
PRE_COOKIE = "bozor_chat_pre"  # before signing in: what the login forms' CSRF tokens are bound to
WAIT_COOKIE = "bozor_chat_wait"  # the page waiting for the bot: its private half of the request
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ACCOUNT = web.RequestKey("chat_account", ChatAccount)
CSRF_INFO = b"bozor/chat-csrf/v1"

View = Callable[[web.Request], Awaitable[web.StreamResponse]]


def set_cookie(
    request: web.Request, response: web.StreamResponse, name: str, value: str, seconds: float
) -> None:
    """An HttpOnly, SameSite=Lax cookie for the whole site; Secure behind an https PUBLIC_URL."""
    public = request.app[keys.CONFIG].public_url or ""
    secure = public.lower().startswith("https")
    response.set_cookie(
        name, value, max_age=int(seconds), httponly=True, samesite="Lax", secure=secure, path="/"
    )


def session_token(request: web.Request) -> str | None:
    token = request.cookies.get(SESSION_COOKIE)
    return token if token and len(token) < 100 else None


async def current_account(request: web.Request) -> ChatAccount | None:
    """The signed-in account of this request (a live, unrevoked session), or None."""
    if ACCOUNT in request:
        return request[ACCOUNT]
    token = session_token(request)
    if token is None:
        return None
    async with request.app[keys.POOL].acquire() as conn:
        account = await accounts.session_account(conn, token)
    if account is not None:
        request[ACCOUNT] = account
    return account


async def start_session(request: web.Request, response: web.StreamResponse, account: ChatAccount) -> None:
    async with request.app[keys.POOL].acquire() as conn:
        token = await accounts.open_session(conn, account, client_address(request))
    set_cookie(request, response, SESSION_COOKIE, token, accounts.SESSION_TTL.total_seconds())
    response.del_cookie(PRE_COOKIE, path="/")


def _csrf_for(request: web.Request, seed: str) -> str:
    key = crypto.derive_key(request.app[keys.CONFIG].secret_key, CSRF_INFO)
    return hmac.new(key, seed.encode(), hashlib.sha256).hexdigest()[:40]


def csrf_token(request: web.Request) -> str:
    """The token this visitor's forms carry; a new pre-session seed is set by the guard."""
    seed = session_token(request) or request.cookies.get(PRE_COOKIE) or request.get("chat_pre_seed")
    if not isinstance(seed, str):
        seed = request["chat_pre_seed"] = crypto.new_token()
    return _csrf_for(request, seed)


async def csrf_ok(request: web.Request) -> bool:
    seed = session_token(request) or request.cookies.get(PRE_COOKIE)
    if not seed:
        return False
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await read_upload(request)
        value = form.get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    return isinstance(given, str) and hmac.compare_digest(given.encode(), _csrf_for(request, seed).encode())


def language(request: web.Request) -> str:
    """The account's language, else the one chosen in the footer, else the browser's."""
    account = request.get(ACCOUNT)
    if account is not None and account.language in LANGUAGES:
        return account.language
    return browser_language(request)


def gettext(request: web.Request) -> Gettext:
    return request.app[PANEL_TRANSLATOR](language(request))


def safe_next(value: str | None) -> str:
    """Only a path of the web chat: never another site."""
    if value and value.startswith(CHAT_PREFIX) and not value.startswith("//") and "\\" not in value:
        return value[:500]
    return CHAT_PREFIX


def signed_in(view: View) -> View:
    """A page for signed-in accounts; others go to the sign-in page (page scripts get 401)."""

    @functools.wraps(view)
    async def guarded(request: web.Request) -> web.StreamResponse:
        if await current_account(request) is None:
            if request.headers.get("Accept", "").startswith("application/json"):
                raise web.HTTPUnauthorized(
                    text='{"error": {"code": "unauthorized", "message": "Sign in."}}',
                    content_type="application/json",
                )
            query = "?" + urlencode({"next": request.path_qs}) if request.method == "GET" else ""
            raise web.HTTPFound(f"{CHAT_PREFIX}/login{query}")
        return await view(request)

    return guarded


async def render(
    request: web.Request, template: str, context: dict | None = None, *, status: int = 200
) -> web.Response:
    """A web chat page with `_`, `lang`, `csrf_token`, `account` and the language switch."""
    values = {
        "_": gettext(request),
        "lang": language(request),
        "csrf_token": csrf_token(request),
        "account": request.get(ACCOUNT),
        "languages": LANGUAGE_NAMES,
    }
    values.update(context or {})
    return aiohttp_jinja2.render_template(template, request, values, status=status)


@web.middleware
async def chat_guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """For /chat: CSRF on every change made with the cookie, a pre-session seed for the login
    forms, and the security headers on every answer."""
    if request.path != CHAT_PREFIX and not request.path.startswith(CHAT_PREFIX + "/"):
        return await handler(request)
    if request.method in UNSAFE and not await csrf_ok(request):
        _ = gettext(request)
        message = _("This form has expired. Reload the page and try again.")
        if request.headers.get(CSRF_HEADER) is not None or "json" in request.headers.get("Accept", ""):
            response: web.StreamResponse = web.json_response(
                {"error": {"code": "csrf", "message": message}}, status=403
            )
        else:
            response = await render(
                request, "chat/error.html", {"message": message, "status": 403}, status=403
            )
        _secure(response.headers)
        return response
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        _secure(exc.headers)
        _keep_seed(request, exc)
        raise
    _secure(response.headers)
    _keep_seed(request, response)
    return response


def _keep_seed(request: web.Request, response: web.StreamResponse) -> None:
    seed = request.get("chat_pre_seed")
    if isinstance(seed, str) and not response.prepared:
        set_cookie(request, response, PRE_COOKIE, seed, 86400)


def _secure(headers: MutableMapping[str, str]) -> None:
    headers.setdefault("Cache-Control", "no-store")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data: blob: https:; connect-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'",
    )
