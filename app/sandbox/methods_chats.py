"""Bot API methods about chats and members, pins, invite links, and Stars invoices."""

from __future__ import annotations

import secrets
from typing import Any

from .chats import ACTIVE, PERMISSIONS, Chat
from .errors import CHAT_NOT_FOUND, TelegramError
from .methods import Params, _reply_markup, _reply_to, method
from .timeline import Timeline
from .world import Bot, Dialog, World

_GIFTS = {
    "unlimited_gifts": True,
    "limited_gifts": True,
    "unique_gifts": True,
    "premium_subscription": True,
    "gifts_from_channels": True,
}


@method("getChat")
def get_chat(world: World, bot: Bot, p: Params) -> dict[str, Any]:
    target = world.bot_target(bot, p["chat_id"], "read")
    info: dict[str, Any] = {
        **target.chat_dict(),
        "accent_color_id": abs(target.chat_id) % 7,  # the colour clients derive when none is chosen
        "max_reaction_count": 11,
        "accepted_gift_types": _GIFTS,
    }
    if target.pinned and (pinned := target.find(target.pinned[-1])) is not None:
        info["pinned_message"] = pinned
    if isinstance(target, Chat):
        primary = [x for x in target.invite_links if x["is_primary"]] or target.invite_links[:1]
        if primary:
            info["invite_link"] = primary[0]["invite_link"]
        if target.info.get("description"):
            info["description"] = target.info["description"]
        if target.type != "channel":
            info["permissions"] = {name: target.may(0, name) for name in PERMISSIONS}
        if target.info.get("sticker_set_name"):
            info["sticker_set_name"] = target.info["sticker_set_name"]
        if target.type == "supergroup":
            info["can_set_sticker_set"] = target.is_admin(bot.id)
        photo = chat_photo(world, target.info.get("photo"), bot.id)
    else:
        user = target.user  # type: ignore[attr-defined]
        photos = user.extra.get("photos") or []
        photo = chat_photo(world, photos[0] if photos else None, bot.id)
        status = user.extra.get("emoji_status")
        if status:
            info["emoji_status_custom_emoji_id"] = status["custom_emoji_id"]
            if status.get("expiration_date"):
                info["emoji_status_expiration_date"] = status["expiration_date"]
        if user.extra.get("bio"):
            info["bio"] = user.extra["bio"]
        personal = world.chats.get(user.extra.get("personal_chat_id") or 0)
        if personal is not None:
            info["personal_chat"] = personal.chat_dict()
    if photo is not None:
        info["photo"] = photo
    return info


def _members_chat(world: World, bot: Bot, chat_id: int | str) -> Timeline:
    target = world.bot_target(bot, chat_id, "read")
    if isinstance(target, Chat):
        if not target.active(bot.id):
            world.bot_may(bot, target, "members")  # raises the not-a-member error
        if target.type == "channel" and not target.is_admin(bot.id):
            raise TelegramError(400, "Bad Request: member list is inaccessible")
    return target


@method("getChatMember")
def get_chat_member(world: World, bot: Bot, p: Params) -> dict[str, Any]:
    world.rate.charge_call(bot, "getChatMember")
    target = _members_chat(world, bot, p["chat_id"])
    user_id = p["user_id"]
    if user_id not in world.users and user_id not in world.bots:
        raise TelegramError(400, "Bad Request: user not found")
    if isinstance(target, Chat):
        return world.member_dict(target, user_id)
    assert isinstance(target, Dialog)
    if user_id not in (target.user.id, bot.id):
        raise TelegramError(400, "Bad Request: user not found")
    return {"status": "member", "user": world.account(user_id).as_dict()}


@method("getChatAdministrators")
def get_chat_administrators(world: World, bot: Bot, p: Params) -> list[dict[str, Any]]:
    target = _members_chat(world, bot, p["chat_id"])
    if not isinstance(target, Chat):
        return []  # Telegram answers private chats with an empty list
    return [world.member_dict(target, mid) for mid in target.members if target.is_admin(mid)]


@method("getChatMemberCount")
def get_chat_member_count(world: World, bot: Bot, p: Params) -> int:
    target = world.bot_target(bot, p["chat_id"], "read")
    if not isinstance(target, Chat):
        return 2
    return sum(1 for m in target.members.values() if m.status in ACTIVE)


def _pin_rights(world: World, bot: Bot, chat_id: int | str) -> Timeline:
    target = world.bot_target(bot, chat_id, "read")
    if isinstance(target, Chat):
        world.bot_may(bot, target, "pin")
        right = "can_edit_messages" if target.type == "channel" else "can_pin_messages"
        if target.type != "group" and not target.right(bot.id, right):
            raise TelegramError(400, "Bad Request: not enough rights to manage pinned messages in the chat")
    return target


@method("pinChatMessage")
def pin_chat_message(world: World, bot: Bot, p: Params) -> bool:
    target = _pin_rights(world, bot, p["chat_id"])
    mid = p["message_id"]
    if target.find(mid) is None:
        raise TelegramError(400, "Bad Request: message to pin not found")
    if mid in target.pinned:
        target.pinned.remove(mid)
    target.pinned.append(mid)
    target.bump(mid)
    return True


