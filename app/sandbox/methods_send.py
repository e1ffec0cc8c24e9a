"""Bot API methods that send the other kinds of messages: media, places, polls, dice, drafts."""

from __future__ import annotations

from typing import Any

from .chats import Chat
from .errors import Message, TelegramError
from .media import Upload
from .methods import MAX_TEXT, Params, _formatted, _message_target, _reply_markup, _reply_to, method
from .methods_media import _caption, _file, copy_message, forward_message
from .reactions import check_reactions
from .timeline import Timeline
from .world import Bot, World

DICE = {"🎲": 6, "🎯": 6, "🏀": 5, "⚽": 5, "🎳": 6, "🎰": 64}
LIVE_FOREVER = 0x7FFFFFFF
DRAFT_SECONDS = 30


def send(world: World, bot: Bot, p: Params, content: dict[str, Any]) -> Message:
    """Send `content` to p["chat_id"] with the common parameters (keyboard, reply, topic)."""
    from .methods_forum import thread_fields  # forum topics import this module's neighbours

    content = {**thread_fields(world, bot, p), **content}
    if p.get("protect_content"):
        content["has_protected_content"] = True
    return world.bot_sends(
        bot, p["chat_id"], content, reply_markup=_reply_markup(p), reply_to=_reply_to(world, bot, p)
    )


def _stored(world: World, bot: Bot, p: Params, kind: str, **meta: Any) -> dict[str, Any]:
    """The media object of p[kind] (an upload with what the parameters say of it, or a file_id)."""
    value = p[kind]
    if isinstance(value, str) and value.startswith("attach://"):
        value = p.get(value[len("attach://") :])
    if isinstance(value, Upload):
        thumb = p.get("thumbnail")
        if isinstance(thumb, str) and thumb.startswith("attach://"):
            thumb = p.get(thumb[len("attach://") :])
        if isinstance(thumb, Upload) and (stored_thumb := world.store_thumbnail(thumb)) is not None:
            meta["thumbnail"] = stored_thumb.unique_id
        stored = world.store_file(kind, value, **meta)
    else:
        stored = _file(world, bot, p, value, kind)
    return world.file_object(stored, bot.id)


def _media(kind: str, *meta_keys: str, caption: bool = True) -> Any:
    def handler(world: World, bot: Bot, p: Params) -> Message:
        meta = {k: p.get(k) for k in meta_keys}
        content: dict[str, Any] = {kind: _stored(world, bot, p, kind, **meta)}
        if caption:
            content |= _caption(p)
            if p.get("show_caption_above_media") and content["caption"]:
                content["show_caption_above_media"] = True
        if p.get("has_spoiler"):
            content["has_media_spoiler"] = True
        return send(world, bot, p, content)

    handler.__name__ = f"send_{kind}"
    return handler


method("sendAudio")(_media("audio", "duration", "performer", "title"))
method("sendVideo")(_media("video", "duration", "width", "height"))
method("sendAnimation")(_media("animation", "duration", "width", "height"))
method("sendVoice")(_media("voice", "duration"))
method("sendVideoNote")(_media("video_note", "duration", "length", caption=False))


@method("sendSticker")
def send_sticker(world: World, bot: Bot, p: Params) -> Message:
    value = p["sticker"]
    fmt = "video" if isinstance(value, Upload) and (value.filename or "").endswith(".webm") else "static"
    fmt = "animated" if isinstance(value, Upload) and (value.filename or "").endswith(".tgs") else fmt
    sticker = _stored(world, bot, p, "sticker", emoji=p.get("emoji"), format=fmt)
    return send(world, bot, p, {"sticker": sticker})


@method("sendLivePhoto")
def send_live_photo(world: World, bot: Bot, p: Params) -> Message:
    photo = _file(world, bot, p, p["photo"], "photo")
    live = _stored(world, bot, p, "live_photo", photo=photo.unique_id, width=photo.width, height=photo.height)
    return send(world, bot, p, {"live_photo": live, **_caption(p)})


