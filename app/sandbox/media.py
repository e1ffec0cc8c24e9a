"""Files: uploads, stable file_id / file_unique_id per bot, media objects of every kind, downloads."""

from __future__ import annotations

import base64
import hashlib
import mimetypes
from dataclasses import dataclass, field
from typing import Any

from . import imaging
from .errors import WRONG_FILE, Message, TelegramError, UserActionError
from .imaging import image_size, sample_png

__all__ = ["KINDS", "StoredFile", "Upload", "image_size", "rekey", "sample_png"]

# What Telegram's file ids start with, per kind; thumbnails are "AAMC".
_PREFIX = {
    "photo": "AgAC",
    "document": "BQAC",
    "audio": "CQAC",
    "video": "BAAC",
    "voice": "AwAC",
    "video_note": "DQAC",
    "animation": "CgAC",
    "sticker": "CAAC",
    "live_photo": "BAAC",
    "thumbnail": "AAMC",
}
KINDS = tuple(k for k in _PREFIX if k != "thumbnail")
_FOLDERS = {"photo": "photos", "thumbnail": "thumbnails", "video_note": "video_notes", "live_photo": "videos"}
_DEFAULT_MIME = {
    "audio": "audio/mpeg",
    "voice": "audio/ogg",
    "video": "video/mp4",
    "video_note": "video/mp4",
    "animation": "video/mp4",
    "live_photo": "video/mp4",
}


@dataclass(slots=True)
class Upload:
    """A file part of a multipart request."""

    data: bytes
    filename: str | None = None
    content_type: str | None = None


@dataclass(slots=True)
class StoredFile:
    """One file on the emulated Telegram servers (a photo is one per size of its ladder).

    `meta` keeps what Telegram learns about a file: duration, performer, title, length,
    thumbnail (the unique id of its JPEG), sticker fields, and for photos `group` (the
    largest size's unique id) and, on the largest size, `sizes` (all sizes, smallest first).
    """

    unique_id: str
    kind: str
    data: bytes
    path: str
    mime_type: str
    file_name: str | None = None
    width: int = 0
    height: int = 0
    meta: dict[str, Any] = field(default_factory=dict)


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
    """A copy of `msg` whose file ids (at any depth) belong to `owner`; `msg` itself if none differ."""
    return _rekey(msg, owner)


def _rekey(obj: Any, owner: int) -> Any:
    if isinstance(obj, list):
        items = [_rekey(x, owner) for x in obj]
        return obj if all(a is b for a, b in zip(items, obj, strict=True)) else items
    if not isinstance(obj, dict):
        return obj
    out = obj
    if isinstance(fid := obj.get("file_id"), str) and "file_unique_id" in obj:
        parsed = parse_file_id(fid)
        if parsed is not None and parsed[0] != owner:
            out = {**obj, "file_id": fid[:4] + file_id(owner, parsed[1], "")[4:]}
    for key, value in obj.items():
        if isinstance(value, dict | list) and key != "chat":
            new = _rekey(value, owner)
            if new is not value:
                if out is obj:
                    out = dict(obj)
                out[key] = new
    return out


def _unique(kind: str, data: bytes, salt: str = "") -> str:
    digest = hashlib.sha256(kind.encode() + salt.encode() + data).digest()
    return "AQAD" + base64.urlsafe_b64encode(digest[:12]).decode()


