"""Bot API methods of chat administrators: bans, restrictions, promotions, links, chat info."""

from __future__ import annotations

import secrets
from typing import Any

from .chats import ACTIVE, PERMISSIONS, Chat
from .errors import CHAT_NOT_FOUND, Message, TelegramError
from .media import Upload
from .methods import Params, method
from .world import Bot, World

NOT_ENOUGH = "Bad Request: not enough rights"
PROMOTABLE = (
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
    "can_post_messages",
    "can_edit_messages",
    "can_pin_messages",
    "can_manage_topics",
    "can_manage_direct_messages",
    "can_manage_tags",
)
SUBSCRIPTION_PERIOD = 2592000  # 30 days, the only period Telegram takes


def admin_chat(world: World, bot: Bot, chat_id: int | str, right: str | None, *, private: str = "") -> Chat:
    """The group or channel `bot` administers with `right`, or Telegram's error."""
    chat = world.find_chat(chat_id)
    if chat is None:
        if isinstance(chat_id, int) and chat_id in world.users:
            raise TelegramError(400, f"Bad Request: {private or 'method is not available for private chats'}")
        raise TelegramError(400, CHAT_NOT_FOUND)
    world.bot_may(bot, chat, "read")
    if not chat.is_admin(bot.id):
        raise TelegramError(400, "Bad Request: not enough rights to manage the chat" if right else NOT_ENOUGH)
    if right is not None and not chat.right(bot.id, right) and chat.type != "group":
        raise TelegramError(400, f"{NOT_ENOUGH} to {_verb(right)}")
    return chat


def _verb(right: str) -> str:
    return right.removeprefix("can_").replace("_", " ")


def _target(world: World, chat: Chat, user_id: int) -> None:
    if user_id not in world.users and user_id not in world.bots:
        raise TelegramError(400, "Bad Request: user not found")
    if chat.status(user_id) == "creator":
        raise TelegramError(400, "Bad Request: can't remove chat owner")


# ---------------------------------------------------------------- members


@method("banChatMember")
def ban_chat_member(world: World, bot: Bot, p: Params) -> bool:
    chat = admin_chat(
        world, bot, p["chat_id"], "can_restrict_members", private="can't ban members in private chats"
    )
    user_id = p["user_id"]
    _target(world, chat, user_id)
    if user_id == bot.id:
        raise TelegramError(400, "Bad Request: can't ban myself")
    if chat.is_admin(user_id) and not chat.members[user_id].rights.get("_promoted_by_bot"):
        raise TelegramError(400, "Bad Request: can't remove chat administrator")
    until = p.get("until_date") or 0
    until = 0 if until and not 30 <= until - world.now() <= 366 * 86400 else until  # forever, as Telegram
    world.set_member(chat.id, user_id, "kicked", by=bot.id, until_date=until)
    if p.get("revoke_messages") or chat.type == "group":
        for mid, author in chat.authors.items():
            if author == user_id and mid not in chat.deleted:
                chat.deleted.add(mid)
                chat.bump(mid)
    return True


@method("unbanChatMember")
def unban_chat_member(world: World, bot: Bot, p: Params) -> bool:
    chat = admin_chat(world, bot, p["chat_id"], "can_restrict_members")
    user_id = p["user_id"]
    _target(world, chat, user_id)
    status = chat.status(user_id)
    if status == "kicked" or (not p.get("only_if_banned") and (status in ACTIVE or status == "restricted")):
        world.set_member(chat.id, user_id, "left", by=bot.id)  # out of the chat, free to come back
    return True


def _permissions(p: Params) -> dict[str, bool]:
    given = p["permissions"]
    perms = {name: bool(given.get(name, False)) for name in PERMISSIONS}
    if not p.get("use_independent_chat_permissions"):
        # Telegram's old rule: media implies messages, web previews imply media.
        media = ("can_send_audios", "can_send_documents", "can_send_photos", "can_send_videos")
        if any(perms[m] for m in media) or perms["can_send_polls"] or perms["can_send_other_messages"]:
            perms["can_send_messages"] = True
    return perms


