"""The sandbox's browser client: a Telegram-like page to play users, and its WebSocket.

`add_routes(app)` adds to the sandbox app (mounted at /sandbox or standalone at /):

- ``GET /``              the page (templates/sandbox/client.html); every URL in it is built
                         from the sub-app's own root, so it works under any mount point
                         (``GET /sandbox`` without the slash redirects there)
- ``GET /static/...``    its CSS and JS (app/sandbox/static/)
- ``GET /client/users``  the personas (the user API has no list of users)
- ``GET /ws?user_id=&bot_id=``  the live chat: a full view on connect, then the changed
                         messages after each change of the dialog

Everything else the page does goes through the JSON user API under /api/.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import weakref
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import WSCloseCode, WSMsgType, web

from .keys import WORLD_KEY
from .world import UserActionError, World

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
STATIC_DIR = Path(__file__).resolve().parent / "static"
TEMPLATES_DIR = ROOT / "templates"

PAGE_ROUTE = "sandbox_client"
STATIC_ROUTE = "sandbox_client_static"
WAIT_SECONDS = 25.0  # one dialog.wait() per turn; a quiet turn just waits again
HEARTBEAT_SECONDS = 30.0  # ping frames find sockets whose browser vanished without a close

CLIENT_JINJA = web.AppKey("sandbox_client_jinja", jinja2.Environment)
CLIENT_SOCKETS = web.AppKey("sandbox_client_sockets", weakref.WeakSet)


def add_routes(app: web.Application) -> None:
    """Register the page, its static files and the WebSocket on the sandbox app."""
    aiohttp_jinja2.setup(
        app, app_key=CLIENT_JINJA, loader=jinja2.FileSystemLoader(TEMPLATES_DIR), autoescape=True
    )
    app[CLIENT_SOCKETS] = weakref.WeakSet()
    app.router.add_get("/", page, name=PAGE_ROUTE)
    app.router.add_get("", to_page)  # "/sandbox" when mounted; never matches when standalone
    app.router.add_static("/static", STATIC_DIR, name=STATIC_ROUTE)
    app.router.add_get("/client/users", list_users)
    app.router.add_get("/ws", chat_socket)
    app.on_shutdown.append(close_sockets)


def _json(data: Any, status: int = 200) -> web.Response:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    return web.Response(status=status, body=body, content_type="application/json")


async def page(request: web.Request) -> web.Response:
    """The single page; the JS builds the rest from the user API."""
    router = request.app.router
    base = str(router[PAGE_ROUTE].url_for())  # "/sandbox/" when mounted, "/" alone
    static = router[STATIC_ROUTE]
    response = aiohttp_jinja2.render_template(
        "sandbox/client.html",
        request,
        {
            "base": base,
            "css": static.url_for(filename="client.css", append_version=True),
            "js": static.url_for(filename="client.js", append_version=True),
        },
        app_key=CLIENT_JINJA,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


async def to_page(request: web.Request) -> web.Response:
    """The mount point without its slash: relative URLs need the slash, so add it."""
    raise web.HTTPFound(request.app.router[PAGE_ROUTE].url_for())


async def list_users(request: web.Request) -> web.Response:
    """Every user of the world, oldest first, for the persona list."""
    world: World = request.app[WORLD_KEY]
    return _json([user.as_dict() for user in world.users.values()])


def _int(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    return int(value)


async def chat_socket(request: web.Request) -> web.WebSocketResponse:
    """Push one persona's chat with one bot: {"type": "chat"} once, then {"type": "changes"}.

    The socket's own task reads (so close frames and pings are handled); a second task per
    socket waits on the dialog and pushes. Either ending ends the other.
    """
    world: World = request.app[WORLD_KEY]
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT_SECONDS)
    await ws.prepare(request)
    try:
        user_id = _int(request.query.get("user_id"))
        bot_id = _int(request.query.get("bot_id"))
        if user_id is None:
            raise UserActionError(400, "user_id is required")
        world.get_user(user_id)
        dialog = world.dialog(bot_id, user_id)
    except (UserActionError, ValueError) as e:
        message = e.message if isinstance(e, UserActionError) else "user_id and bot_id must be integers"
        await ws.send_json({"type": "error", "error": message})
        await ws.close(code=WSCloseCode.POLICY_VIOLATION)
        return ws

    sockets = request.app[CLIENT_SOCKETS]
    sockets.add(ws)
    pusher = asyncio.create_task(_push(ws, world, dialog.bot.id, user_id))
    try:
        async for msg in ws:  # the browser sends nothing we need; this notices the close
            if msg.type == WSMsgType.ERROR:
                break
    finally:
        pusher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pusher
        sockets.discard(ws)
        if not ws.closed:
            await ws.close()
    return ws


async def _push(ws: web.WebSocketResponse, world: World, bot_id: int, user_id: int) -> None:
    """Send the chat, then after every change the messages whose `event` is newer."""
    try:
        view = world.chat_view(bot_id, user_id)
        await ws.send_json({"type": "chat", **view})
        after = view["event"]
        answers_seen = len(view["callback_answers"])
        dialog = world.dialog(bot_id, user_id)
        while not ws.closed and not world.closing:
            await dialog.wait(after, WAIT_SECONDS)
            if world.closing or ws.closed:
                break
            if dialog.event <= after:
                continue  # a quiet turn
            view = world.chat_view(bot_id, user_id)
            answers = view["callback_answers"]
            await ws.send_json(
                {
                    "type": "changes",
                    "event": view["event"],
                    "bot_id": view["bot_id"],
                    "blocked": view["blocked"],
                    "reply_keyboard": view["reply_keyboard"],
                    "hidden_reply_keyboard": view["hidden_reply_keyboard"],
                    "chat_action": view["chat_action"],
                    "messages": [m for m in view["messages"] if m.get("event", 0) > after],
                    "callback_answers": answers[answers_seen:],
                }
            )
            after = view["event"]
            answers_seen = len(answers)
    except (ConnectionError, RuntimeError):
        pass  # the browser went away mid-send; the reader sees the close
    except Exception:
        log.exception("sandbox client socket for user %s failed", user_id)
    finally:
        if not ws.closed:
            with contextlib.suppress(Exception):
                await ws.close(code=WSCloseCode.GOING_AWAY if world.closing else WSCloseCode.OK)


async def close_sockets(app: web.Application) -> None:
    """On shutdown close every open socket, so browsers reconnect instead of hanging."""
    for ws in list(app[CLIENT_SOCKETS]):
        with contextlib.suppress(Exception):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")
