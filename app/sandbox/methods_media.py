"""Bot API methods for media and files: photos, documents, albums, copies, forwards, getFile."""

from __future__ import annotations

from typing import Any

from .chats import Chat
from .errors import Message, TelegramError
from .media import StoredFile, Upload, rekey
from .methods import Params, _formatted, _message_target, _reply_markup, _reply_to, method
from .timeline import Timeline
from .world import Bot, World

MAX_CAPTION = 1024
ALBUM_KINDS = ("photo", "document")
_COPIED = ("text", "entities", "photo", "document", "caption", "caption_entities", "contact", "location")


def _caption(
    p: Params, *, text_key: str = "caption", entities_key: str = "caption_entities"
) -> dict[str, Any]:
    """caption + caption_entities (None when absent) from caption, parse_mode or entities."""
    raw = p.get(text_key)
    if not raw:
        return {"caption": None, "caption_entities": None}
    text, entities = _formatted(raw, p, entities_key)
    if len(text) > MAX_CAPTION:
        raise TelegramError(400, "Bad Request: message caption is too long")
    return {"caption": text or None, "caption_entities": entities or None}


def _file(world: World, bot: Bot, p: Params, value: Any, kind: str) -> StoredFile:
    """A file given as an upload, attach://name, a file_id of this bot, or a URL."""
    if isinstance(value, str) and value.startswith("attach://"):
        value = p.get(value[len("attach://") :])
        if not isinstance(value, Upload):
            raise TelegramError(
                400, "Bad Request: wrong remote file identifier specified: can't unserialize it"
            )
    if isinstance(value, Upload):
        if kind == "photo" and len(value.data) > world.limits.photo_bytes:
            raise TelegramError(400, "Bad Request: PHOTO_SAVE_FILE_INVALID")
        return world.store_file(kind, value)
    if not isinstance(value, str) or not value:
        raise TelegramError(400, f'Bad Request: parameter "{kind}" is required')
    return world.file_for(value, bot.id, kind)


def _send_file(world: World, bot: Bot, p: Params, kind: str) -> Message:
    from .methods_forum import thread_fields

    stored = _file(world, bot, p, p[kind], kind)
    content = {**thread_fields(world, bot, p), **world.media_object(stored, bot.id), **_caption(p)}
    if p.get("show_caption_above_media") and content["caption"]:
        content["show_caption_above_media"] = True
    return world.bot_sends(
        bot, p["chat_id"], content, reply_markup=_reply_markup(p), reply_to=_reply_to(world, bot, p)
    )


@method("sendPhoto")
def send_photo(world: World, bot: Bot, p: Params) -> Message:
    return _send_file(world, bot, p, "photo")


@method("sendDocument")
def send_document(world: World, bot: Bot, p: Params) -> Message:
    return _send_file(world, bot, p, "document")


@method("sendMediaGroup")
def send_media_group(world: World, bot: Bot, p: Params) -> list[Message]:
    """An album: 2-10 photos or 2-10 documents; it cannot carry a keyboard (none is attached)."""
    media = p["media"]
    if len(media) > 10:
        raise TelegramError(400, "Bad Request: too many messages to send as an album")
    if len(media) < 2:
        raise TelegramError(400, "Bad Request: media group must include 2-10 items")
    kinds = {item.get("type") for item in media}
    if not kinds <= set(ALBUM_KINDS):
        raise TelegramError(400, f"Bad Request: the sandbox sends albums of {' or '.join(ALBUM_KINDS)} only")
    if len(kinds) > 1:
        raise TelegramError(400, "Bad Request: document can't be mixed with other media types")
    contents = []
    for item in media:  # check everything before sending anything: an album is all or nothing
        stored = _file(world, bot, p, item.get("media"), item["type"])
        contents.append({**world.media_object(stored, bot.id), **_caption(item)})
    target = world.bot_target(bot, p["chat_id"], "send")
    world.rate.charge(bot, target, len(contents))  # a private chat counts the album once
    group_id = str(world._random.randrange(10**17, 10**18))
    reply_to = _reply_to(world, bot, p)
    return [
        world.bot_sends(bot, p["chat_id"], {"media_group_id": group_id, **c}, reply_to=reply_to, charge=False)
        for c in contents
    ]


def _source(world: World, bot: Bot, p: Params, verb: str) -> tuple[Timeline, Message]:
    source = world.bot_target(bot, p["from_chat_id"], "read")
    if isinstance(source, Chat) and not source.active(bot.id):
        raise TelegramError(403, f"Forbidden: bot is not a member of the {source.kind} chat")
    msg = source.find(p["message_id"])
    if msg is None:
        raise TelegramError(400, f"Bad Request: message to {verb} not found")
    return source, msg


