"""Public views: the landing page, /healthz and media from Storage."""

from __future__ import annotations

import asyncio

from aiohttp import web

from app.db.pool import ping
from app.domain import media as media_domain
from app.storage import InvalidKey, NotFound
from app.web.keys import CONFIG, POOL, STORAGE
from app.web.panel.auth.pages import render
from app.web.panel.auth.sessions import current_staff

routes = web.RouteTableDef()
HEALTH_TIMEOUT = 2.0


@routes.get("/", name="index")
async def index(request: web.Request) -> web.Response:
    """A small start page in the visitor's language (the panel's choice): sandbox and panel."""
    return await render(request, "index.html", {"sandbox": request.app[CONFIG].sandbox})


@routes.get("/healthz", name="healthz")
async def healthz(request: web.Request) -> web.Response:
    """200 only when the database answers, so a load balancer takes us out when it does not."""
    config = request.app[CONFIG]
    body = {"mode": "sandbox" if config.sandbox else "telegram"}
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT):
            await ping(request.app[POOL])
    except Exception as exc:
        return web.json_response(
            {"status": "unavailable", "database": f"error: {type(exc).__name__}", **body}, status=503
        )
    return web.json_response({"status": "ok", "database": "ok", **body})


@routes.get("/media/{key:.+}", name="media")
async def media(request: web.Request) -> web.Response:
    """A stored file: public when a published ad shows it; otherwise only for the staff its kind
    concerns (app/domain/media.py). Everyone else gets the same 404 as for a missing key, so a
    file's existence is not revealed."""
    key = request.match_info["key"]
    async with request.app[POOL].acquire() as conn:
        seen = await media_domain.access(conn, await current_staff(request), key)
    if not seen.allowed:
        raise web.HTTPNotFound()
    try:
        stored = await request.app[STORAGE].get(key)
    except (NotFound, InvalidKey):
        raise web.HTTPNotFound() from None
    cache = "public, max-age=3600" if seen.public else "private, no-store"
    return web.Response(body=stored.data, content_type=stored.content_type, headers={"Cache-Control": cache})