@method("sendPaidMedia")
def send_paid_media(world: World, bot: Bot, p: Params) -> Message:
    if not 1 <= p["star_count"] <= 25000:
        raise TelegramError(400, "Bad Request: STARS_AMOUNT_INVALID")
    media = p["media"]
    if not 1 <= len(media) <= 10:
        raise TelegramError(400, "Bad Request: paid media must include 1-10 items")
    paid = []
    for item in media:
        kind = item.get("type")
        if kind not in ("photo", "video"):
            raise TelegramError(400, f"Bad Request: the sandbox sends paid photos and videos, not {kind}")
        stored = _file(world, bot, p, item.get("media"), kind)
        obj = world.media_object(stored, bot.id)
        paid.append({"type": kind, kind: obj[kind]})
    if len((p.get("payload") or "").encode()) > 128:
        raise TelegramError(400, "Bad Request: PAYLOAD_INVALID")
    content = {"paid_media": {"star_count": p["star_count"], "paid_media": paid}, **_caption(p)}
    return send(world, bot, p, content)


# ---------------------------------------------------------------- places, contacts, polls, dice


def _location(p: Params) -> dict[str, Any]:
    lat, lon = p["latitude"], p["longitude"]
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise TelegramError(400, "Bad Request: wrong latitude or longitude")
    loc: dict[str, Any] = {"latitude": lat, "longitude": lon}
    if p.get("horizontal_accuracy") is not None:
        loc["horizontal_accuracy"] = min(max(p["horizontal_accuracy"], 0.0), 1500.0)
    return loc


@method("sendLocation")
def send_location(world: World, bot: Bot, p: Params) -> Message:
    loc = _location(p)
    period = p.get("live_period")
    if period:
        if not (60 <= period <= 86400 or period == LIVE_FOREVER):
            raise TelegramError(400, "Bad Request: wrong live period specified")
        loc["live_period"] = period
        for key in ("heading", "proximity_alert_radius"):
            if p.get(key):
                loc[key] = p[key]
    return send(world, bot, p, {"location": loc})


def _live(world: World, bot: Bot, p: Params) -> tuple[int | str, int, Message]:
    chat_id, message_id = _message_target(p)
    target = world.bot_target(bot, chat_id, "edit")
    msg = target.find(message_id)
    if msg is None:
        raise TelegramError(400, "Bad Request: message to edit not found")
    period = (msg.get("location") or {}).get("live_period")
    expired = period is None or (period != LIVE_FOREVER and world.now() > msg["date"] + period)
    stopped = [str(msg["chat"]["id"]), message_id] in world.registry.get("stopped_live_locations", [])
    if expired or stopped:
        raise TelegramError(400, "Bad Request: message can't be edited")
    return chat_id, message_id, msg


@method("editMessageLiveLocation")
def edit_message_live_location(world: World, bot: Bot, p: Params) -> Message:
    chat_id, message_id, msg = _live(world, bot, p)
    loc = {**msg["location"], **_location(p)}
    for key in ("heading", "proximity_alert_radius", "live_period"):
        if p.get(key):
            loc[key] = p[key]
    return world.bot_edits(bot, chat_id, message_id, {"location": loc, "reply_markup": _inline(p)})


@method("stopMessageLiveLocation")
def stop_message_live_location(world: World, bot: Bot, p: Params) -> Message:
    """The location stays where it was last; later edits are refused."""
    chat_id, message_id, msg = _live(world, bot, p)
    world.registry.setdefault("stopped_live_locations", []).append([str(msg["chat"]["id"]), message_id])
    loc = {k: v for k, v in msg["location"].items() if k not in ("heading", "proximity_alert_radius")}
    changes = {"location": loc, "reply_markup": _inline(p)}
    if all(msg.get(k) == v for k, v in changes.items()):
        return msg
    return world.bot_edits(bot, chat_id, message_id, changes)


def _inline(p: Params) -> dict[str, Any] | None:
    markup = _reply_markup(p, inline_only=True)
    return markup if markup and markup["inline_keyboard"] else None


