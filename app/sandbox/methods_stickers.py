"""Sticker sets: upload sticker files, create and edit sets, read them back."""

from __future__ import annotations

import re
from typing import Any

from .errors import TelegramError
from .media import StoredFile, Upload
from .methods import Params, method
from .methods_media import _file
from .world import Bot, World

FORMATS = ("static", "animated", "video")
TYPES = ("regular", "mask", "custom_emoji")
_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
MAX_STICKERS = {"regular": 120, "mask": 120, "custom_emoji": 200}


def _sets(world: World) -> dict[str, dict[str, Any]]:
    return world.registry.setdefault("sticker_sets", {})


def _owned_set(world: World, bot: Bot, name: str) -> dict[str, Any]:
    sticker_set = _sets(world).get(name)
    if sticker_set is None or sticker_set["bot_id"] != bot.id:
        raise TelegramError(400, "Bad Request: STICKERSET_INVALID")
    return sticker_set


def _user(world: World, user_id: int) -> None:
    if user_id not in world.users:
        raise TelegramError(400, "Bad Request: user not found")


def _input_sticker(world: World, bot: Bot, p: Params, item: dict[str, Any], set_name: str, kind: str) -> str:
    """Store an InputSticker of a set; returns the file's unique id."""
    fmt = item.get("format")
    if fmt not in FORMATS:
        raise TelegramError(400, "Bad Request: STICKER_FORMAT_INVALID")
    emoji = item.get("emoji_list") or []
    if not 1 <= len(emoji) <= 20:
        raise TelegramError(400, "Bad Request: STICKER_EMOJI_INVALID")
    value = item.get("sticker")
    if isinstance(value, str) and value.startswith("attach://"):
        value = p.get(value[len("attach://") :])
    stored = (
        world.store_file("sticker", value)
        if isinstance(value, Upload)
        else _file(world, bot, p, value, "sticker")
    )
    if stored.meta.get("set_name") not in (None, set_name):
        raise TelegramError(400, "Bad Request: STICKER_ALREADY_IN_SET")  # a sticker is in one set only
    stored.meta |= {
        "format": fmt,
        "emoji": emoji[0],
        "emoji_list": emoji,
        "set_name": set_name,
        "sticker_type": kind,
    }
    stored.meta["keywords"] = item.get("keywords") or []
    if item.get("mask_position") and kind == "mask":
        stored.meta["mask_position"] = item["mask_position"]
    if kind == "custom_emoji":
        stored.meta["custom_emoji_id"] = str(int.from_bytes(stored.unique_id.encode()[-8:], "big"))
    world.dirty_files.add(stored.unique_id)
    return stored.unique_id


def _sticker_of(world: World, bot: Bot, file_id: str) -> tuple[StoredFile, dict[str, Any]]:
    stored = world.file_for(file_id, bot.id, "sticker")
    sticker_set = _sets(world).get(stored.meta.get("set_name") or "")
    if sticker_set is None or sticker_set["bot_id"] != bot.id:
        raise TelegramError(400, "Bad Request: STICKERSET_INVALID")
    return stored, sticker_set


@method("uploadStickerFile")
def upload_sticker_file(world: World, bot: Bot, p: Params) -> dict[str, Any]:
    _user(world, p["user_id"])
    if p["sticker_format"] not in FORMATS:
        raise TelegramError(400, "Bad Request: STICKER_FORMAT_INVALID")
    if not isinstance(p["sticker"], Upload):
        raise TelegramError(400, "Bad Request: the sticker must be uploaded as a new file")
    stored = world.store_file("sticker", p["sticker"], format=p["sticker_format"])
    obj = world.file_object(stored, bot.id)
    return {
        "file_id": obj["file_id"],
        "file_unique_id": stored.unique_id,
        "file_size": len(stored.data),
        "file_path": stored.path,
    }


