"""Files: uploads, stable file_id / file_unique_id, photo sizes from the image header, downloads."""

# Photo sizes: Telegram recompresses a photo into several JPEGs; we keep the uploaded bytes
# as they are and describe two sizes, the width and height read from the PNG or JPEG header
# scaled to at most 320 and 1280 pixels on the longer side (one size when the image is
# smaller than 320). Every size downloads as the original bytes.

from __future__ import annotations

import base64
import hashlib
import mimetypes
import struct
import zlib
from dataclasses import dataclass
from typing import Any

from .errors import WRONG_FILE, Message, TelegramError, UserActionError

PHOTO_SIDES = (320, 1280)
_PREFIX = {"photo": "AgAC", "document": "BQAC"}  # what Telegram's file ids start with


@dataclass(slots=True)
class Upload:
    """A file part of a multipart request."""

    data: bytes
    filename: str | None = None
    content_type: str | None = None


@dataclass(slots=True)
class StoredFile:
    unique_id: str
    kind: str  # "photo" or "document"
    data: bytes
    path: str
    mime_type: str
    file_name: str | None = None
    width: int = 0
    height: int = 0


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG or JPEG header, or None for anything else."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return struct.unpack(">II", data[16:24])
    if data[:2] != b"\xff\xd8":
        return None
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        length = struct.unpack(">H", data[i + 2 : i + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height
        i += 2 + length
    return None


def sample_png(width: int = 8, height: int = 8, rgb: tuple[int, int, int] = (200, 60, 40)) -> bytes:
    """A real, tiny PNG of one colour, for tests and demos."""
    row = b"\x00" + bytes(rgb) * width
    raw = zlib.compress(row * height)

    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def file_id(owner: int, unique_id: str, kind: str, variant: int = 0) -> str:
    """A file id for one bot (owner); another bot cannot use it, as in Telegram."""
    token = base64.urlsafe_b64encode(f"{owner}.{unique_id}.{variant}".encode()).decode().rstrip("=")
    return _PREFIX.get(kind, "BQAC") + token


def parse_file_id(value: str) -> tuple[int, str] | None:
    """(owner, unique_id) of a file id we issued, else None."""
    body = value[4:]
    try:
        owner, unique_id, _ = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode().split(".")
        return int(owner), unique_id
    except (ValueError, UnicodeDecodeError):
        return None


def rekey(msg: Message, owner: int) -> Message:
    """A copy of `msg` whose file ids belong to `owner` (each bot gets its own ids)."""
    if "photo" not in msg and "document" not in msg:
        return msg
    out = dict(msg)
    if "photo" in out:
        out["photo"] = [_rekey_one(p, owner, "photo", i) for i, p in enumerate(out["photo"])]
    if "document" in out:
        out["document"] = _rekey_one(out["document"], owner, "document", 0)
    return out


def _rekey_one(obj: dict[str, Any], owner: int, kind: str, variant: int) -> dict[str, Any]:
    parsed = parse_file_id(obj["file_id"])
    if parsed is None or parsed[0] == owner:
        return obj
    return {**obj, "file_id": file_id(owner, parsed[1], kind, variant)}


class MediaMixin:
    """World methods for files (mixed into World)."""

    files: dict[str, StoredFile]

    def _init_media(self) -> None:
        self.files = {}
        self.file_paths: dict[str, str] = {}  # file_path -> unique id

    def store_file(self, kind: str, upload: Upload) -> StoredFile:
        """Keep an uploaded file; the same bytes always get the same file_unique_id."""
        digest = hashlib.sha256(kind.encode() + upload.data).digest()
        unique_id = "AQAD" + base64.urlsafe_b64encode(digest[:12]).decode()
        stored = self.files.get(unique_id)
        if stored is not None:
            return stored
        mime = upload.content_type if upload.content_type not in (None, "application/octet-stream") else None
        if mime is None:
            mime = mimetypes.guess_type(upload.filename or "")[0] or "application/octet-stream"
        if kind == "photo":
            size = image_size(upload.data)
            if size is None:
                raise TelegramError(400, "Bad Request: IMAGE_PROCESS_FAILED")
            mime = "image/png" if upload.data[:4] == b"\x89PNG" else "image/jpeg"
        else:
            size = (0, 0)
        ext = mimetypes.guess_extension(mime) or ".bin"
        folder = "photos" if kind == "photo" else "documents"
        path = f"{folder}/file_{len(self.files)}{ext}"
        stored = StoredFile(unique_id, kind, upload.data, path, mime, upload.filename, *size)
        self.files[unique_id] = stored
        self.file_paths[path] = unique_id
        return stored

    def file_for(self, value: str, owner: int, kind: str | None = None) -> StoredFile:
        """The stored file a bot names by file_id; Telegram's errors for foreign or wrong ids."""
        if value.startswith(("http://", "https://")):
            raise TelegramError(400, WRONG_FILE)  # the sandbox has no internet to fetch from
        parsed = parse_file_id(value)
        stored = self.files.get(parsed[1]) if parsed else None
        if parsed is None or stored is None or parsed[0] != owner:
            raise TelegramError(400, WRONG_FILE)
        if kind is not None and stored.kind != kind:
            raise TelegramError(
                400, f"Bad Request: can't use file of type {stored.kind.title()} as {kind.title()}"
            )
        return stored

    def file_by_any_id(self, value: str) -> StoredFile:
        """A file by any bot's file_id or by file_unique_id (the user API shows any file)."""
        parsed = parse_file_id(value)
        unique_id = parsed[1] if parsed else "AQAD" + value[4:]  # AgAD: a smaller photo size
        stored = self.files.get(unique_id)
        if stored is None:
            raise UserActionError(404, f"no file {value!r}")
        return stored

    def media_object(self, stored: StoredFile, owner: int) -> dict[str, Any]:
        """The message content for a stored file: {"photo": [PhotoSize...]} or {"document": ...}."""
        if stored.kind == "photo":
            return {"photo": self.photo_sizes(stored, owner)}
        doc: dict[str, Any] = {
            "file_id": file_id(owner, stored.unique_id, "document"),
            "file_unique_id": stored.unique_id,
            "mime_type": stored.mime_type,
            "file_size": len(stored.data),
        }
        if stored.file_name:
            doc["file_name"] = stored.file_name
        return {"document": doc}

    def photo_sizes(self, stored: StoredFile, owner: int) -> list[dict[str, Any]]:
        sizes = []
        longest = max(stored.width, stored.height, 1)
        sides = [*[s for s in PHOTO_SIDES if s < longest][:1], min(longest, PHOTO_SIDES[-1])]
        for i, side in enumerate(sides):
            scale = side / longest
            sizes.append(
                {
                    "file_id": file_id(owner, stored.unique_id, "photo", i),
                    "file_unique_id": stored.unique_id
                    if i == len(sides) - 1
                    else "AgAD" + stored.unique_id[4:],
                    "width": max(1, round(stored.width * scale)),
                    "height": max(1, round(stored.height * scale)),
                    "file_size": len(stored.data),
                }
            )
        return sizes

    def file_path_bytes(self, path: str) -> StoredFile | None:
        unique_id = self.file_paths.get(path)
        return self.files.get(unique_id) if unique_id else None
