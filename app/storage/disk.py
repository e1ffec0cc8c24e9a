"""Storage on local disk: bytes in <media_dir>/<key>, content types in <media_dir>/.meta/<key>."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import tempfile
import urllib.parse
from pathlib import Path

from app.storage.base import (
    RESERVED_ROOT,
    NotFound,
    StoredObject,
    check_content_type,
    check_key,
)

DEFAULT_CONTENT_TYPE = "application/octet-stream"
_FILE_MODE = 0o644  # mkstemp makes 0600; a web server running as another user must read media
_MKDIR_ATTEMPTS = 10
_MISSING = (FileNotFoundError, NotADirectoryError, IsADirectoryError)


class DiskStorage:
    """Keeps objects as plain files; URLs point at the app's /media/ route."""

    def __init__(self, media_dir: Path, media_url_base: str) -> None:
        self._root = Path(media_dir)
        self._meta_root = self._root / RESERVED_ROOT
        self._url_base = media_url_base.rstrip("/")

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        check_key(key)
        check_content_type(content_type)
        meta = json.dumps({"content_type": content_type}).encode()
        await asyncio.to_thread(self._put_sync, key, data, meta)

    async def get(self, key: str) -> StoredObject:
        check_key(key)
        return await asyncio.to_thread(self._get_sync, key)

    async def delete(self, key: str) -> None:
        check_key(key)
        await asyncio.to_thread(self._delete_sync, key)

    async def url(self, key: str, expires: int = 3600) -> str:
        check_key(key)
        return f"{self._url_base}/{urllib.parse.quote(key)}"

    def keys(self) -> list[str]:
        """Every stored key, sorted (a half-written temporary file is none)."""
        if not self._root.is_dir():
            return []
        found = []
        for path in self._root.rglob("*"):
            relative = path.relative_to(self._root)
            if relative.parts[0] == RESERVED_ROOT or not path.is_file():
                continue
            if path.name.startswith(".") and path.name.endswith(".tmp"):
                continue
            found.append(relative.as_posix())
        return sorted(found)

    def _put_sync(self, key: str, data: bytes, meta: bytes) -> None:
        # Bytes first: if a delete of the same key races us, the worst left behind is an
        # orphan sidecar nobody sees, never an object that keeps the wrong type for good.
        _write_atomic(self._root / key, data)
        _write_atomic(self._meta_root / key, meta)

    def _get_sync(self, key: str) -> StoredObject:
        try:
            data = (self._root / key).read_bytes()
        except _MISSING as exc:
            raise NotFound(key) from exc
        return StoredObject(data=data, content_type=self._read_type(key))

    def _read_type(self, key: str) -> str:
        try:
            meta = json.loads((self._meta_root / key).read_bytes())
        except _MISSING:  # a file copied in by hand has no sidecar
            return DEFAULT_CONTENT_TYPE
        return str(meta["content_type"])

    def _delete_sync(self, key: str) -> None:
        # Bytes first, so get() reports NotFound as soon as anything is gone.
        for root in (self._root, self._meta_root):
            path = root / key
            with contextlib.suppress(*_MISSING):
                path.unlink()
            _prune_empty_dirs(path.parent, stop=root)


def _write_atomic(path: Path, data: bytes) -> None:
    """Replace path with data so readers see the old file or the new one, never a part."""
    fd, tmp = _make_temp_beside(path)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(tmp, _FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _make_temp_beside(path: Path) -> tuple[int, str]:
    for _ in range(_MKDIR_ATTEMPTS - 1):
        # A concurrent delete may prune the folder while we create it or our temp file in it.
        with contextlib.suppress(FileNotFoundError, FileExistsError):
            return _mkdir_and_temp(path)
    return _mkdir_and_temp(path)


def _mkdir_and_temp(path: Path) -> tuple[int, str]:
    path.parent.mkdir(parents=True, exist_ok=True)
    return tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:32]}.", suffix=".tmp")


def _prune_empty_dirs(folder: Path, *, stop: Path) -> None:
    """Remove folder and its parents up to (not including) stop while they are empty."""
    while folder != stop and folder.is_relative_to(stop):
        try:
            folder.rmdir()
        except OSError:  # not empty, or already gone
            return
        folder = folder.parent