@method("createNewStickerSet")
def create_new_sticker_set(world: World, bot: Bot, p: Params) -> bool:
    _user(world, p["user_id"])
    name = p["name"]
    suffix = f"_by_{bot.username}"
    if not _NAME_RE.match(name) or not name.lower().endswith(suffix.lower()) or "__" in name:
        raise TelegramError(400, "Bad Request: invalid sticker set name is specified")
    if name.lower() in {n.lower() for n in _sets(world)}:
        raise TelegramError(400, "Bad Request: sticker set name is already occupied")
    if not 1 <= len(p["title"]) <= 64:
        raise TelegramError(400, "Bad Request: STICKERSET_TITLE_INVALID")
    kind = p.get("sticker_type") or "regular"
    if kind not in TYPES:
        raise TelegramError(400, "Bad Request: STICKER_TYPE_INVALID")
    stickers = p["stickers"]
    if not 1 <= len(stickers) <= 50:
        raise TelegramError(400, "Bad Request: sticker set must have 1-50 initial stickers")
    ids = [_input_sticker(world, bot, p, item, name, kind) for item in stickers]
    _sets(world)[name] = {
        "title": p["title"],
        "sticker_type": kind,
        "bot_id": bot.id,
        "owner_id": p["user_id"],
        "stickers": ids,
        "needs_repainting": bool(p.get("needs_repainting")),
    }
    return True


@method("addStickerToSet")
def add_sticker_to_set(world: World, bot: Bot, p: Params) -> bool:
    _user(world, p["user_id"])
    sticker_set = _owned_set(world, bot, p["name"])
    if len(sticker_set["stickers"]) >= MAX_STICKERS[sticker_set["sticker_type"]]:
        raise TelegramError(400, "Bad Request: STICKERS_TOO_MUCH")
    uid = _input_sticker(world, bot, p, p["sticker"], p["name"], sticker_set["sticker_type"])
    sticker_set["stickers"].append(uid)
    return True


@method("setStickerPositionInSet")
def set_sticker_position_in_set(world: World, bot: Bot, p: Params) -> bool:
    stored, sticker_set = _sticker_of(world, bot, p["sticker"])
    stickers = sticker_set["stickers"]
    if not 0 <= p["position"] < len(stickers):
        raise TelegramError(400, "Bad Request: STICKER_POSITION_INVALID")
    stickers.remove(stored.unique_id)
    stickers.insert(p["position"], stored.unique_id)
    return True


@method("deleteStickerFromSet")
def delete_sticker_from_set(world: World, bot: Bot, p: Params) -> bool:
    stored, sticker_set = _sticker_of(world, bot, p["sticker"])
    sticker_set["stickers"].remove(stored.unique_id)
    stored.meta.pop("set_name", None)
    world.dirty_files.add(stored.unique_id)
    return True


@method("replaceStickerInSet")
def replace_sticker_in_set(world: World, bot: Bot, p: Params) -> bool:
    _user(world, p["user_id"])
    sticker_set = _owned_set(world, bot, p["name"])
    old, old_set = _sticker_of(world, bot, p["old_sticker"])
    if old_set is not sticker_set:
        raise TelegramError(400, "Bad Request: STICKER_INVALID")
    uid = _input_sticker(world, bot, p, p["sticker"], p["name"], sticker_set["sticker_type"])
    stickers = sticker_set["stickers"]
    stickers[stickers.index(old.unique_id)] = uid
    old.meta.pop("set_name", None)
    world.dirty_files.add(old.unique_id)
    return True


def _edit_sticker(world: World, bot: Bot, p: Params, **meta: Any) -> bool:
    stored, _ = _sticker_of(world, bot, p["sticker"])
    stored.meta |= meta
    world.dirty_files.add(stored.unique_id)
    return True


@method("setStickerEmojiList")
def set_sticker_emoji_list(world: World, bot: Bot, p: Params) -> bool:
    emoji = p["emoji_list"]
    if not 1 <= len(emoji) <= 20:
        raise TelegramError(400, "Bad Request: STICKER_EMOJI_INVALID")
    return _edit_sticker(world, bot, p, emoji=emoji[0], emoji_list=emoji)


