"""The web chat's start page: the signed-in account's conversations."""

from __future__ import annotations

from aiohttp import web

from app.web.chat.auth import CHAT_PREFIX, render, signed_in

routes = web.RouteTableDef()


@routes.get(CHAT_PREFIX, name="chat.home")
@signed_in
async def home(request: web.Request) -> web.StreamResponse:
    return await render(request, "chat/home.html", {"conversations": []})
