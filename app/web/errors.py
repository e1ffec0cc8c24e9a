"""Friendly error pages: HTML for people, JSON for API clients; never a bare stack trace."""

from __future__ import annotations

import logging

import aiohttp_jinja2
from aiohttp import web
from aiohttp.typedefs import Handler

from app.web.keys import REQUEST_GETTEXT

log = logging.getLogger(__name__)

TITLES = {
    400: "Bad request",
    401: "Please log in",
    403: "Not allowed",
    404: "Page not found",
    405: "Not allowed",
    413: "Too large",
    429: "Too many requests",
    500: "Something went wrong",
    503: "Temporarily unavailable",
}


def wants_json(request: web.Request) -> bool:
    accept = request.headers.get("Accept", "")
    return request.path.startswith(("/api/", "/healthz")) or (
        "application/json" in accept and "text/html" not in accept
    )


def error_response(request: web.Request, status: int, detail: str | None = None) -> web.Response:
    title = TITLES.get(status, "Error")
    translate = request.app.get(REQUEST_GETTEXT)
    if detail and translate is not None:
        detail = translate(request)(detail)  # an msgid (app.web.forms) or already translated
    if wants_json(request):
        return web.json_response({"error": detail or title, "status": status}, status=status)
    response = aiohttp_jinja2.render_template(
        "errors/error.html",
        request,
        {"status": status, "title": title, "detail": detail},
        status=status,
    )
    return response


@web.middleware
async def error_pages(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400 or exc.empty_body or exc.content_type == "application/json":
            raise
        return error_response(request, exc.status, exc.text if exc.text != exc.reason else None)
    except Exception:
        log.exception("unhandled error in %s %s", request.method, request.path)
        return error_response(request, 500)