@method("unpinChatMessage")
def unpin_chat_message(world: World, bot: Bot, p: Params) -> bool:
    target = _pin_rights(world, bot, p["chat_id"])
    mid = p.get("message_id") or (target.pinned[-1] if target.pinned else None)
    if mid is None or mid not in target.pinned:
        raise TelegramError(400, "Bad Request: message to unpin not found")
    target.pinned.remove(mid)
    target.bump(mid)
    return True


@method("unpinAllChatMessages")
def unpin_all_chat_messages(world: World, bot: Bot, p: Params) -> bool:
    target = _pin_rights(world, bot, p["chat_id"])
    while target.pinned:
        target.bump(target.pinned.pop())
    return True


@method("createChatInviteLink")
def create_chat_invite_link(world: World, bot: Bot, p: Params) -> dict[str, Any]:
    target = world.bot_target(bot, p["chat_id"], "read")
    if not isinstance(target, Chat):
        raise TelegramError(400, "Bad Request: can't invite members to a private chat")
    world.bot_may(bot, target, "invite")
    if not target.right(bot.id, "can_invite_users"):
        raise TelegramError(400, "Bad Request: not enough rights to manage chat invite link")
    if len(p.get("name") or "") > 32:
        raise TelegramError(400, "Bad Request: invite link name is too long")
    limit = p.get("member_limit")
    if limit is not None and not 1 <= limit <= 99999:
        raise TelegramError(400, "Bad Request: member limit must be between 1 and 99999")
    link: dict[str, Any] = {
        "invite_link": f"https://t.me/+{secrets.token_urlsafe(12)}",
        "creator": bot.as_dict(),
        "creates_join_request": bool(p.get("creates_join_request")),
        "is_primary": False,
        "is_revoked": False,
    }
    for key in ("name", "expire_date", "member_limit"):
        if p.get(key):
            link[key] = p[key]
    target.invite_links.append(link)
    return link


@method("leaveChat")
def leave_chat(world: World, bot: Bot, p: Params) -> bool:
    chat = world.find_chat(p["chat_id"])
    if chat is None:
        if isinstance(p["chat_id"], int) and p["chat_id"] in world.users:
            raise TelegramError(400, "Bad Request: chat member status can't be changed in private chats")
        raise TelegramError(400, CHAT_NOT_FOUND)
    world.bot_may(bot, chat, "leave")
    world.set_member(chat.id, bot.id, "left", by=bot.id)
    return True


def chat_photo(world: World, unique_id: str | None, owner: int) -> dict[str, Any] | None:
    """The ChatPhoto of a stored photo: a small size and the largest."""
    if unique_id is None or unique_id not in world.files:
        return None
    sizes = world.photo_sizes(world.files[unique_id], owner)
    small = next((s for s in sizes if s["width"] >= 160 or s["height"] >= 160), sizes[-1])
    return {
        "small_file_id": small["file_id"],
        "small_file_unique_id": small["file_unique_id"],
        "big_file_id": sizes[-1]["file_id"],
        "big_file_unique_id": sizes[-1]["file_unique_id"],
    }


# ---------------------------------------------------------------- Stars


@method("sendInvoice")
def send_invoice(world: World, bot: Bot, p: Params) -> dict[str, Any]:
    """An invoice in Telegram Stars (XTR): one price, no provider token."""
    prices = p["prices"]
    if p["currency"] != "XTR" and not p.get("provider_token"):
        raise TelegramError(400, "Bad Request: PAYMENT_PROVIDER_INVALID")
    if p["currency"] == "XTR" and len(prices) != 1:
        raise TelegramError(400, "Bad Request: STARS_INVOICE_INVALID")
    total = sum(price["amount"] for price in prices)
    if total <= 0:
        raise TelegramError(400, "Bad Request: CURRENCY_TOTAL_AMOUNT_INVALID")
    if not 1 <= len(p["payload"].encode()) <= 128:
        raise TelegramError(400, "Bad Request: INVOICE_PAYLOAD_INVALID")
    invoice = {
        "title": p["title"],
        "description": p["description"],
        "start_parameter": p.get("start_parameter") or "",
        "currency": p["currency"],
        "total_amount": total,
    }
    star = "⭐️" if p["currency"] == "XTR" else ""
    markup = _reply_markup(p, inline_only=True) or {
        "inline_keyboard": [[{"text": f"Pay {star}{total}", "pay": True}]]  # Telegram adds a Pay button
    }
    msg = world.bot_sends(
        bot, p["chat_id"], {"invoice": invoice}, reply_markup=markup, reply_to=_reply_to(world, bot, p)
    )
    world.invoice_payloads[(bot.id, msg["chat"]["id"], msg["message_id"])] = p["payload"]
    if p.get("is_flexible") and p["currency"] != "XTR":  # the user gives an address: shipping_query
        world.registry.setdefault("flexible_invoices", []).append(
            f"{bot.id}:{msg['chat']['id']}:{msg['message_id']}"
        )
    return msg


@method("answerPreCheckoutQuery")
def answer_pre_checkout_query(world: World, bot: Bot, p: Params) -> bool:
    world.bot_answers_pre_checkout(bot, p["pre_checkout_query_id"], p["ok"], p.get("error_message"))
    return True
