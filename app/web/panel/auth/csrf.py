"""CSRF: one token per session, required on every state-changing panel request."""

from __future__ import annotations

import hmac

import aiohttp_session
from aiohttp import web

from app import crypto
from app.web.forms import read_upload

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


async def csrf_token(request: web.Request) -> str:
    """This session's CSRF token, made on first use (the login form needs one too)."""
    session = await aiohttp_session.get_session(request)
    token = session.get("csrf")
    if not isinstance(token, str):
        token = session["csrf"] = crypto.new_token()
    return token


async def csrf_ok(request: web.Request) -> bool:
    """The request carries this session's token, in the X-CSRF-Token header or the form."""
    session = await aiohttp_session.get_session(request)
    expected = session.get("csrf")
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await read_upload(request)  # a form with a file carries the token too
        value = form.get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    return (
        isinstance(expected, str)
        and isinstance(given, str)
        and hmac.compare_digest(expected.encode(), given.encode())
    )
