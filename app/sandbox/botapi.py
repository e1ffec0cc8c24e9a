"""aiohttp handlers for the Bot API: /bot{token}/{method} and /file/bot{token}/{path}."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from .keys import WORLD_KEY
from .methods import call_method
from .world import TelegramError

_FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def add_routes(app: web.Application) -> None:
    app.router.add_route("*", r"/bot{token}/{method:[^/]*}", handle_method)
    app.router.add_get(r"/file/bot{token}/{path:.*}", handle_file)


async def handle_method(request: web.Request) -> web.Response:
    world = request.app[WORLD_KEY]
    if request.method not in ("GET", "POST"):
        return _error(405, "Method Not Allowed")
    bot = world.bot_for_token(request.match_info["token"])
    if bot is None:
        return _error(401, "Unauthorized")
    try:
        params = await _read_params(request)
        result = await call_method(world, bot, request.match_info["method"], params)
    except TelegramError as e:
        return _error(e.code, e.description, e.parameters)
    return _respond(200, {"ok": True, "result": result})


async def handle_file(request: web.Request) -> web.Response:
    world = request.app[WORLD_KEY]
    if world.bot_for_token(request.match_info["token"]) is None:
        return _error(401, "Unauthorized")
    return _error(404, "Not Found")  # no stored files yet


async def _read_params(request: web.Request) -> dict[str, Any]:
    """Query string merged with a JSON, urlencoded or multipart body (the body wins)."""
    params: dict[str, Any] = dict(request.query) if request.query_string else {}
    if request.method != "POST" or not request.body_exists:
        return params
    ctype = request.content_type
    if ctype == "application/json":
        try:
            body = json.loads(await request.read())
        except ValueError:
            raise TelegramError(400, "Bad Request: can't parse JSON object") from None
        if not isinstance(body, dict):
            raise TelegramError(400, "Bad Request: JSON object expected")
        params.update(body)
    elif ctype in _FORM_TYPES:
        form = await request.post()
        for key in form:
            params[key] = form.getone(key)
    return params


def _error(code: int, description: str, parameters: dict[str, Any] | None = None) -> web.Response:
    payload: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        payload["parameters"] = parameters
    return _respond(code, payload)


def _respond(status: int, payload: dict[str, Any]) -> web.Response:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return web.Response(status=status, body=body, content_type="application/json")
