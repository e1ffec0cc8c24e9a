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
    r.add_post("/api/users/{user_id}/vote", vote)
    r.add_post("/api/users/{user_id}/inline", inline_query)
    r.add_get("/api/inline/{query_id}", inline_results)
    r.add_post("/api/users/{user_id}/inline/{query_id}/choose", choose_inline)
    r.add_post("/api/chats/{chat_id}/boost", boost)


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


@user_api
async def vote(request: web.Request) -> web.Response:
    """{message_id, option_ids: [..] ([] takes the vote back), bot_id?, chat_id?}: vote in a
    poll; the bot gets poll (new counts) and, for a public poll, poll_answer."""
    world, user_id, body = _world(request), _user_id(request), await _body(request)
    message_id = _int(body.get("message_id"), "message_id")
    options = body.get("option_ids")
    if not isinstance(options, list) or not all(isinstance(o, int) for o in options):
        raise UserActionError(400, "option_ids must be a list of integers")
    target = world._user_target(user_id, *_where(body).values())
    assert message_id is not None
    world.user_votes(target, user_id, message_id, options)
    return _json(target.view(message_id))


@user_api
async def inline_query(request: web.Request) -> web.Response:
    """{query, bot_id?}: type @bot query in a chat; the bot gets inline_query."""
    world, user_id, body = _world(request), _user_id(request), await _body(request)
    query = _str(body, "query") or ""
    return _json(world.user_inline_query(_int(body.get("bot_id"), "bot_id", optional=True), user_id, query))


@user_api
async def inline_results(request: web.Request) -> web.Response:
    """The bot's answer to an inline query: {query, results?, next_offset?}."""
    query = _world(request).registry.get("inline_queries", {}).get(request.match_info["query_id"])
    if query is None:
        raise UserActionError(404, "no such inline query")
    return _json(query)


@user_api
async def choose_inline(request: web.Request) -> web.Response:
    """{result_id}: send the chosen result into the chat with the bot (via_bot)."""
    world, user_id, body = _world(request), _user_id(request), await _body(request)
    msg = world.user_chooses_inline(user_id, request.match_info["query_id"], _str(body, "result_id") or "")
    return _json(msg)


@user_api
async def boost(request: web.Request) -> web.Response:
    """{user_id}: a Premium user boosts the chat; admin bots get chat_boost."""
    world, body = _world(request), await _body(request)
    chat_id = request.match_info["chat_id"]
    user_id = _int(body.get("user_id"), "user_id")
    assert user_id is not None
    return _json(world.user_boosts(chat_id if chat_id.startswith("@") else int(chat_id), user_id))
