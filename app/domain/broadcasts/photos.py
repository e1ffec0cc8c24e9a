"""A broadcast's optional photo: only a real image (checked with Pillow, as the other photos Bozor
takes) up to 10 MB, kept in Storage under a random key that names nothing else."""

from __future__ import annotations

import asyncio
import io
import re
import secrets

from PIL import Image, UnidentifiedImageError

from app.domain.broadcasts.model import BroadcastError
from app.i18n import N_
from app.storage import Storage

MAX_BYTES = 10 * 1024 * 1024  # Telegram takes photos up to 10 MB
MAX_PIXELS = 50_000_000  # a small file that unpacks into a huge picture is refused too
MAX_SIDES = 10_000  # Telegram: width + height at most 10,000
MAX_RATIO = 20  # … and a ratio of at most 20
FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp")}
KEY_RE = re.compile(r"^broadcasts/[A-Za-z0-9_-]{16,64}\.(jpg|png|webp)$")  # as sql/0083 checks
NOT_A_PHOTO = N_("This file is not a photo. Send a JPEG, PNG or WebP image.")


def check(data: bytes) -> tuple[str, str]:
    """The content type and extension of an image Telegram takes as a photo; BroadcastError otherwise."""
    if len(data) > MAX_BYTES:
        raise BroadcastError(N_("A photo may have at most 10 MB."))
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format or ""
            width, height = image.size
            image.verify()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise BroadcastError(NOT_A_PHOTO) from None
    if kind not in FORMATS or width * height > MAX_PIXELS or not width or not height:
        raise BroadcastError(NOT_A_PHOTO)
    if width + height > MAX_SIDES or max(width, height) > MAX_RATIO * min(width, height):
        raise BroadcastError(N_("Telegram does not take a photo of this size or shape."))
    return FORMATS[kind]


async def store_photo(storage: Storage, data: bytes) -> str:
    """Check and keep an uploaded photo; its Storage key (random: it cannot be guessed)."""
    content_type, extension = await asyncio.to_thread(check, data)
    key = f"broadcasts/{secrets.token_urlsafe(18)}.{extension}"
    await storage.put(key, data, content_type)
    return key


def is_photo_key(key: str) -> bool:
    """Whether `key` can be a broadcast photo's (a form carries it between preview and save)."""
    return bool(KEY_RE.match(key))
