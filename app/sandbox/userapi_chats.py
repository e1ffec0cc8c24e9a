"""User API endpoints for groups and channels, files, payments, faults and limits."""

from __future__ import annotations

import base64
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from .chats import ALL_RIGHTS
from .userapi import MAX_CHAT_WAIT, _body, _int, _json, _str, _user_id, _world, send_message, user_api
from .world import UserActionError


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/chats", list_chats)
    r.add_post("/api/chats", add_chat)
    r.add_get("/api/chats/{chat_id}", get_chat)
    r.add_get("/api/chats/{chat_id}/messages", chat_messages)
    r.add_get("/api/chats/{chat_id}/members", list_members)
    r.add_post("/api/chats/{chat_id}/members", set_member)
    r.add_post("/api/chats/{chat_id}/join", join)
    r.add_post("/api/chats/{chat_id}/leave", leave)
    r.add_get("/api/files/{file_id}", get_file)
    r.add_post("/api/users/{user_id}/pay", pay)
    r.add_post("/api/users/{user_id}/send_photo", send_photo)
    r.add_post("/api/users/{user_id}/send_contact", send_contact)
    r.add_post("/api/users/{user_id}/send_location", send_location)
    r.add_get("/api/faults", get_faults)
    r.add_post("/api/faults", set_faults)
    r.add_get("/api/limits", get_limits)
    r.add_post("/api/limits", set_limits)


def _chat_id(request: web.Request) -> int | str:
    raw = request.match_info["chat_id"]
    return raw if raw.startswith("@") else _int(raw, "chat_id")  # type: ignore[return-value]


@user_api
async def list_chats(request: web.Request) -> web.Response:
    return _json([chat.summary() for chat in _world(request).chats.values()])


@user_api
async def add_chat(request: web.Request) -> web.Response:
    """{type, title, id?, username?, creator_id?}: a group, supergroup or channel."""
    world, body = _world(request), await _body(request)
    chat = world.add_chat(
        _str(body, "type") or "",
        _str(body, "title") or "",
        id=_int(body.get("id"), "id", optional=True),
        username=_str(body, "username"),
    )
    if body.get("is_forum"):
        if chat.type != "supergroup":
            raise UserActionError(400, "only a supergroup can be a forum")
        chat.info["is_forum"] = True
        chat.retitle()
    creator = _int(body.get("creator_id"), "creator_id", optional=True)
    if creator is not None:
        world.set_member(chat.id, creator, "creator")
    return _json(chat.summary())


@user_api
async def get_chat(request: web.Request) -> web.Response:
    return _json(_world(request).chat_state(_chat_id(request)))


@user_api
async def chat_messages(request: web.Request) -> web.Response:
    """The chat's messages; with after_event and wait, long-polls until something newer happens."""
    world = _world(request)
    chat = world.get_chat(_chat_id(request))
    after = _int(request.query.get("after_event"), "after_event", optional=True)
    wait = float(request.query.get("wait") or 0)
    if after is not None and wait > 0:
        await chat.wait(after, min(wait, MAX_CHAT_WAIT))
    return _json(
        {"event": chat.event, "chat": chat.chat_dict(), "messages": chat.views(), "pinned": chat.pinned}
    )


@user_api
async def list_members(request: web.Request) -> web.Response:
    """ChatMember objects of everyone in the chat (not those who left or were banned)."""
    world = _world(request)
    chat = world.get_chat(_chat_id(request))
    return _json([world.member_dict(chat, mid) for mid in chat.members if chat.active(mid)])


@user_api
async def set_member(request: web.Request) -> web.Response:
    """{member_id, status, by?, until_date?, <right>: true...}: put a user or bot in a status."""
    world, body = _world(request), await _body(request)
    chat = world.get_chat(_chat_id(request))
    member_id = _int(body.get("member_id"), "member_id")
    assert member_id is not None
    rights = {k: v for k, v in body.items() if k in ALL_RIGHTS}
    if bad := [k for k, v in rights.items() if not isinstance(v, bool)]:
        raise UserActionError(400, f"rights must be true or false: {', '.join(bad)}")
    unknown = set(body) - ALL_RIGHTS - {"member_id", "status", "by", "until_date"}
    if unknown:
        raise UserActionError(400, f"unknown fields: {', '.join(sorted(unknown))}")
    world.set_member(
        chat.id,
        member_id,
        _str(body, "status") or "",
        by=_int(body.get("by"), "by", optional=True),
        until_date=_int(body.get("until_date"), "until_date", optional=True) or 0,
        **rights,
    )
    return _json(world.member_dict(chat, member_id))