@method("restrictChatMember")
def restrict_chat_member(world: World, bot: Bot, p: Params) -> bool:
    chat = admin_chat(world, bot, p["chat_id"], "can_restrict_members")
    if chat.type != "supergroup":
        raise TelegramError(400, "Bad Request: method is available only for supergroups")
    user_id = p["user_id"]
    _target(world, chat, user_id)
    if chat.is_admin(user_id):
        raise TelegramError(400, "Bad Request: can't restrict chat administrator")
    perms = _permissions(p)
    inside = chat.active(user_id)
    if all(perms.values()):
        world.set_member(chat.id, user_id, "member" if inside else "left", by=bot.id)
        return True
    world.set_member(chat.id, user_id, "restricted", by=bot.id, until_date=p.get("until_date") or 0)
    member = chat.members[user_id]
    member.permissions, member.is_member = perms, inside
    chat.bump()
    return True


@method("promoteChatMember")
def promote_chat_member(world: World, bot: Bot, p: Params) -> bool:
    chat = admin_chat(world, bot, p["chat_id"], "can_promote_members")
    user_id = p["user_id"]
    _target(world, chat, user_id)
    if not chat.active(user_id):
        raise TelegramError(400, "Bad Request: USER_NOT_PARTICIPANT")
    rights = {name: True for name in PROMOTABLE if p.get(name)}
    if missing := [r for r in rights if not chat.right(bot.id, r) and r != "can_manage_chat"]:
        raise TelegramError(400, f"Bad Request: RIGHT_FORBIDDEN: {missing[0]}")
    if rights:
        world.set_member(chat.id, user_id, "administrator", by=bot.id, _promoted_by_bot=True, **rights)
    elif chat.is_admin(user_id):
        world.set_member(chat.id, user_id, "member", by=bot.id)
    return True


@method("setChatAdministratorCustomTitle")
def set_chat_administrator_custom_title(world: World, bot: Bot, p: Params) -> bool:
    chat = admin_chat(world, bot, p["chat_id"], None)
    member = chat.members.get(p["user_id"])
    if member is None or member.status != "administrator":
        raise TelegramError(400, "Bad Request: user is not an administrator")
    title = p["custom_title"]
    if len(title) > 16 or any(ord(c) > 0xFFFF for c in title):
        raise TelegramError(400, "Bad Request: ADMIN_RANK_EMOJI_NOT_ALLOWED")
    member.custom_title = title or None
    chat.bump()
    return True


@method("setChatMemberTag")
def set_chat_member_tag(world: World, bot: Bot, p: Params) -> bool:
    chat = admin_chat(world, bot, p["chat_id"], "can_manage_tags")
    if chat.type == "channel":
        raise TelegramError(400, "Bad Request: method is available only for groups and supergroups")
    member = chat.members.get(p["user_id"])
    if member is None or member.status not in ("member", "restricted"):
        raise TelegramError(400, "Bad Request: the user is not a regular member of the chat")
    tag = p.get("tag") or ""
    if len(tag) > 16 or any(ord(c) > 0xFFFF for c in tag):
        raise TelegramError(400, "Bad Request: TAG_INVALID")
    member.tag = tag or None
    chat.bump()
    return True


@method("banChatSenderChat")
def ban_chat_sender_chat(world: World, bot: Bot, p: Params) -> bool:
    chat = admin_chat(world, bot, p["chat_id"], "can_restrict_members")
    banned = chat.info.setdefault("banned_sender_chats", [])
    if p["sender_chat_id"] not in banned:
        banned.append(p["sender_chat_id"])
    chat.bump()
    return True


@method("unbanChatSenderChat")
def unban_chat_sender_chat(world: World, bot: Bot, p: Params) -> bool:
    chat = admin_chat(world, bot, p["chat_id"], "can_restrict_members")
    banned = chat.info.get("banned_sender_chats", [])
    if p["sender_chat_id"] in banned:
        banned.remove(p["sender_chat_id"])
    chat.bump()
    return True


@method("setChatPermissions")
def set_chat_permissions(world: World, bot: Bot, p: Params) -> bool:
    chat = admin_chat(world, bot, p["chat_id"], "can_restrict_members")
    if chat.type == "channel":
        raise TelegramError(400, "Bad Request: method is available only for groups and supergroups")
    perms = _permissions(p)
    if chat.info.get("permissions") == perms:
        raise TelegramError(400, "Bad Request: CHAT_NOT_MODIFIED")
    chat.info["permissions"] = perms
    chat.bump()
    return True


