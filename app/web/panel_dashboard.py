"""The panel's home: the dashboard every staff member lands on."""

from __future__ import annotations

from aiohttp import web

from app.web.auth import REGISTRY, render, require


@REGISTRY.get("/panel", name="panel.home")
@require()
async def home(request: web.Request) -> web.StreamResponse:
    return await render(request, "panel/home.html")
