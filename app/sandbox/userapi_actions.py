"""User API endpoints for what users do to messages: edit their own, react, vote in polls."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .userapi import _body, _int, _json, _str, _user_id, _world, user_api
from .world import UserActionError


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_post("/api/users/{user_id}/edit", edit)
    r.add_post("/api/users/{user_id}/react", react)


def _where(body: dict[str, Any]) -> dict[str, Any]:
    chat_id = body.get("chat_id")
    if isinstance(chat_id, str) and not chat_id.startswith("@"):
        chat_id = _int(chat_id, "chat_id")
    return {"bot_id": _int(body.get("bot_id"), "bot_id", optional=True), "chat_id": chat_id}


@user_api
async def edit(request: web.Request) -> web.Response:
    """{message_id, text, bot_id?, chat_id?}: the user edits their message's text or caption;
    the bot gets edited_message (edited_channel_post in a channel)."""
    world, user_id, body = _world(request), _user_id(request), await _body(request)
    message_id = _int(body.get("message_id"), "message_id")
    assert message_id is not None
    text = _str(body, "text")
    if text is None:
        raise UserActionError(400, "text is required")
    where = _where(body)
    msg = world.user_edits(user_id, message_id, text, **where)
    target = world._user_target(user_id, where["bot_id"], where["chat_id"])
    return _json(target.view(msg["message_id"]))


@user_api
async def react(request: web.Request) -> web.Response:
    """{message_id, emoji: "👍" | ["👍"] | [] (take back), bot_id?, chat_id?}: the user
    reacts; bots get message_reaction (message_reaction_count in channels) if they asked."""
    world, user_id, body = _world(request), _user_id(request), await _body(request)
    message_id = _int(body.get("message_id"), "message_id")
    assert message_id is not None
    emoji = body.get("emoji", [])
    emoji = [emoji] if isinstance(emoji, str) else emoji
    if not isinstance(emoji, list) or not all(isinstance(e, str) for e in emoji):
        raise UserActionError(400, "emoji must be a string or a list of strings")
    target = world.user_reacts(user_id, message_id, emoji, **_where(body))
    return _json(target.view(message_id))
