"""The panel's guard (a middleware): undeclared routes, CSRF, refusal pages and security headers.

It refuses any /panel route that did not declare its access (the declared rule itself is checked
by `require`) and any state-changing request without the session's CSRF token; a view's 4xx
becomes a panel page in the visitor's language; every panel answer gets the security headers.
"""

from __future__ import annotations

from collections.abc import MutableMapping

from aiohttp import web
from aiohttp.typedefs import Handler

from app.web.errors import error_response
from app.web.panel.auth.access import access_of
from app.web.panel.auth.csrf import UNSAFE_METHODS, csrf_ok
from app.web.panel.auth.language import gettext
from app.web.panel.auth.pages import PANEL_PREFIX, came_from, refusal
from app.web.panel.auth.sessions import current_staff


@web.middleware
async def panel_guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path != PANEL_PREFIX and not request.path.startswith(PANEL_PREFIX + "/"):
        return await handler(request)
    try:
        response = await _guarded(request, handler)
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type == "application/json":
            _secure(exc.headers)
            raise
        response = await _refused(request, exc)
    _secure(response.headers)
    return response


async def _guarded(request: web.Request, handler: Handler) -> web.StreamResponse:
    _ = gettext(request)
    match = request.match_info
    if match.http_exception is None and access_of(match.handler) is None:
        return error_response(request, 403, _("This page has no access rule."))
    if request.method in UNSAFE_METHODS and await _needs_login(request):
        return await handler(request)  # the view's guard sends them to log in: no body is read
    if request.method in UNSAFE_METHODS and not await csrf_ok(request):
        await current_staff(request)  # the refusal page shows the staff member's menu
        return await refusal(
            request,
            403,
            _("This form has expired. Reload the page and try again."),
            back=came_from(request),
            back_label=_("Reload the page"),
        )
    return await handler(request)


async def _needs_login(request: web.Request) -> bool:
    """A staff-only view and nobody logged in: its body is not worth reading, even for CSRF."""
    access = access_of(request.match_info.handler)
    return access is not None and not access.public and await current_staff(request) is None


async def _refused(request: web.Request, exc: web.HTTPException) -> web.Response:
    """A view's 4xx as a panel page in the visitor's language; aiohttp's stock texts (an
    unknown path, a wrong method) are replaced by ours."""
    _ = gettext(request)
    message = exc.text or ""
    if message in ("", exc.reason, f"{exc.status}: {exc.reason}"):
        message = (
            _("This page does not exist.") if exc.status == 404 else _("This request cannot be handled.")
        )
    else:
        message = _(message)  # an msgid (app.web.forms), or a text the view already translated
    await current_staff(request)  # the menu, for staff
    return await refusal(request, exc.status, message)


def _secure(headers: MutableMapping[str, str]) -> None:
    """Every panel answer, a refusal too: never cached, never framed, no foreign script."""
    headers.setdefault("Cache-Control", "no-store")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src * data:; frame-ancestors 'none'; form-action 'self'",
    )
