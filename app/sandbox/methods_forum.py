"""Forum topics of supergroups: create, edit, close, reopen, delete, and the General topic."""

from __future__ import annotations

from typing import Any

from .chats import Chat
from .errors import TelegramError
from .media import Upload
from .methods import Params, method
from .methods_admin import _service, admin_chat
from .world import Bot, World

ICON_COLORS = (7322096, 16766590, 13338331, 9367192, 16749490, 16478047)
ICON_EMOJI = ("📰", "💡", "⚡", "🎙", "🔥", "❤")


def forum(world: World, bot: Bot, chat_id: int | str) -> Chat:
    chat = admin_chat(world, bot, chat_id, "can_manage_topics")
    if not chat.info.get("is_forum"):
        raise TelegramError(400, "Bad Request: the chat is not a forum")
    return chat


def _topic(chat: Chat, thread_id: int) -> dict[str, Any]:
    topic = chat.info.get("topics", {}).get(str(thread_id))
    if topic is None:
        raise TelegramError(400, "Bad Request: TOPIC_ID_INVALID")
    return topic


def thread_fields(world: World, bot: Bot, p: Params) -> dict[str, Any]:
    """message_thread_id and is_topic_message for a message sent into a forum topic."""
    thread_id = p.get("message_thread_id")
    if not thread_id:
        return {}
    chat = world.find_chat(p["chat_id"])
    if chat is None or not chat.info.get("is_forum"):
        return {}  # Telegram ignores a thread id outside forums
    topic = _topic(chat, thread_id)
    if topic.get("is_closed") and not chat.right(bot.id, "can_manage_topics"):
        raise TelegramError(400, "Bad Request: TOPIC_CLOSED")
    return {"message_thread_id": thread_id, "is_topic_message": True}


def _in_topic(world: World, bot: Bot, chat: Chat, thread_id: int, content: dict[str, Any]) -> None:
    _service(world, bot, chat, {"message_thread_id": thread_id, "is_topic_message": True, **content})


@method("createForumTopic")
def create_forum_topic(world: World, bot: Bot, p: Params) -> dict[str, Any]:
    chat = forum(world, bot, p["chat_id"])
    name = p["name"]
    if not 1 <= len(name) <= 128:
        raise TelegramError(400, "Bad Request: TOPIC_TITLE_EMPTY")
    color = p.get("icon_color") or ICON_COLORS[0]
    if color not in ICON_COLORS:
        raise TelegramError(400, "Bad Request: ICON_COLOR_INVALID")
    created: dict[str, Any] = {"name": name, "icon_color": color}
    if p.get("icon_custom_emoji_id"):
        created["icon_custom_emoji_id"] = p["icon_custom_emoji_id"]
    msg = _service(world, bot, chat, {"forum_topic_created": created})
    thread_id = msg["message_id"]  # a topic is known by the id of the message that created it
    msg = chat.messages[thread_id] = {**msg, "message_thread_id": thread_id, "is_topic_message": True}
    chat.info.setdefault("topics", {})[str(thread_id)] = {**created, "is_closed": False}
    return {"message_thread_id": thread_id, **created}


@method("editForumTopic")
def edit_forum_topic(world: World, bot: Bot, p: Params) -> bool:
    chat = forum(world, bot, p["chat_id"])
    topic = _topic(chat, p["message_thread_id"])
    edited: dict[str, Any] = {}
    if p.get("name"):
        if len(p["name"]) > 128:
            raise TelegramError(400, "Bad Request: TOPIC_TITLE_EMPTY")
        topic["name"] = edited["name"] = p["name"]
    if "icon_custom_emoji_id" in p:
        edited["icon_custom_emoji_id"] = p["icon_custom_emoji_id"] or ""
        topic["icon_custom_emoji_id"] = edited["icon_custom_emoji_id"]
    if not edited:
        raise TelegramError(400, "Bad Request: TOPIC_NOT_MODIFIED")
    _in_topic(world, bot, chat, p["message_thread_id"], {"forum_topic_edited": edited})
    return True


def _set_closed(world: World, bot: Bot, p: Params, closed: bool) -> bool:
    chat = forum(world, bot, p["chat_id"])
    topic = _topic(chat, p["message_thread_id"])
    if topic.get("is_closed", False) == closed:
        raise TelegramError(400, "Bad Request: TOPIC_NOT_MODIFIED")
    topic["is_closed"] = closed
    key = "forum_topic_closed" if closed else "forum_topic_reopened"
    _in_topic(world, bot, chat, p["message_thread_id"], {key: {}})
    return True


@method("closeForumTopic")
def close_forum_topic(world: World, bot: Bot, p: Params) -> bool:
    return _set_closed(world, bot, p, True)