class MediaMixin:
    """World methods for files (mixed into World)."""

    files: dict[str, StoredFile]

    def _init_media(self) -> None:
        self.files = {}
        self.file_paths: dict[str, str] = {}  # file_path -> unique id
        self.dirty_files: set[str] = set()  # files whose meta changed since the last save

    def _keep(self, stored: StoredFile) -> StoredFile:
        self.files[stored.unique_id] = stored
        self.file_paths[stored.path] = stored.unique_id
        return stored

    def _path(self, kind: str, ext: str) -> str:
        return f"{_FOLDERS.get(kind, kind + 's')}/file_{len(self.files)}{ext}"

    def store_file(self, kind: str, upload: Upload, **meta: Any) -> StoredFile:
        """Keep an upload; the same bytes always give the same file (and file_unique_id).

        A photo is re-encoded to Telegram's ladder of JPEG sizes; the largest is returned.
        """
        if kind == "photo":
            return self._store_photo(upload)
        unique_id = _unique(kind, upload.data)
        if (stored := self.files.get(unique_id)) is not None:
            return stored
        mime = upload.content_type if upload.content_type not in (None, "application/octet-stream") else None
        mime = mime or mimetypes.guess_type(upload.filename or "")[0] or _DEFAULT_MIME.get(kind)
        mime = mime or "application/octet-stream"
        ext = mimetypes.guess_extension(mime) or ".bin"
        size = imaging.image_size(upload.data) or (0, 0)
        stored = StoredFile(unique_id, kind, upload.data, self._path(kind, ext), mime, upload.filename, *size)
        stored.meta.update({k: v for k, v in meta.items() if v is not None})
        return self._keep(stored)

    def _store_photo(self, upload: Upload) -> StoredFile:
        largest_id = _unique("photo", upload.data, "largest")
        if (stored := self.files.get(largest_id)) is not None:
            return stored
        try:
            ladder = imaging.photo_ladder(upload.data)
        except imaging.DimensionsError:
            raise TelegramError(400, "Bad Request: PHOTO_INVALID_DIMENSIONS") from None
        except imaging.ImageError:
            raise TelegramError(400, "Bad Request: IMAGE_PROCESS_FAILED") from None
        ids = [_unique("photo", upload.data, str(r.width)) for r in ladder[:-1]] + [largest_id]
        for unique_id, rendition in zip(ids, ladder, strict=True):
            stored = StoredFile(
                unique_id, "photo", rendition.data, self._path("photo", ".jpg"), "image/jpeg",
                width=rendition.width, height=rendition.height, meta={"group": largest_id},
            )  # fmt: skip
            self._keep(stored)
        stored.meta["sizes"] = ids
        return stored

    def store_thumbnail(self, upload: Upload) -> StoredFile | None:
        """A JPEG thumbnail (at most 320 px) of an uploaded image; None when it is not one."""
        unique_id = _unique("thumbnail", upload.data)
        if (stored := self.files.get(unique_id)) is not None:
            return stored
        rendition = imaging.thumbnail(upload.data)
        if rendition is None:
            return None
        path = self._path("thumbnail", ".jpg")
        thumb = StoredFile(
            unique_id,
            "thumbnail",
            rendition.data,
            path,
            "image/jpeg",
            width=rendition.width,
            height=rendition.height,
        )
        return self._keep(thumb)

    def file_for(self, value: str, owner: int, kind: str | None = None, *, exact: bool = False) -> StoredFile:
        """The stored file a bot names by file_id; Telegram's errors for foreign or wrong ids.

        Any size of a photo names the whole photo, unless `exact` (getFile: that very size).
        """
        if value.startswith(("http://", "https://")):
            raise TelegramError(400, WRONG_FILE)  # the sandbox has no internet to fetch from
        parsed = parse_file_id(value)
        stored = self.files.get(parsed[1]) if parsed else None
        if parsed is None or stored is None or parsed[0] != owner:
            raise TelegramError(400, WRONG_FILE)
        if stored.kind == "photo" and not exact:
            stored = self.files[stored.meta["group"]]
        if kind is not None and stored.kind != kind:
            raise TelegramError(
                400, f"Bad Request: can't use file of type {_title(stored.kind)} as {_title(kind)}"
            )
        return stored

    def file_by_any_id(self, value: str) -> StoredFile:
        """A file by any bot's file_id or by file_unique_id (the user API shows any file)."""
        parsed = parse_file_id(value)
        stored = self.files.get(parsed[1] if parsed else value)
        if stored is None:
            raise UserActionError(404, f"no file {value!r}")
        return stored

    def media_object(self, stored: StoredFile, owner: int) -> dict[str, Any]:
        """Message content for a stored file: {"photo": [PhotoSize...]} or {kind: object}."""
        if stored.kind == "photo":
            return {"photo": self.photo_sizes(stored, owner)}
        return {stored.kind: self.file_object(stored, owner)}

    def photo_sizes(self, stored: StoredFile, owner: int) -> list[dict[str, Any]]:
        largest = self.files[stored.meta.get("group", stored.unique_id)]
        return [self.photo_size(self.files[uid], owner) for uid in largest.meta["sizes"]]

    def photo_size(self, stored: StoredFile, owner: int) -> dict[str, Any]:
        return {
            "file_id": file_id(owner, stored.unique_id, stored.kind),
            "file_unique_id": stored.unique_id,
            "width": stored.width,
            "height": stored.height,
            "file_size": len(stored.data),
        }

    def file_object(self, stored: StoredFile, owner: int) -> dict[str, Any]:
        """Document, Audio, Video, Animation, Voice, VideoNote, Sticker or LivePhoto."""
        kind, meta = stored.kind, stored.meta
        obj: dict[str, Any] = {
            "file_id": file_id(owner, stored.unique_id, kind),
            "file_unique_id": stored.unique_id,
        }
        if kind in ("video", "animation", "live_photo", "sticker"):
            obj |= {"width": meta.get("width", stored.width), "height": meta.get("height", stored.height)}
        if kind in ("audio", "video", "animation", "voice", "video_note", "live_photo"):
            obj["duration"] = meta.get("duration", 0)
        if kind == "video_note":
            obj["length"] = meta.get("length", stored.width or 240)
        if kind == "audio":
            obj |= {k: meta[k] for k in ("performer", "title") if meta.get(k)}
        if kind == "sticker":
            obj |= {
                "type": meta.get("sticker_type", "regular"),
                "is_animated": meta.get("format") == "animated",
                "is_video": meta.get("format") == "video",
            }
            obj |= {
                k: meta[k] for k in ("emoji", "set_name", "custom_emoji_id", "mask_position") if meta.get(k)
            }
        if kind == "live_photo" and (photo := meta.get("photo")) in self.files:
            obj["photo"] = self.photo_sizes(self.files[photo], owner)
        if kind in ("document", "audio", "video", "animation") and stored.file_name:
            obj["file_name"] = stored.file_name
        if kind not in ("video_note", "sticker"):
            obj["mime_type"] = stored.mime_type
        obj["file_size"] = len(stored.data)
        if (thumb := meta.get("thumbnail")) in self.files and kind != "voice":
            obj["thumbnail"] = self.photo_size(self.files[thumb], owner)
        return obj

    def file_path_bytes(self, path: str) -> StoredFile | None:
        unique_id = self.file_paths.get(path)
        return self.files.get(unique_id) if unique_id else None


def _title(kind: str) -> str:
    return kind.replace("_", " ").title().replace(" ", "")