@method("sendVenue")
def send_venue(world: World, bot: Bot, p: Params) -> Message:
    venue: dict[str, Any] = {"location": _location(p), "title": p["title"], "address": p["address"]}
    for key in ("foursquare_id", "foursquare_type", "google_place_id", "google_place_type"):
        if p.get(key):
            venue[key] = p[key]
    return send(world, bot, p, {"venue": venue, "location": venue["location"]})


@method("sendContact")
def send_contact(world: World, bot: Bot, p: Params) -> Message:
    contact = {"phone_number": p["phone_number"], "first_name": p["first_name"]}
    for key in ("last_name", "vcard"):
        if p.get(key):
            contact[key] = p[key]
    return send(world, bot, p, {"contact": contact})


@method("sendDice")
def send_dice(world: World, bot: Bot, p: Params) -> Message:
    emoji = p.get("emoji") or "🎲"
    if emoji not in DICE:
        raise TelegramError(400, "Bad Request: DICE_EMOJI_INVALID")
    return send(world, bot, p, {"dice": {"emoji": emoji, "value": world._random.randint(1, DICE[emoji])}})


@method("sendPoll")
def send_poll(world: World, bot: Bot, p: Params) -> Message:
    question, question_entities = _formatted(p["question"], p, "question_entities", "question_parse_mode")
    if not 1 <= len(question) <= 300:
        raise TelegramError(400, "Bad Request: POLL_QUESTION_INVALID")
    options = p["options"]
    if not 2 <= len(options) <= 12:
        raise TelegramError(
            400,
            "Bad Request: POLL_OPTIONS_COUNT_INVALID"
            if options
            else "Bad Request: poll must have at least 2 options",
        )
    kind = p.get("type") or "regular"
    if kind not in ("regular", "quiz"):
        raise TelegramError(400, "Bad Request: POLL_TYPE_INVALID")
    poll_id = str(world._random.randrange(10**17, 10**18))
    rendered = []
    for i, option in enumerate(options):
        text, entities = _formatted(option["text"], option, "text_entities", "text_parse_mode")
        if not 1 <= len(text) <= 100:
            raise TelegramError(400, "Bad Request: POLL_OPTION_INVALID")
        row: dict[str, Any] = {"persistent_id": f"{poll_id}-{i}", "text": text, "voter_count": 0}
        if entities:
            row["text_entities"] = entities
        rendered.append(row)
    poll: dict[str, Any] = {
        "id": poll_id,
        "question": question,
        "options": rendered,
        "total_voter_count": 0,
        "is_closed": bool(p.get("is_closed")),
        "is_anonymous": p.get("is_anonymous", True) is not False,
        "type": kind,
        "allows_multiple_answers": bool(p.get("allows_multiple_answers")) and kind == "regular",
        "allows_revoting": bool(p.get("allows_revoting", True)),
        "members_only": bool(p.get("members_only")),
    }
    if question_entities:
        poll["question_entities"] = question_entities
    if kind == "quiz":
        correct = p.get("correct_option_ids") or (
            [p["correct_option_id"]] if "correct_option_id" in p else []
        )
        if not correct or any(not 0 <= c < len(options) for c in correct):
            raise TelegramError(400, "Bad Request: QUIZ_CORRECT_ANSWERS_EMPTY")
        poll["correct_option_ids"] = correct
        if p.get("explanation"):
            poll["explanation"] = p["explanation"]
    if p.get("open_period"):
        poll["open_period"] = p["open_period"]
    msg = send(world, bot, p, {"poll": poll})
    world.registry.setdefault("polls", {})[poll_id] = {
        "bot_id": bot.id,
        "chat_id": msg["chat"]["id"],
        "message_id": msg["message_id"],
        "votes": {},
    }
    return msg


@method("stopPoll")
def stop_poll(world: World, bot: Bot, p: Params) -> dict[str, Any]:
    target = world.bot_target(bot, p["chat_id"], "edit")
    msg = target.find(p["message_id"])
    if msg is None or "poll" not in msg:
        raise TelegramError(400, "Bad Request: message with poll to stop not found")
    if msg["poll"]["is_closed"]:
        raise TelegramError(400, "Bad Request: poll has already been closed")
    poll = {**msg["poll"], "is_closed": True}
    world.bot_edits(bot, p["chat_id"], p["message_id"], {"poll": poll, "reply_markup": _inline(p)})
    return poll


