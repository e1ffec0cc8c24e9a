"""Bot API methods of profiles: the bot's names, descriptions, photo and menu; users' profiles."""

from __future__ import annotations

from typing import Any

from .chats import Chat
from .errors import CHAT_NOT_FOUND, TelegramError
from .media import Upload
from .methods import Params, method
from .methods_admin import admin_chat
from .world import Bot, World

ADMIN_RIGHTS_REQUIRED = (
    "is_anonymous",
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
)
ADMIN_RIGHTS_OPTIONAL = (
    "can_post_messages",
    "can_edit_messages",
    "can_pin_messages",
    "can_manage_topics",
    "can_manage_direct_messages",
    "can_manage_tags",
)
# setting -> (parameter, longest): names, descriptions and short descriptions per language.
TEXTS = {
    "name": ("name", 64),
    "description": ("description", 512),
    "short_description": ("short_description", 120),
}


def _set_text(bot: Bot, setting: str, p: Params) -> bool:
    param, longest = TEXTS[setting]
    value = p.get(param) or ""
    if len(value) > longest:
        raise TelegramError(400, f"Bad Request: {setting.upper()}_INVALID")
    per_language = bot.settings.setdefault(setting, {})
    lang = p.get("language_code") or ""
    if value:
        per_language[lang] = value
    else:
        per_language.pop(lang, None)
    if setting == "name" and not lang:
        bot.rename(value or bot.settings.get("registered_name", bot.first_name))
    return True


def _get_text(bot: Bot, setting: str, p: Params) -> dict[str, str]:
    per_language = bot.settings.get(setting, {})
    value = per_language.get(p.get("language_code") or "") or per_language.get("", "")
    if setting == "name" and not value:
        value = bot.first_name
    return {setting: value}


@method("setMyName")
def set_my_name(world: World, bot: Bot, p: Params) -> bool:
    bot.settings.setdefault("registered_name", bot.first_name)
    return _set_text(bot, "name", p)


@method("getMyName")
def get_my_name(world: World, bot: Bot, p: Params) -> dict[str, str]:
    return _get_text(bot, "name", p)


@method("setMyDescription")
def set_my_description(world: World, bot: Bot, p: Params) -> bool:
    return _set_text(bot, "description", p)


@method("getMyDescription")
def get_my_description(world: World, bot: Bot, p: Params) -> dict[str, str]:
    return _get_text(bot, "description", p)


@method("setMyShortDescription")
def set_my_short_description(world: World, bot: Bot, p: Params) -> bool:
    return _set_text(bot, "short_description", p)


@method("getMyShortDescription")
def get_my_short_description(world: World, bot: Bot, p: Params) -> dict[str, str]:
    return _get_text(bot, "short_description", p)


@method("setMyProfilePhoto")
def set_my_profile_photo(world: World, bot: Bot, p: Params) -> bool:
    photo = p["photo"]
    kind = photo.get("type")
    key = "photo" if kind == "static" else "animation" if kind == "animated" else None
    if key is None or not isinstance(photo.get(key), str):
        raise TelegramError(400, "Bad Request: can't parse InputProfilePhoto")
    name = photo[key].removeprefix("attach://")
    upload = p.get(name)
    if not isinstance(upload, Upload):
        raise TelegramError(400, "Bad Request: the profile photo must be uploaded as a new file")
    stored = world.store_file("photo", upload) if key == "photo" else world.store_file("animation", upload)
    bot.settings["photos"] = [stored.unique_id, *bot.settings.get("photos", [])]
    return True


@method("removeMyProfilePhoto")
def remove_my_profile_photo(world: World, bot: Bot, p: Params) -> bool:
    photos = bot.settings.get("photos") or []
    if not photos:
        raise TelegramError(400, "Bad Request: PHOTO_NOT_FOUND")
    bot.settings["photos"] = photos[1:]
    return True


def _menu_key(world: World, bot: Bot, p: Params) -> str:
    chat_id = p.get("chat_id")
    if chat_id is None:
        return ""
    world.bot_dialog(bot, chat_id, sending=False)  # a private chat with the bot, or chat not found
    return str(chat_id)


