"""The user side of the sandbox: plain JSON over HTTP under /api/ to play Telegram users."""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .keys import WORLD_KEY
from .world import UserActionError, World

MAX_CHAT_WAIT = 30.0

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/bots", list_bots)
    r.add_post("/api/bots", add_bot)
    r.add_post("/api/users", upsert_user)
    r.add_get("/api/users/{user_id}", get_user)
    r.add_post("/api/users/{user_id}/send", send)
    r.add_post("/api/users/{user_id}/press", press)
    r.add_get("/api/users/{user_id}/chat", chat)
    r.add_post("/api/users/{user_id}/block", block)
    r.add_post("/api/users/{user_id}/unblock", unblock)


def _json(data: Any, status: int = 200) -> web.Response:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    return web.Response(status=status, body=body, content_type="application/json")


def user_api(handler: Handler) -> Handler:
    """Turn every failure into {"error": ...} with 400/404, never a 500."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except UserActionError as e:
            return _json({"error": e.message}, e.status)
        except (ValueError, TypeError, KeyError) as e:
            return _json({"error": f"bad request: {e}"}, 400)

    return wrapped


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.body_exists:
        return {}
    try:
        body = json.loads(await request.read() or b"{}")
    except ValueError:
        raise UserActionError(400, "the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise UserActionError(400, "the body must be a JSON object")
    return body


def _int(value: Any, name: str, *, optional: bool = False) -> int | None:
    if value is None or value == "":
        if optional:
            return None
        raise UserActionError(400, f"{name} is required")
    if isinstance(value, bool):
        raise UserActionError(400, f"{name} must be an integer")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise UserActionError(400, f"{name} must be an integer") from None


def _str(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise UserActionError(400, f"{name} must be a string")
    return value


def _world(request: web.Request) -> World:
    return request.app[WORLD_KEY]


def _user_id(request: web.Request) -> int:
    user_id = _int(request.match_info["user_id"], "user_id")
    assert user_id is not None
    _world(request).get_user(user_id)  # 404 for an unknown user
    return user_id


@user_api
async def list_bots(request: web.Request) -> web.Response:
    bots = _world(request).bots.values()
    return _json([{"id": b.id, "username": b.username, "first_name": b.first_name} for b in bots])


@user_api
async def add_bot(request: web.Request) -> web.Response:
    """Register a bot ahead of its first Bot API call: {token, username?, first_name?}."""
    body = await _body(request)
    token = _str(body, "token")
    if not token:
        raise UserActionError(400, "token is required")
    bot = _world(request).add_bot(token, username=_str(body, "username"), first_name=_str(body, "first_name"))
    return _json({"id": bot.id, "username": bot.username, "first_name": bot.first_name})


@user_api
async def upsert_user(request: web.Request) -> web.Response:
    body = await _body(request)
    user = _world(request).add_user(
        _str(body, "first_name"),
        id=_int(body.get("id"), "id", optional=True),
        last_name=_str(body, "last_name"),
        username=_str(body, "username"),
        language_code=_str(body, "language_code"),
    )
    return _json(user.as_dict())


@user_api
async def get_user(request: web.Request) -> web.Response:
    return _json(_world(request).get_user(_user_id(request)).as_dict())


@user_api
async def send(request: web.Request) -> web.Response:
    world, user_id, body = _world(request), _user_id(request), await _body(request)
    bot_id = _int(body.get("bot_id"), "bot_id", optional=True)
    text = _str(body, "text")
    if not text:
        raise UserActionError(400, "text is required")
    msg = world.user_sends_text(bot_id, user_id, text)
    return _json(world.dialog(bot_id, user_id).view(msg["message_id"]))


@user_api
async def press(request: web.Request) -> web.Response:
    world, user_id, body = _world(request), _user_id(request), await _body(request)
    bot_id = _int(body.get("bot_id"), "bot_id", optional=True)
    result = world.user_presses(
        bot_id,
        user_id,
        message_id=_int(body.get("message_id"), "message_id", optional=True),
        button_text=_str(body, "button_text"),
        callback_data=_str(body, "callback_data"),
    )
    if "message" in result:  # a reply-keyboard button became a text message
        result["message"] = world.dialog(bot_id, user_id).view(result["message"]["message_id"])
    return _json(result)


@user_api
async def chat(request: web.Request) -> web.Response:
    """The chat; with after_event and wait, long-polls until something newer happens."""
    world, user_id = _world(request), _user_id(request)
    q = request.query
    bot_id = _int(q.get("bot_id"), "bot_id", optional=True)
    dialog = world.dialog(bot_id, user_id)
    after = _int(q.get("after_event"), "after_event", optional=True)
    wait = float(q.get("wait") or 0)
    if after is not None and wait > 0:
        await dialog.wait(after, min(wait, MAX_CHAT_WAIT))
    return _json(world.chat_view(dialog.bot.id, user_id))


@user_api
async def block(request: web.Request) -> web.Response:
    return await _set_blocked(request, True)


@user_api
async def unblock(request: web.Request) -> web.Response:
    return await _set_blocked(request, False)


async def _set_blocked(request: web.Request, blocked: bool) -> web.Response:
    world, user_id, body = _world(request), _user_id(request), await _body(request)
    bot_id = _int(body.get("bot_id"), "bot_id", optional=True)
    if blocked:
        changed = world.user_blocks(bot_id, user_id)
    else:
        changed = world.user_unblocks(bot_id, user_id)
    return _json({"blocked": blocked, "changed": changed})
