"""Where uploaded media lives: one Storage protocol, on local disk or in S3."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from app.storage.base import InvalidKey, NotFound, Storage, StoredObject
from app.storage.disk import DiskStorage
from app.storage.layered import LayeredStorage
from app.storage.s3 import S3CheckError, S3Settings, S3Storage, check_s3, open_s3

__all__ = [
    "DiskStorage",
    "InvalidKey",
    "LayeredStorage",
    "NotFound",
    "S3CheckError",
    "S3Settings",
    "S3Storage",
    "Storage",
    "StoredObject",
    "check_s3",
    "open_storage",
]


@contextlib.asynccontextmanager
async def open_storage(
    *, media_dir: Path, media_url_base: str, s3: S3Settings | None
) -> AsyncIterator[Storage]:
    """Yield S3 storage when s3 settings are given, else disk storage under media_dir.

    With S3, what media_dir already holds (from before a switch to S3) stays readable: S3 is
    read first, then the disk."""
    async with contextlib.AsyncExitStack() as stack:
        disk = DiskStorage(media_dir, media_url_base)
        if s3 is None:
            yield disk
        else:
            yield LayeredStorage(await open_s3(stack, s3), [disk])
