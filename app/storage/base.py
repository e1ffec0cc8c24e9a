"""The Storage protocol, the object it returns, its errors, and the rules every key obeys."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

MAX_KEY_BYTES = 512
# The usual file-name limit; enforced for S3 too so both backends accept the same keys.
MAX_PART_BYTES = 255
# DiskStorage keeps content types under <media_dir>/.meta/, so no key may start there.
RESERVED_ROOT = ".meta"


class NotFound(KeyError):
    """No object is stored under the key."""


class InvalidKey(ValueError):
    """The key is one no Storage accepts."""


@dataclass(frozen=True)
class StoredObject:
    """An object's bytes and the content type it was stored with."""

    data: bytes
    content_type: str


@runtime_checkable
class Storage(Protocol):
    """Where uploaded media lives; keys are '/'-separated relative paths."""

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store data under key, replacing any object already there."""
        ...

    async def get(self, key: str) -> StoredObject:
        """Return the object under key; raise NotFound when there is none."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the object under key; do nothing when there is none."""
        ...

    async def url(self, key: str, expires: int = 3600) -> str:
        """Return a URL a browser can open to fetch the object."""
        ...


def check_key(key: str) -> None:
    """Raise InvalidKey, saying why, unless key is acceptable to every backend."""
    problem = _key_problem(key)
    if problem is not None:
        raise InvalidKey(f"{problem}: {key!r}")


def check_content_type(content_type: str) -> None:
    """Raise ValueError unless content_type can travel safely in an HTTP header."""
    if not isinstance(content_type, str) or not content_type:
        raise ValueError(f"content type must be a non-empty str: {content_type!r}")
    if not all(" " <= ch <= "~" for ch in content_type):
        raise ValueError(f"content type must be printable ASCII: {content_type!r}")


def _key_problem(key: object) -> str | None:
    if not isinstance(key, str):
        return "key must be a str"
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        return "key is not valid UTF-8 text"
    if size > MAX_KEY_BYTES:
        return f"key is longer than {MAX_KEY_BYTES} bytes"
    if any(unicodedata.category(ch) == "Cc" for ch in key):
        return "key contains a control character"
    if "\\" in key:
        return "key contains a backslash"
    if key.startswith("/"):
        return "key starts with '/'"
    return _parts_problem(key.split("/"))


def _parts_problem(parts: list[str]) -> str | None:
    if any(part == "" for part in parts):
        return "key has an empty part"
    if any(part in (".", "..") for part in parts):
        return "key has a '.' or '..' part"
    if any(len(part.encode("utf-8")) > MAX_PART_BYTES for part in parts):
        return f"key has a part longer than {MAX_PART_BYTES} bytes"
    if parts[0] == RESERVED_ROOT:
        return f"keys under {RESERVED_ROOT}/ are reserved"
    return None
