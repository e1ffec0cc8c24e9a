# ruff: noqa: E501 - the docstring lists one endpoint per line, for the README
"""The user side of the sandbox: plain JSON over HTTP under /api/ to play Telegram users.

Endpoints (bodies are JSON; files travel as base64 in "data"; errors are {"error"} with 400/404):
GET  /api/bots — the bots that exist: [{id, username, first_name}]
POST /api/bots {token, username?, first_name?} — register a bot before its first Bot API call
POST /api/users {first_name, id?, last_name?, username?, language_code?, is_premium?, bio?, personal_chat_id?, profile_photo?, profile_audio?} — create or update a user
GET  /api/users/{user_id} — the user's User object
POST /api/users/{user_id}/send {bot_id?, chat_id?, text | photo | album | document | contact | location} — send one message (an album sends 2-10) to the bot, or into a group/channel with chat_id
POST /api/users/{user_id}/press {bot_id?, button_text? | callback_data?, message_id?} — press an inline or reply-keyboard button
GET  /api/users/{user_id}/chat?bot_id=&after_event=&wait= — the private chat with the bot; long-polls with after_event+wait
POST /api/users/{user_id}/block {bot_id?} — block the bot (my_chat_member: kicked)
POST /api/users/{user_id}/unblock {bot_id?} — unblock it
POST /api/users/{user_id}/send_photo (multipart: photo files, caption?, bot_id?, chat_id?) — one photo, or 2-10 as an album
POST /api/users/{user_id}/send_contact {phone_number, first_name?, last_name?, bot_id?} — share a contact (no first_name: one's own)
POST /api/users/{user_id}/send_location {latitude, longitude, bot_id?} — share a location
POST /api/users/{user_id}/pay {bot_id?, message_id? | invoice_link?} — press Pay on an invoice (newest by default) or open an invoice link: pre_checkout_query (shipping_query first for a flexible one)
GET  /api/chats — groups, supergroups and channels with member statuses
POST /api/chats {type, title, id?, username?, creator_id?} — create a group, supergroup or channel
GET  /api/chats/{chat_id} — a chat with its members, pinned ids and messages (chat_id may be @username)
GET  /api/chats/{chat_id}/members — ChatMember objects of everyone in the chat
GET  /api/chats/{chat_id}/messages?after_event=&wait= — its messages; long-polls with after_event+wait
POST /api/chats/{chat_id}/members {member_id, status, by?, until_date?, can_...: true} — set a user's or bot's status and rights
POST /api/chats/{chat_id}/join {user_id} — a user joins (chat_member to admin bots)
POST /api/chats/{chat_id}/leave {user_id} — a user leaves
POST /api/users/{user_id}/edit {message_id, text, bot_id?, chat_id?} — edit one's own message (the bot gets edited_message)
POST /api/users/{user_id}/react {message_id, emoji: "👍" | [] , bot_id?, chat_id?} — react, or take the reaction back (message_reaction)
POST /api/users/{user_id}/vote {message_id, option_ids, bot_id?, chat_id?} — vote in a poll (poll, poll_answer)
POST /api/users/{user_id}/inline {query, bot_id?} — an inline query (inline_query); GET /api/inline/{id} shows the bot's answer
POST /api/users/{user_id}/inline/{id}/choose {result_id} — send the chosen result into the chat (via_bot, chosen_inline_result)
POST /api/chats/{chat_id}/boost {user_id} — a Premium user boosts the chat (chat_boost)
GET  /api/files/{file_id} — a file's bytes with its content type (any bot's file_id or a file_unique_id)
GET  /api/faults — the fault plan; POST /api/faults {errors?, latency?, timeouts?, storm?, seed?, clear?} — set it
GET  /api/limits — the limits; POST /api/limits {enabled?, private_burst?, ...} — change them (buckets restart full)

Message bodies for /send: "text": "..."; "photo": {data | file_id, caption?};
"album": [{type?: photo|document, data | file_id, caption?, file_name?}, ...];
"document": {data | file_id, file_name, mime_type?, caption?};
"contact": {phone_number, first_name?, last_name?} (no first_name: the user's own, with user_id);
"location": {latitude, longitude}.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .errors import NOT_UTF8, NotUTF8, json_body
from .keys import WORLD_KEY
from .media import Upload
from .usercontent import user_contents
from .world import TelegramError, UserActionError, World

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
        finally:
            if request.method == "POST":
                request.app[WORLD_KEY].save()

    return wrapped


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.body_exists:
        return {}
    try:
        body = json_body(await request.read() or b"{}")
    except NotUTF8:
        raise UserActionError(400, NOT_UTF8) from None
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
    """Also the profile: is_premium, bio, personal_chat_id, profile_photo / profile_audio
    (base64: added first to the user's profile photos / audios)."""
    world, body = _world(request), await _body(request)
    user = world.add_user(
        _str(body, "first_name"),
        id=_int(body.get("id"), "id", optional=True),
        last_name=_str(body, "last_name"),
        username=_str(body, "username"),
        language_code=_str(body, "language_code"),
    )
    extra = dict(user.extra)
    if "is_premium" in body:
        extra["is_premium"] = bool(body["is_premium"])
    if "bio" in body:
        extra["bio"] = _str(body, "bio") or ""
    if "personal_chat_id" in body:
        extra["personal_chat_id"] = _int(body["personal_chat_id"], "personal_chat_id", optional=True)
    for key, kind, listed in (("profile_photo", "photo", "photos"), ("profile_audio", "audio", "audios")):
        if body.get(key):
            try:
                data = base64.b64decode(body[key], validate=True)
                stored = world.store_file(kind, Upload(data, f"{key}.bin"))
            except (binascii.Error, ValueError, TelegramError):
                raise UserActionError(400, f"{key} must be a base64 {kind} Telegram can read") from None
            extra[listed] = [stored.unique_id, *extra.get(listed, [])]
    if extra != user.extra:
        user.update(extra=extra)
    return _json(user.as_dict())


@user_api
async def get_user(request: web.Request) -> web.Response:
    return _json(_world(request).get_user(_user_id(request)).as_dict())


@user_api
async def send(request: web.Request) -> web.Response:
    """One message from the user: text, photo, album, document, contact or location.

    To the bot's private chat by default; with chat_id, into a group or channel instead.
    An album answers with the list of its messages.
    """
    return await send_message(_world(request), _user_id(request), await _body(request))


async def send_message(world: World, user_id: int, body: dict[str, Any]) -> web.Response:
    """The user sends what `body` describes (see user_contents) and gets the stored messages."""
    bot_id = _int(body.get("bot_id"), "bot_id", optional=True)
    chat_id = body.get("chat_id")
    owner = 0 if chat_id is not None else world.get_bot(bot_id).id  # group files: rekeyed per bot
    contents = user_contents(world, body, owner, user_id)
    reply_to = _int(body.get("reply_to_message_id"), "reply_to_message_id", optional=True)
    if reply_to is not None:  # a reply (in the private chat) to one of its messages
        dialog = world.dialog(bot_id, user_id)
        if chat_id is not None or reply_to not in dialog.messages:
            raise UserActionError(400, "reply_to_message_id: no such message in the chat with the bot")
        replied = {k: v for k, v in dialog.messages[reply_to].items() if k != "reply_to_message"}
        contents = [{**c, "reply_to_message": replied} for c in contents]
    if chat_id is not None:
        chat = world.get_chat(chat_id)
        sent = [world.user_posts(chat.id, user_id, c) for c in contents]
        views = [chat.view(m["message_id"]) for m in sent]
    else:
        sent = [world.user_sends(bot_id, user_id, c) for c in contents]
        dialog = world.dialog(bot_id, user_id)
        views = [dialog.view(m["message_id"]) for m in sent]
    return _json(views if "album" in body else views[0])


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
        forged=body.get("forged") is True,
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
    changed = world.user_blocks(bot_id, user_id) if blocked else world.user_unblocks(bot_id, user_id)
    return _json({"blocked": blocked, "changed": changed})
