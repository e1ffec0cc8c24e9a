"""aiohttp handlers for the Bot API: /bot{token}/{method} and /file/bot{token}/{path}."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from .errors import NOT_UTF8, NotUTF8, json_body
from .keys import WORLD_KEY
from .media import Upload
from .methods import call_method
from .world import TelegramError, World

# Methods that change nothing the world keeps (getUpdates does: it confirms updates).
_READ_ONLY = re.compile(r"^get(?!updates$)", re.IGNORECASE)
_FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
TOO_LARGE = "Request Entity Too Large"


def add_routes(app: web.Application) -> None:
    app.router.add_route("*", r"/bot{token}/{method:[^/]*}", handle_method)
    app.router.add_get(r"/file/bot{token}/{path:.*}", handle_file)


async def handle_method(request: web.Request) -> web.StreamResponse:
    world = request.app[WORLD_KEY]
    if request.method not in ("GET", "POST"):
        return _error(405, "Method Not Allowed")
    bot = world.bot_for_token(request.match_info["token"])
    if bot is None:
        return _error(401, "Unauthorized")
    name = request.match_info["method"]
    try:
        if (delay := world.faults.delay(name)) > 0:
            await _sleep(world, delay)
        _injected_failure(world, name)
        params = await _read_params(request, world)
        timing_out = world.faults.roll(world.faults.timeouts, name)
        try:
            result = await call_method(world, bot, name, params)
        finally:
            if not _READ_ONLY.match(name):
                world.save()  # a failed call may have changed something too (deleteMessages)
    except TelegramError as e:
        return _error(e.code, e.description, e.parameters)
    if timing_out:
        return await _time_out(request, world)  # the effect is applied; the bot never learns it
    return _respond(200, {"ok": True, "result": result})


def _injected_failure(world: World, name: str) -> None:
    """A 429 storm or a 5xx answer from the fault plan; nothing is applied."""
    faults = world.faults
    if (retry_after := faults.storming(name, world.clock())) is not None:
        raise TelegramError(
            429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
        )
    if faults.roll(faults.errors, name):
        if faults.errors.status == 500:
            raise TelegramError(500, "Internal Server Error: sandbox fault injection")
        raise TelegramError(502, "Bad Gateway")


async def _time_out(request: web.Request, world: World) -> web.StreamResponse:
    fault = world.faults.timeouts
    if fault.drop and request.transport is not None:
        request.transport.close()  # the client sees the connection reset, no answer
        raise asyncio.CancelledError
    await _sleep(world, fault.seconds)
    return _error(504, "Gateway Timeout")


async def _sleep(world: World, seconds: float) -> None:
    """Sleep, but give up at once when the server shuts down."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not world.closing and (remaining := deadline - loop.time()) > 0:  # noqa: ASYNC110 - a World outlives loops, an Event would not
        await asyncio.sleep(min(remaining, 0.05))


async def handle_file(request: web.Request) -> web.Response:
    world = request.app[WORLD_KEY]
    if world.bot_for_token(request.match_info["token"]) is None:
        return _error(401, "Unauthorized")
    stored = world.file_path_bytes(request.match_info["path"])
    if stored is None:
        return _error(404, "Not Found")
    if len(stored.data) > world.limits.download_bytes:
        return _error(400, "Bad Request: file is too big")
    return web.Response(body=stored.data, content_type=stored.mime_type)


async def _read_params(request: web.Request, world: World) -> dict[str, Any]:
    """Query string merged with a JSON, urlencoded or multipart body (the body wins)."""
    params: dict[str, Any] = dict(request.query) if request.query_string else {}
    if request.method != "POST" or not request.body_exists:
        return params
    if (request.content_length or 0) > world.limits.upload_bytes:
        raise TelegramError(413, TOO_LARGE)
    ctype = request.content_type
    if ctype == "application/json":
        try:
            body = json_body(await request.read())
        except NotUTF8:
            raise TelegramError(400, NOT_UTF8) from None
        except ValueError:
            raise TelegramError(400, "Bad Request: can't parse JSON object") from None
        if not isinstance(body, dict):
            raise TelegramError(400, "Bad Request: JSON object expected")
        params.update(body)
    elif ctype in _FORM_TYPES:
        try:
            form = await request.post()
        except web.HTTPRequestEntityTooLarge:
            raise TelegramError(413, TOO_LARGE) from None
        except (ValueError, LookupError, HttpProcessingError):  # broken multipart, bytes not UTF-8
            raise TelegramError(400, "Bad Request: can't parse request body") from None
        uploaded = 0
        for key in form:
            value = form.getone(key)
            if isinstance(value, web.FileField):
                value = Upload(value.file.read(), value.filename, value.content_type)
                uploaded += len(value.data)
            params[key] = value
        if uploaded > world.limits.upload_bytes:
            raise TelegramError(413, TOO_LARGE)
    return params


def _error(code: int, description: str, parameters: dict[str, Any] | None = None) -> web.Response:
    payload: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        payload["parameters"] = parameters
    return _respond(code, payload)


def _respond(status: int, payload: dict[str, Any]) -> web.Response:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return web.Response(status=status, body=body, content_type="application/json")
