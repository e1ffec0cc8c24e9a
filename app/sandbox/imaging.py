"""Photos as Telegram makes them: decoded with Pillow and re-encoded as a ladder of JPEG sizes."""

# Telegram never keeps an uploaded photo as it came: it decodes it and stores JPEGs whose
# longer side is at most 90 ("s"), 320 ("m"), 800 ("x") and 1280 ("y") pixels, never
# enlarging, so a 640x480 upload gives 90x68, 320x240 and 640x480. Every size is a file
# of its own, with its own file_id, file_unique_id, dimensions and file_size.

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

LADDER = (90, 320, 800, 1280)
THUMBNAIL_SIDE = 320  # thumbnails of videos, documents and stickers
JPEG_QUALITY = 87
MAX_SIDES_SUM = 10_000  # width + height, Telegram's PHOTO_INVALID_DIMENSIONS
MAX_RATIO = 20


class ImageError(ValueError):
    """Bytes that are not an image Telegram could decode (IMAGE_PROCESS_FAILED)."""


class DimensionsError(ValueError):
    """An image too large or too thin to be a photo (PHOTO_INVALID_DIMENSIONS)."""


@dataclass(frozen=True, slots=True)
class Rendition:
    """One JPEG of the ladder."""

    data: bytes
    width: int
    height: int


def _open(data: bytes) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as e:
        raise ImageError(str(e)) from None
    return ImageOps.exif_transpose(image)


def _rgb(image: Image.Image) -> Image.Image:
    """JPEG has no transparency: flatten onto white, as Telegram's photos show it."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image.convert("RGB")


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()


def photo_ladder(data: bytes) -> list[Rendition]:
    """The JPEG sizes of a photo, smallest first; ImageError / DimensionsError as Telegram."""
    image = _open(data)
    width, height = image.size
    if width + height > MAX_SIDES_SUM or max(width, height) > MAX_RATIO * max(1, min(width, height)):
        raise DimensionsError(f"{width}x{height}")
    image = _rgb(image)
    longest = max(width, height)
    sides = [side for side in LADDER[:-1] if side < longest] + [min(longest, LADDER[-1])]
    out = []
    for side in sides:
        copy = image.copy()
        if side < longest:
            copy.thumbnail((side, side), Image.Resampling.LANCZOS)
        out.append(Rendition(_jpeg(copy), *copy.size))
    return out


def thumbnail(data: bytes) -> Rendition | None:
    """A JPEG of at most 320 px for a video, document or sticker; None when not an image."""
    try:
        image = _rgb(_open(data))
    except ImageError:
        return None
    image.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.LANCZOS)
    return Rendition(_jpeg(image), *image.size)


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of an image Pillow can read, else None (reads the header only)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except (UnidentifiedImageError, OSError, ValueError):
        return None


def sample_png(width: int = 8, height: int = 8, rgb: tuple[int, int, int] = (200, 60, 40)) -> bytes:
    """A real, tiny PNG of one colour, for tests and demos."""
    row = b"\x00" + bytes(rgb) * width
    raw = zlib.compress(row * height)

    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")