# ---------------------------------------------------------------- invite links and join requests


def _link(bot: Bot, **fields: Any) -> dict[str, Any]:
    link = {
        "invite_link": f"https://t.me/+{secrets.token_urlsafe(12)}",
        "creator": bot.as_dict(),
        "creates_join_request": False,
        "is_primary": False,
        "is_revoked": False,
    }
    return link | {k: v for k, v in fields.items() if v not in (None, "", False)}


def _find_link(chat: Chat, url: str) -> dict[str, Any]:
    for link in chat.invite_links:
        if link["invite_link"] == url:
            return link
    raise TelegramError(400, "Bad Request: INVITE_HASH_EXPIRED")


@method("exportChatInviteLink")
def export_chat_invite_link(world: World, bot: Bot, p: Params) -> str:
    chat = admin_chat(world, bot, p["chat_id"], "can_invite_users")
    for link in chat.invite_links:
        if link["is_primary"]:
            link |= {"is_primary": False, "is_revoked": True}
    link = _link(bot, is_primary=True)
    link["is_primary"] = True
    chat.invite_links.insert(0, link)
    chat.bump()
    return link["invite_link"]


@method("editChatInviteLink")
def edit_chat_invite_link(world: World, bot: Bot, p: Params) -> dict[str, Any]:
    chat = admin_chat(world, bot, p["chat_id"], "can_invite_users")
    link = _find_link(chat, p["invite_link"])
    if link["is_revoked"] or "subscription_period" in link:
        raise TelegramError(400, "Bad Request: INVITE_HASH_EXPIRED")
    if len(p.get("name") or "") > 32:
        raise TelegramError(400, "Bad Request: invite link name is too long")
    for key in ("name", "expire_date", "member_limit"):
        if key in p:
            if p[key]:
                link[key] = p[key]
            else:
                link.pop(key, None)
    if "creates_join_request" in p:
        if p["creates_join_request"] and link.get("member_limit"):
            raise TelegramError(
                400, "Bad Request: member limit can't be specified for links requiring approval"
            )
        link["creates_join_request"] = bool(p["creates_join_request"])
    chat.bump()
    return link


@method("createChatSubscriptionInviteLink")
def create_chat_subscription_invite_link(world: World, bot: Bot, p: Params) -> dict[str, Any]:
    chat = admin_chat(world, bot, p["chat_id"], "can_invite_users")
    if chat.type != "channel":
        raise TelegramError(400, "Bad Request: subscription links are available only in channels")
    if p["subscription_period"] != SUBSCRIPTION_PERIOD:
        raise TelegramError(400, "Bad Request: SUBSCRIPTION_PERIOD_INVALID")
    if not 1 <= p["subscription_price"] <= 10000:
        raise TelegramError(400, "Bad Request: SUBSCRIPTION_PRICE_INVALID")
    link = _link(
        bot,
        name=p.get("name"),
        subscription_period=p["subscription_period"],
        subscription_price=p["subscription_price"],
    )
    chat.invite_links.append(link)
    chat.bump()
    return link


@method("editChatSubscriptionInviteLink")
def edit_chat_subscription_invite_link(world: World, bot: Bot, p: Params) -> dict[str, Any]:
    chat = admin_chat(world, bot, p["chat_id"], "can_invite_users")
    link = _find_link(chat, p["invite_link"])
    if "subscription_period" not in link:
        raise TelegramError(400, "Bad Request: not a subscription link")
    if p.get("name"):
        link["name"] = p["name"]
    else:
        link.pop("name", None)
    chat.bump()
    return link


@method("revokeChatInviteLink")
def revoke_chat_invite_link(world: World, bot: Bot, p: Params) -> dict[str, Any]:
    chat = admin_chat(world, bot, p["chat_id"], "can_invite_users")
    link = _find_link(chat, p["invite_link"])
    link["is_revoked"] = True
    if link["is_primary"]:  # revoking the primary link makes a new one, as Telegram
        link["is_primary"] = False
        chat.invite_links.insert(0, _link(bot) | {"is_primary": True})
    chat.bump()
    return link


def _join_request(world: World, bot: Bot, p: Params) -> tuple[Chat, dict[str, Any]]:
    chat = admin_chat(world, bot, p["chat_id"], "can_invite_users")
    request = chat.info.get("join_requests", {}).get(str(p["user_id"]))
    if request is None:
        raise TelegramError(400, "Bad Request: HIDE_REQUESTER_MISSING")
    return chat, request