@method("setChatMenuButton")
def set_chat_menu_button(world: World, bot: Bot, p: Params) -> bool:
    button = p.get("menu_button") or {"type": "default"}
    if button.get("type") == "web_app":
        url = (button.get("web_app") or {}).get("url", "")
        if not url.startswith("https://") or not button.get("text"):
            raise TelegramError(400, "Bad Request: BUTTON_URL_INVALID")
        button = {"type": "web_app", "text": button["text"], "web_app": {"url": url}}
    elif button.get("type") in ("commands", "default"):
        button = {"type": button["type"]}
    else:
        raise TelegramError(400, "Bad Request: can't parse menu button")
    menus = bot.settings.setdefault("menu_buttons", {})
    key = _menu_key(world, bot, p)
    if button["type"] == "default":
        menus.pop(key, None)
    else:
        menus[key] = button
    return True


@method("getChatMenuButton")
def get_chat_menu_button(world: World, bot: Bot, p: Params) -> dict[str, Any]:
    menus = bot.settings.get("menu_buttons", {})
    key = _menu_key(world, bot, p)
    if key in menus:
        return menus[key]
    if key:
        return menus.get("", {"type": "default"})  # a chat without its own follows the bot's
    return menus.get("", {"type": "commands"})


@method("setMyDefaultAdministratorRights")
def set_my_default_administrator_rights(world: World, bot: Bot, p: Params) -> bool:
    key = "channel_rights" if p.get("for_channels") else "group_rights"
    rights = p.get("rights")
    if rights:
        bot.settings[key] = {
            k: bool(v) for k, v in rights.items() if k in ADMIN_RIGHTS_REQUIRED + ADMIN_RIGHTS_OPTIONAL
        }
    else:
        bot.settings.pop(key, None)
    return True


@method("getMyDefaultAdministratorRights")
def get_my_default_administrator_rights(world: World, bot: Bot, p: Params) -> dict[str, bool]:
    channels = bool(p.get("for_channels"))
    stored = bot.settings.get("channel_rights" if channels else "group_rights", {})
    out = {k: stored.get(k, False) for k in ADMIN_RIGHTS_REQUIRED}
    optional = (
        ("can_post_messages", "can_edit_messages") if channels else ("can_pin_messages", "can_manage_topics")
    )
    return out | {k: stored.get(k, False) for k in optional}


# ---------------------------------------------------------------- users' profiles


def _user(world: World, user_id: int) -> Any:
    account = world.users.get(user_id) or world.bots.get(user_id)
    if account is None:
        raise TelegramError(400, "Bad Request: user not found")
    return account


def _page(items: list[Any], p: Params) -> list[Any]:
    offset = max(p.get("offset") or 0, 0)
    limit = p.get("limit") or 100
    if not 1 <= limit <= 100:
        raise TelegramError(400, "Bad Request: limit must be between 1 and 100")
    return items[offset : offset + limit]


@method("getUserProfilePhotos")
def get_user_profile_photos(world: World, bot: Bot, p: Params) -> dict[str, Any]:
    account = _user(world, p["user_id"])
    photos = (
        account.settings.get("photos", []) if isinstance(account, Bot) else account.extra.get("photos", [])
    )
    shown = [world.photo_sizes(world.files[uid], bot.id) for uid in _page(photos, p) if uid in world.files]
    return {"total_count": len(photos), "photos": shown}


@method("getUserProfileAudios")
def get_user_profile_audios(world: World, bot: Bot, p: Params) -> dict[str, Any]:
    account = _user(world, p["user_id"])
    audios = [] if isinstance(account, Bot) else account.extra.get("audios", [])
    shown = [world.file_object(world.files[uid], bot.id) for uid in _page(audios, p) if uid in world.files]
    return {"total_count": len(audios), "audios": shown}