@method("copyMessage")
def copy_message(world: World, bot: Bot, p: Params) -> dict[str, int]:
    _, msg = _source(world, bot, p, "copy")
    content = {k: msg[k] for k in _COPIED if k in msg}
    if not content or "invoice" in msg or "successful_payment" in msg:
        raise TelegramError(400, "Bad Request: the message can't be copied")
    if "caption" in p and ("photo" in msg or "document" in msg):
        content |= _caption(p)
    content = rekey(content, bot.id)
    sent = world.bot_sends(
        bot, p["chat_id"], content, reply_markup=_reply_markup(p), reply_to=_reply_to(world, bot, p)
    )
    return {"message_id": sent["message_id"]}


@method("forwardMessage")
def forward_message(world: World, bot: Bot, p: Params) -> Message:
    source, msg = _source(world, bot, p, "forward")
    content = {k: msg[k] for k in _COPIED if k in msg}
    if not content:
        raise TelegramError(400, "Bad Request: the message can't be forwarded")
    content = {"forward_origin": _origin(source, msg), **rekey(content, bot.id)}
    return world.bot_sends(bot, p["chat_id"], content)


def _origin(source: Timeline, msg: Message) -> dict[str, Any]:
    if "sender_chat" in msg and source.chat_dict().get("type") == "channel":
        chat = msg["sender_chat"]
        return {"type": "channel", "date": msg["date"], "chat": chat, "message_id": msg["message_id"]}
    return {"type": "user", "date": msg["date"], "sender_user": msg["from"]}


@method("editMessageCaption")
def edit_message_caption(world: World, bot: Bot, p: Params) -> Message:
    chat_id, message_id = _message_target(p)
    target = world.bot_target(bot, chat_id, "edit")
    old = target.find(message_id)
    if old is not None and "photo" not in old and "document" not in old:
        raise TelegramError(400, "Bad Request: there is no caption in the message to edit")
    changes = {**_caption(p), "reply_markup": _inline_markup(p)}
    return world.bot_edits(bot, chat_id, message_id, changes)


@method("editMessageMedia")
def edit_message_media(world: World, bot: Bot, p: Params) -> Message:
    chat_id, message_id = _message_target(p)
    media = p["media"]
    kind = media.get("type")
    if kind not in ALBUM_KINDS:
        raise TelegramError(400, f"Bad Request: the sandbox edits media to {' or '.join(ALBUM_KINDS)} only")
    target = world.bot_target(bot, chat_id, "edit")
    old = target.find(message_id)
    if old is not None and "photo" not in old and "document" not in old:
        raise TelegramError(400, "Bad Request: there is no media in the message to edit")
    if old is not None and "media_group_id" in old and kind not in old:
        raise TelegramError(400, "Bad Request: can't change the type of media in an album")
    stored = _file(world, bot, p, media.get("media"), kind)
    changes: dict[str, Any] = {"photo": None, "document": None}
    changes |= {**world.media_object(stored, bot.id), **_caption(media), "reply_markup": _inline_markup(p)}
    return world.bot_edits(bot, chat_id, message_id, changes)


def _inline_markup(p: Params) -> dict[str, Any] | None:
    markup = _reply_markup(p, inline_only=True)
    return markup if markup and markup["inline_keyboard"] else None


@method("deleteMessages")
def delete_messages(world: World, bot: Bot, p: Params) -> bool:
    """Delete 1-100 messages; those that cannot be found are skipped, as in Telegram."""
    ids = p["message_ids"]
    if not 1 <= len(ids) <= 100:
        raise TelegramError(400, "Bad Request: message identifiers must be 1-100 items")
    deleted = 0
    for mid in ids:
        try:
            world.bot_deletes(bot, p["chat_id"], mid)
            deleted += 1
        except TelegramError as e:
            if e.code != 400:
                raise
    if not deleted:
        raise TelegramError(400, "Bad Request: message to delete not found")
    return True


@method("getFile")
def get_file(world: World, bot: Bot, p: Params) -> dict[str, Any]:
    stored = world.file_for(p["file_id"], bot.id, exact=True)
    if len(stored.data) > world.limits.download_bytes:
        raise TelegramError(400, "Bad Request: file is too big")
    return {
        "file_id": p["file_id"],
        "file_unique_id": stored.unique_id,
        "file_size": len(stored.data),
        "file_path": stored.path,
    }