@user_api
async def join(request: web.Request) -> web.Response:
    return await _membership(request, join=True)


@user_api
async def leave(request: web.Request) -> web.Response:
    return await _membership(request, join=False)


async def _membership(request: web.Request, *, join: bool) -> web.Response:
    world, body = _world(request), await _body(request)
    chat = world.get_chat(_chat_id(request))
    user_id = _int(body.get("user_id"), "user_id")
    assert user_id is not None
    world.get_user(user_id)
    if join and (link := _str(body, "invite_link")):
        if world.user_joins_by_link(chat.id, user_id, link) is None:
            return _json({"join_request": "pending", **world.member_dict(chat, user_id)})
    elif join:
        world.user_joins(chat.id, user_id)
    else:
        world.user_leaves(chat.id, user_id)
    return _json(world.member_dict(chat, user_id))


@user_api
async def get_file(request: web.Request) -> web.Response:
    """A file's bytes by file_id (any bot's) or file_unique_id, with its content type."""
    stored = _world(request).file_by_any_id(request.match_info["file_id"])
    return web.Response(body=stored.data, content_type=stored.mime_type)


@user_api
async def pay(request: web.Request) -> web.Response:
    """{message_id? | invoice_link?, bot_id?}: press Pay on an invoice or open an invoice
    link; the bot gets a pre_checkout_query (a shipping_query first if it is flexible)."""
    world, user_id, body = _world(request), _user_id(request), await _body(request)
    result = world.user_pays(
        _int(body.get("bot_id"), "bot_id", optional=True),
        user_id,
        _int(body.get("message_id"), "message_id", optional=True),
        invoice_link=_str(body, "invoice_link"),
    )
    return _json(result)


@user_api
async def get_faults(request: web.Request) -> web.Response:
    world = _world(request)
    return _json(world.faults.as_dict(world.clock()))


@user_api
async def set_faults(request: web.Request) -> web.Response:
    """{errors?, latency?, timeouts?, storm?, seed?, clear?}: see Faults.configure."""
    world, body = _world(request), await _body(request)
    world.faults.configure(world.clock(), **body)
    return _json(world.faults.as_dict(world.clock()))


@user_api
async def get_limits(request: web.Request) -> web.Response:
    return _json(_world(request).limits.as_dict())


@user_api
async def set_limits(request: web.Request) -> web.Response:
    """Any Limits fields, e.g. {"enabled": false}; buckets restart full."""
    world, body = _world(request), await _body(request)
    world.limits.update(**body)
    world.rate.reset()
    return _json(world.limits.as_dict())


@user_api
async def send_photo(request: web.Request) -> web.Response:
    """Multipart: one or more "photo" files, caption?, bot_id?, chat_id? (2-10 make an album).

    The same as /send with "photo" or "album", for a browser's file picker.
    """
    if request.content_type != "multipart/form-data":
        return await _forward_to_send(request, await _body(request))
    try:
        form = await request.post()
    except (ValueError, LookupError, HttpProcessingError):  # a broken body, bytes not UTF-8
        raise UserActionError(400, "the body is not a readable multipart form") from None
    files = [f for f in form.getall("photo", []) if isinstance(f, web.FileField)]
    if not files:
        raise UserActionError(400, 'attach one or more files as "photo"')
    items = [{"data": base64.b64encode(f.file.read()).decode()} for f in files]
    caption = form.get("caption")
    if isinstance(caption, str) and caption.strip():
        items[0]["caption"] = caption
    body: dict[str, Any] = {"album": items} if len(items) > 1 else {"photo": items[0]}
    for key in ("bot_id", "chat_id"):
        if isinstance(value := form.get(key), str) and value:
            body[key] = value
    return await _forward_to_send(request, body)


@user_api
async def send_contact(request: web.Request) -> web.Response:
    """{phone_number, first_name?, last_name?, bot_id?}: the same as /send with "contact"."""
    body = await _body(request)
    contact = {k: body.pop(k) for k in ("phone_number", "first_name", "last_name") if k in body}
    return await _forward_to_send(request, {**body, "contact": contact})


@user_api
async def send_location(request: web.Request) -> web.Response:
    """{latitude, longitude, bot_id?}: the same as /send with "location"."""
    body = await _body(request)
    location = {k: body.pop(k) for k in ("latitude", "longitude") if k in body}
    return await _forward_to_send(request, {**body, "location": location})


async def _forward_to_send(request: web.Request, body: dict[str, Any]) -> web.Response:
    return await send_message(_world(request), _user_id(request), body)