@method("approveChatJoinRequest")
def approve_chat_join_request(world: World, bot: Bot, p: Params) -> bool:
    chat, _ = _join_request(world, bot, p)
    del chat.info["join_requests"][str(p["user_id"])]
    world.set_member(chat.id, p["user_id"], "member", by=bot.id)
    return True


@method("declineChatJoinRequest")
def decline_chat_join_request(world: World, bot: Bot, p: Params) -> bool:
    chat, _ = _join_request(world, bot, p)
    del chat.info["join_requests"][str(p["user_id"])]
    chat.bump()
    return True


# ---------------------------------------------------------------- title, photo, description, stickers


def _service(world: World, bot: Bot, chat: Chat, content: dict[str, Any]) -> Message:
    """A service message about a change (title, photo), signed as Telegram signs it."""
    msg: Message = {"message_id": chat.next_message_id}
    msg |= {"sender_chat": chat.chat_dict()} if chat.type == "channel" else {"from": bot.as_dict()}
    msg |= {"chat": chat.chat_dict(), "date": world.now(), **content}
    chat.store(msg, bot.id)
    world.deliver(chat, "channel_post" if chat.type == "channel" else "message", msg, author_id=bot.id)
    return msg


@method("setChatTitle")
def set_chat_title(world: World, bot: Bot, p: Params) -> bool:
    chat = admin_chat(world, bot, p["chat_id"], "can_change_info")
    title = p["title"].strip()
    if not 1 <= len(title) <= 128:
        raise TelegramError(400, "Bad Request: chat title can't be empty")
    if title == chat.title:
        raise TelegramError(400, "Bad Request: chat title is not modified")
    chat.retitle(title)
    _service(world, bot, chat, {"new_chat_title": title})
    return True


@method("setChatDescription")
def set_chat_description(world: World, bot: Bot, p: Params) -> bool:
    chat = admin_chat(world, bot, p["chat_id"], "can_change_info")
    description = p.get("description") or ""
    if len(description) > 255:
        raise TelegramError(400, "Bad Request: chat description is too long")
    if description == chat.info.get("description", ""):
        raise TelegramError(400, "Bad Request: chat description is not modified")
    chat.info["description"] = description
    chat.bump()
    return True


@method("setChatPhoto")
def set_chat_photo(world: World, bot: Bot, p: Params) -> bool:
    chat = admin_chat(world, bot, p["chat_id"], "can_change_info")
    if not isinstance(p["photo"], Upload):
        raise TelegramError(400, "Bad Request: photo must be uploaded as a new file")
    stored = world.store_file("photo", p["photo"])
    chat.info["photo"] = stored.unique_id
    _service(world, bot, chat, {"new_chat_photo": world.photo_sizes(stored, bot.id)})
    return True


@method("deleteChatPhoto")
def delete_chat_photo(world: World, bot: Bot, p: Params) -> bool:
    chat = admin_chat(world, bot, p["chat_id"], "can_change_info")
    if not chat.info.pop("photo", None):
        raise TelegramError(400, "Bad Request: CHAT_NOT_MODIFIED")
    _service(world, bot, chat, {"delete_chat_photo": True})
    return True


@method("setChatStickerSet")
def set_chat_sticker_set(world: World, bot: Bot, p: Params) -> bool:
    chat = admin_chat(world, bot, p["chat_id"], "can_change_info")
    if chat.type != "supergroup":
        raise TelegramError(400, "Bad Request: method is available only for supergroups")
    if p["sticker_set_name"] not in world.registry.get("sticker_sets", {}):
        raise TelegramError(400, "Bad Request: STICKERSET_INVALID")
    chat.info["sticker_set_name"] = p["sticker_set_name"]
    chat.bump()
    return True


@method("deleteChatStickerSet")
def delete_chat_sticker_set(world: World, bot: Bot, p: Params) -> bool:
    chat = admin_chat(world, bot, p["chat_id"], "can_change_info")
    if chat.type != "supergroup":
        raise TelegramError(400, "Bad Request: method is available only for supergroups")
    chat.info.pop("sticker_set_name", None)
    chat.bump()
    return True
