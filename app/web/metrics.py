"""/metrics in Prometheus's text format: only from this machine, or with METRICS_TOKEN.

Behind our nginx every peer is loopback, so the address that counts is client_address's (the
last X-Forwarded-For entry nginx appended); nginx also refuses /metrics from outside."""

from __future__ import annotations

import hmac

from aiohttp import web
from prometheus_client import REGISTRY, generate_latest

from app import metrics
from app.db.queries import outbox as outbox_q
from app.web import keys
from app.web.panel.auth.sessions import LOOPBACK, client_address

routes = web.RouteTableDef()


def allowed(request: web.Request) -> bool:
    token = request.app[keys.CONFIG].metrics_token
    given = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return True
    return client_address(request) in LOOPBACK


@routes.get("/metrics", name="metrics")
async def metrics_view(request: web.Request) -> web.Response:
    if not allowed(request):
        raise web.HTTPForbidden(text="/metrics answers this machine, or a bearer token (METRICS_TOKEN).")
    pool = request.app.get(keys.POOL)
    if pool is not None:
        async with pool.acquire() as conn:
            depth = await outbox_q.queue_depth(conn)
        metrics.OUTBOX_DEPTH.clear()
        for kind, priority, count in depth:
            metrics.OUTBOX_DEPTH.labels(kind, str(priority)).set(count)
        size, idle = pool.get_size(), pool.get_idle_size()
        metrics.POOL.labels("in_use").set(size - idle)
        metrics.POOL.labels("idle").set(idle)
        metrics.POOL.labels("max").set(pool.get_max_size())
    metrics.WEBSOCKETS.set(len(request.app.get(keys.WEBSOCKETS, ())))
    body = generate_latest(REGISTRY)
    return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})
