"""Photos in the chat: only real images up to 10 MB, kept in Storage under a random key."""

from __future__ import annotations

import asyncio
import io
import secrets

from PIL import Image, UnidentifiedImageError

from app.domain.chat.conversations import ChatError
from app.i18n import N_
from app.storage import Storage

MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 50_000_000  # a small file that unpacks into a huge picture is refused too
FORMATS = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
    "GIF": ("image/gif", "gif"),
}


def check(data: bytes) -> tuple[str, str]:
    """The content type and extension of a valid image; ChatError otherwise."""
    if len(data) > MAX_BYTES:
        raise ChatError(N_("This photo is too large: at most 10 MB."))
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format or ""
            width, height = image.size
            image.verify()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise ChatError(N_("This file is not a photo. Send a JPEG, PNG, WebP or GIF image.")) from None
    if kind not in FORMATS or width * height > MAX_PIXELS:
        raise ChatError(N_("This file is not a photo. Send a JPEG, PNG, WebP or GIF image."))
    return FORMATS[kind]


async def store(storage: Storage, data: bytes) -> str:
    """Check and keep a photo; its Storage key (random: it cannot be guessed)."""
    content_type, extension = await asyncio.to_thread(check, data)
    key = f"chat/{secrets.token_urlsafe(18)}.{extension}"
    await storage.put(key, data, content_type)
    return key