@method("setStickerKeywords")
def set_sticker_keywords(world: World, bot: Bot, p: Params) -> bool:
    keywords = p.get("keywords") or []
    if len(keywords) > 20 or sum(len(k) for k in keywords) > 64:
        raise TelegramError(400, "Bad Request: KEYWORDS_INVALID")
    return _edit_sticker(world, bot, p, keywords=keywords)


@method("setStickerMaskPosition")
def set_sticker_mask_position(world: World, bot: Bot, p: Params) -> bool:
    _, sticker_set = _sticker_of(world, bot, p["sticker"])
    if sticker_set["sticker_type"] != "mask":
        raise TelegramError(400, "Bad Request: STICKER_MASK_COORDS_NOT_SUPPORTED")
    return _edit_sticker(world, bot, p, mask_position=p.get("mask_position"))


@method("setStickerSetTitle")
def set_sticker_set_title(world: World, bot: Bot, p: Params) -> bool:
    sticker_set = _owned_set(world, bot, p["name"])
    if not 1 <= len(p["title"]) <= 64:
        raise TelegramError(400, "Bad Request: STICKERSET_TITLE_INVALID")
    sticker_set["title"] = p["title"]
    return True


@method("setStickerSetThumbnail")
def set_sticker_set_thumbnail(world: World, bot: Bot, p: Params) -> bool:
    _user(world, p["user_id"])
    sticker_set = _owned_set(world, bot, p["name"])
    if p["format"] not in FORMATS:
        raise TelegramError(400, "Bad Request: STICKER_FORMAT_INVALID")
    thumb = p.get("thumbnail")
    if thumb is None:
        sticker_set.pop("thumbnail", None)
        return True
    if not isinstance(thumb, Upload) or (stored := world.store_thumbnail(thumb)) is None:
        raise TelegramError(400, "Bad Request: STICKER_THUMB_PNG_NOPNG")
    sticker_set["thumbnail"] = stored.unique_id
    return True


@method("setCustomEmojiStickerSetThumbnail")
def set_custom_emoji_sticker_set_thumbnail(world: World, bot: Bot, p: Params) -> bool:
    sticker_set = _owned_set(world, bot, p["name"])
    if sticker_set["sticker_type"] != "custom_emoji":
        raise TelegramError(400, "Bad Request: STICKERSET_INVALID")
    if p.get("custom_emoji_id"):
        sticker_set["thumbnail_custom_emoji_id"] = p["custom_emoji_id"]
    else:
        sticker_set.pop("thumbnail_custom_emoji_id", None)
    return True


@method("deleteStickerSet")
def delete_sticker_set(world: World, bot: Bot, p: Params) -> bool:
    sticker_set = _owned_set(world, bot, p["name"])
    for uid in sticker_set["stickers"]:
        if uid in world.files:
            world.files[uid].meta.pop("set_name", None)
            world.dirty_files.add(uid)
    del _sets(world)[p["name"]]
    return True


@method("getStickerSet")
def get_sticker_set(world: World, bot: Bot, p: Params) -> dict[str, Any]:
    sticker_set = _sets(world).get(p["name"])
    if sticker_set is None:
        raise TelegramError(400, "Bad Request: STICKERSET_INVALID")
    out: dict[str, Any] = {
        "name": p["name"],
        "title": sticker_set["title"],
        "sticker_type": sticker_set["sticker_type"],
        "stickers": [world.file_object(world.files[uid], bot.id) for uid in sticker_set["stickers"]],
    }
    if (thumb := sticker_set.get("thumbnail")) in world.files:
        out["thumbnail"] = world.photo_size(world.files[thumb], bot.id)
    return out


@method("getCustomEmojiStickers")
def get_custom_emoji_stickers(world: World, bot: Bot, p: Params) -> list[dict[str, Any]]:
    wanted = p["custom_emoji_ids"]
    if len(wanted) > 200:
        raise TelegramError(400, "Bad Request: too many custom emoji identifiers")
    by_id = {f.meta["custom_emoji_id"]: f for f in world.files.values() if f.meta.get("custom_emoji_id")}
    return [world.file_object(by_id[e], bot.id) for e in wanted if e in by_id]
