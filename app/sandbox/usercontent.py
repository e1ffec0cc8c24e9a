"""Turn a user API message body (JSON, files as base64) into Telegram message content."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from .formatting import auto_entities
from .media import Upload
from .world import TelegramError, UserActionError, World, text_content

MAX_CAPTION = 1024
KINDS = ("text", "photo", "album", "document", "contact", "location")


def user_contents(world: World, body: dict[str, Any], owner: int, user_id: int) -> list[dict[str, Any]]:
    """Message contents for one user action (an album gives several, sharing media_group_id).

    Body keys: text | photo {data|file_id, caption} | album [{type?, data|file_id, caption,
    file_name}] | document {data|file_id, file_name, mime_type, caption} |
    contact {phone_number, first_name?, last_name?} | location {latitude, longitude}.
    """
    given = [k for k in KINDS if body.get(k) is not None]
    if len(given) != 1:
        raise UserActionError(400, f"give exactly one of {', '.join(KINDS)}")
    kind = given[0]
    value = body[kind]
    if kind == "text":
        if not isinstance(value, str):
            raise UserActionError(400, "text must be a string")
        return [text_content(value)]
    if kind in ("photo", "document"):
        return [_media(world, kind, _object(value, kind), owner)]
    if kind == "album":
        return _album(world, value, owner)
    if kind == "contact":
        return [{"contact": _contact(world, user_id, _object(value, kind))}]
    return [{"location": _location(_object(value, kind))}]


def _object(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise UserActionError(400, f"{name} must be an object")
    return value


def _media(world: World, kind: str, item: dict[str, Any], owner: int) -> dict[str, Any]:
    if item.get("file_id"):
        stored = world.file_by_any_id(str(item["file_id"]))
        if stored.kind != kind:
            raise UserActionError(400, f"file {item['file_id']} is a {stored.kind}, not a {kind}")
    else:
        try:
            data = base64.b64decode(item.get("data") or "", validate=True)
        except (binascii.Error, ValueError):
            raise UserActionError(400, "data must be base64") from None
        if not data:
            raise UserActionError(400, f"{kind} needs data (base64) or file_id")
        limit = world.limits.photo_bytes if kind == "photo" else world.limits.upload_bytes
        if len(data) > limit:
            raise UserActionError(400, f"the {kind} is larger than {limit} bytes")
        try:
            stored = world.store_file(kind, Upload(data, item.get("file_name"), item.get("mime_type")))
        except TelegramError:  # an image Telegram could not read
            raise UserActionError(400, f"the {kind} is not an image Telegram could use") from None
    content = world.media_object(stored, owner)
    caption = item.get("caption")
    if caption:
        if len(caption) > MAX_CAPTION:
            raise UserActionError(400, f"caption is longer than {MAX_CAPTION} characters")
        content["caption"] = caption
        if entities := auto_entities(caption):
            content["caption_entities"] = entities
    return content


def _album(world: World, items: Any, owner: int) -> list[dict[str, Any]]:
    if not isinstance(items, list) or not 2 <= len(items) <= 10:
        raise UserActionError(400, "album must be a list of 2-10 items")
    group_id = str(world._random.randrange(10**17, 10**18))
    out = []
    for item in items:
        item = _object(item, "album item")
        kind = item.get("type", "photo")
        if kind not in ("photo", "document"):
            raise UserActionError(400, "album items are photos or documents")
        out.append({"media_group_id": group_id, **_media(world, kind, item, owner)})
    return out


def _contact(world: World, user_id: int, value: dict[str, Any]) -> dict[str, Any]:
    """A shared contact; without a name it is the user's own (and carries their user_id)."""
    phone = value.get("phone_number")
    if not isinstance(phone, str) or not phone.strip():
        raise UserActionError(400, "contact.phone_number is required")
    if value.get("first_name"):
        contact = {"phone_number": phone, "first_name": str(value["first_name"])}
        if value.get("last_name"):
            contact["last_name"] = str(value["last_name"])
        return contact
    user = world.get_user(user_id)
    contact = {"phone_number": phone, "first_name": user.first_name, "user_id": user.id}
    if user.last_name:
        contact["last_name"] = user.last_name
    return contact


def _location(value: dict[str, Any]) -> dict[str, Any]:
    try:
        lat, lon = float(value["latitude"]), float(value["longitude"])
    except (KeyError, TypeError, ValueError):
        raise UserActionError(400, "location needs numeric latitude and longitude") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise UserActionError(400, "latitude must be within ±90 and longitude within ±180")
    return {"latitude": lat, "longitude": lon}