@method("reopenForumTopic")
def reopen_forum_topic(world: World, bot: Bot, p: Params) -> bool:
    return _set_closed(world, bot, p, False)


@method("deleteForumTopic")
def delete_forum_topic(world: World, bot: Bot, p: Params) -> bool:
    chat = admin_chat(world, bot, p["chat_id"], "can_delete_messages")
    thread_id = p["message_thread_id"]
    _topic(chat, thread_id)
    del chat.info["topics"][str(thread_id)]
    for mid, msg in chat.messages.items():  # the topic goes with all its messages
        if msg.get("message_thread_id") == thread_id and mid not in chat.deleted:
            chat.deleted.add(mid)
            chat.bump(mid)
    return True


def _unpin(chat: Chat, keep: Any) -> None:
    for mid in list(chat.pinned):
        if not keep(chat.messages.get(mid, {})):
            chat.pinned.remove(mid)
            chat.bump(mid)


@method("unpinAllForumTopicMessages")
def unpin_all_forum_topic_messages(world: World, bot: Bot, p: Params) -> bool:
    chat = forum(world, bot, p["chat_id"])
    thread_id = p["message_thread_id"]
    _topic(chat, thread_id)
    _unpin(chat, lambda m: m.get("message_thread_id") != thread_id)
    return True


@method("unpinAllGeneralForumTopicMessages")
def unpin_all_general_forum_topic_messages(world: World, bot: Bot, p: Params) -> bool:
    chat = forum(world, bot, p["chat_id"])
    _unpin(chat, lambda m: "message_thread_id" in m)
    return True


def _general(chat: Chat) -> dict[str, Any]:
    return chat.info.setdefault("general", {"name": "General", "is_closed": False, "is_hidden": False})


@method("editGeneralForumTopic")
def edit_general_forum_topic(world: World, bot: Bot, p: Params) -> bool:
    chat = forum(world, bot, p["chat_id"])
    if not 1 <= len(p["name"]) <= 128:
        raise TelegramError(400, "Bad Request: TOPIC_TITLE_EMPTY")
    general = _general(chat)
    if general["name"] == p["name"]:
        raise TelegramError(400, "Bad Request: TOPIC_NOT_MODIFIED")
    general["name"] = p["name"]
    _service(world, bot, chat, {"forum_topic_edited": {"name": p["name"]}})
    return True


def _general_flag(world: World, bot: Bot, p: Params, flag: str, value: bool, event: str) -> bool:
    chat = forum(world, bot, p["chat_id"])
    general = _general(chat)
    if general[flag] == value:
        raise TelegramError(400, "Bad Request: TOPIC_NOT_MODIFIED")
    general[flag] = value
    if flag == "is_hidden" and value:
        general["is_closed"] = True  # hiding the General topic also closes it
    _service(world, bot, chat, {event: {}})
    return True


@method("closeGeneralForumTopic")
def close_general_forum_topic(world: World, bot: Bot, p: Params) -> bool:
    return _general_flag(world, bot, p, "is_closed", True, "forum_topic_closed")


@method("reopenGeneralForumTopic")
def reopen_general_forum_topic(world: World, bot: Bot, p: Params) -> bool:
    chat = forum(world, bot, p["chat_id"])
    _general(chat)["is_hidden"] = False
    return _general_flag(world, bot, p, "is_closed", False, "forum_topic_reopened")


@method("hideGeneralForumTopic")
def hide_general_forum_topic(world: World, bot: Bot, p: Params) -> bool:
    return _general_flag(world, bot, p, "is_hidden", True, "general_forum_topic_hidden")


@method("unhideGeneralForumTopic")
def unhide_general_forum_topic(world: World, bot: Bot, p: Params) -> bool:
    return _general_flag(world, bot, p, "is_hidden", False, "general_forum_topic_unhidden")


@method("getForumTopicIconStickers")
def get_forum_topic_icon_stickers(world: World, bot: Bot, p: Params) -> list[dict[str, Any]]:
    """The custom emoji a topic may take as its icon (small images the sandbox makes once)."""
    from .imaging import sample_png

    stickers = []
    for i, emoji in enumerate(ICON_EMOJI):
        png = sample_png(100, 100, ((i * 40) % 256, 120, 200))
        stored = world.store_file("sticker", Upload(png, f"icon{i}.png", "image/png"))
        stored.meta |= {"emoji": emoji, "sticker_type": "custom_emoji", "custom_emoji_id": f"5{i:018d}"}
        stored.meta |= {"format": "static"}
        world.dirty_files.add(stored.unique_id)
        stickers.append(world.file_object(stored, bot.id))
    return stickers