@method("sendMessageDraft")
def send_message_draft(world: World, bot: Bot, p: Params) -> bool:
    """A streamed preview in a private chat: shown for 30 s, replaced by later drafts."""
    if p["draft_id"] == 0:
        raise TelegramError(400, "Bad Request: draft_id must be non-zero")
    dialog = world.bot_dialog(bot, p["chat_id"])
    text, entities = ("", []) if not p.get("text") else _formatted(p["text"], p, "entities")
    if len(text) > MAX_TEXT:
        raise TelegramError(400, "Bad Request: message is too long")
    dialog.draft = {"draft_id": p["draft_id"], "text": text or "Thinking...", "date": world.now()}
    if entities:
        dialog.draft["entities"] = entities
    dialog.bump()
    return True


# ---------------------------------------------------------------- copies, forwards, reactions


def _many(world: World, bot: Bot, p: Params, one: Any) -> list[dict[str, int]]:
    ids = p["message_ids"]
    if not 1 <= len(ids) <= 100:
        raise TelegramError(400, "Bad Request: message identifiers must be 1-100 items")
    if ids != sorted(ids):
        raise TelegramError(400, "Bad Request: message identifiers must be in strictly increasing order")
    out = []
    for mid in ids:
        try:
            sent = one(world, bot, {**p, "message_id": mid})
        except TelegramError as e:
            if e.code != 400 or "not found" not in e.description:
                raise
            continue  # Telegram skips messages that can't be found
        out.append({"message_id": sent["message_id"]})
    if not out:
        raise TelegramError(400, "Bad Request: there are no messages to forward")
    return out


@method("copyMessages")
def copy_messages(world: World, bot: Bot, p: Params) -> list[dict[str, int]]:
    def one(world: World, bot: Bot, q: Params) -> dict[str, int]:
        if q.get("remove_caption"):
            q = {**q, "caption": ""}
        return copy_message(world, bot, q)

    return _many(world, bot, p, one)


@method("forwardMessages")
def forward_messages(world: World, bot: Bot, p: Params) -> list[dict[str, int]]:
    return _many(world, bot, p, forward_message)


@method("setMessageReaction")
def set_message_reaction(world: World, bot: Bot, p: Params) -> bool:
    target = world.bot_target(bot, p["chat_id"], "read")
    if isinstance(target, Chat) and target.type == "channel" and not target.is_admin(bot.id):
        raise TelegramError(400, "Bad Request: REACTION_INVALID")
    if target.find(p["message_id"]) is None:
        raise TelegramError(400, "Bad Request: message to react not found")
    reactions = check_reactions(p.get("reaction") or [], 1)  # bots, like non-premium users: one
    world.react(target, p["message_id"], bot, reactions)
    return True


def _reactions_admin(world: World, bot: Bot, p: Params) -> tuple[Timeline, str]:
    target = world.bot_target(bot, p["chat_id"], "read")
    if not isinstance(target, Chat) or not target.right(bot.id, "can_delete_messages"):
        raise TelegramError(400, "Bad Request: not enough rights to delete reactions")
    actor = p.get("user_id") or p.get("actor_chat_id")
    if actor is None:
        raise TelegramError(400, "Bad Request: user_id or actor_chat_id is required")
    return target, str(actor)


@method("deleteMessageReaction")
def delete_message_reaction(world: World, bot: Bot, p: Params) -> bool:
    target, actor = _reactions_admin(world, bot, p)
    per_message = target.reactions.get(p["message_id"], {})
    if per_message.pop(actor, None) is None:
        raise TelegramError(400, "Bad Request: REACTION_NOT_FOUND")
    target.bump(p["message_id"])
    return True


@method("deleteAllMessageReactions")
def delete_all_message_reactions(world: World, bot: Bot, p: Params) -> bool:
    target, actor = _reactions_admin(world, bot, p)
    for mid, per_message in list(target.reactions.items()):
        if per_message.pop(actor, None) is not None:
            target.bump(mid)
    return True