@method("setUserEmojiStatus")
def set_user_emoji_status(world: World, bot: Bot, p: Params) -> bool:
    user = world.users.get(p["user_id"])
    if user is None:
        raise TelegramError(400, "Bad Request: user not found")
    dialog = world.dialogs.get((bot.id, user.id))
    if dialog is None or not dialog.started:  # Telegram: the user allowed it in the bot's Mini App
        raise TelegramError(403, "Forbidden: the user hasn't allowed the bot to change their emoji status")
    emoji = p.get("emoji_status_custom_emoji_id") or ""
    if emoji:
        user.extra["emoji_status"] = {
            "custom_emoji_id": emoji,
            "expiration_date": p.get("emoji_status_expiration_date"),
        }
    else:
        user.extra.pop("emoji_status", None)
    return True


def _verifier(bot: Bot, p: Params) -> dict[str, Any]:
    description = p.get("custom_description") or ""
    if len(description) > 70:
        raise TelegramError(400, "Bad Request: custom description is too long")
    return {"bot_id": bot.id, "custom_description": description}


@method("verifyUser")
def verify_user(world: World, bot: Bot, p: Params) -> bool:
    user = world.users.get(p["user_id"])
    if user is None:
        raise TelegramError(400, "Bad Request: user not found")
    user.extra["verified_by"] = _verifier(bot, p)
    return True


@method("removeUserVerification")
def remove_user_verification(world: World, bot: Bot, p: Params) -> bool:
    user = world.users.get(p["user_id"])
    if user is None or (user.extra.get("verified_by") or {}).get("bot_id") != bot.id:
        raise TelegramError(400, "Bad Request: the user is not verified by the bot")
    del user.extra["verified_by"]
    return True


def _any_chat(world: World, chat_id: int | str) -> Chat:
    chat = world.find_chat(chat_id)
    if chat is None:
        raise TelegramError(400, CHAT_NOT_FOUND)
    return chat


@method("verifyChat")
def verify_chat(world: World, bot: Bot, p: Params) -> bool:
    chat = _any_chat(world, p["chat_id"])
    chat.info["verified_by"] = _verifier(bot, p)
    chat.bump()
    return True


@method("removeChatVerification")
def remove_chat_verification(world: World, bot: Bot, p: Params) -> bool:
    chat = _any_chat(world, p["chat_id"])
    if (chat.info.get("verified_by") or {}).get("bot_id") != bot.id:
        raise TelegramError(400, "Bad Request: the chat is not verified by the bot")
    del chat.info["verified_by"]
    chat.bump()
    return True


@method("getUserChatBoosts")
def get_user_chat_boosts(world: World, bot: Bot, p: Params) -> dict[str, Any]:
    chat = admin_chat(world, bot, p["chat_id"], None)
    user = world.users.get(p["user_id"])
    if user is None:
        raise TelegramError(400, "Bad Request: user not found")
    boosts = [b for b in chat.info.get("boosts", []) if b["user_id"] == user.id]
    return {"boosts": [boost_object(world, b) for b in boosts]}


def boost_object(world: World, boost: dict[str, Any]) -> dict[str, Any]:
    """A ChatBoost from a stored boost {boost_id, user_id, add_date, expiration_date}."""
    user = world.users[boost["user_id"]]
    return {
        "boost_id": boost["boost_id"],
        "add_date": boost["add_date"],
        "expiration_date": boost["expiration_date"],
        "source": {"source": "premium", "user": user.as_dict()},
    }


@method("getUserPersonalChatMessages")
def get_user_personal_chat_messages(world: World, bot: Bot, p: Params) -> list[dict[str, Any]]:
    user = world.users.get(p["user_id"])
    if user is None:
        raise TelegramError(400, "Bad Request: user not found")
    if not 1 <= p["limit"] <= 20:
        raise TelegramError(400, "Bad Request: limit must be between 1 and 20")
    chat = world.chats.get(user.extra.get("personal_chat_id") or 0)
    if chat is None:
        return []
    alive = [chat.messages[m] for m in chat.messages if m not in chat.deleted]
    return alive[-p["limit"] :]
