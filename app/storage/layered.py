"""Storage that writes to one backend and also reads the ones used before it.

Switching media to S3 does not move what is already on disk: the photos of existing ads stay
there and are read from there (a re-post uploads them, the panel shows them), while new media
go to S3. Deleting removes the key everywhere, so a deleted photo never comes back from an
older backend."""

from __future__ import annotations

from collections.abc import Sequence

from app.storage.base import NotFound, Storage, StoredObject, check_key


class LayeredStorage:
    """Writes to `primary`; reads it first, then each of `older` in turn."""

    def __init__(self, primary: Storage, older: Sequence[Storage]) -> None:
        self.primary = primary
        self.older = tuple(older)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await self.primary.put(key, data, content_type)

    async def get(self, key: str) -> StoredObject:
        check_key(key)
        for layer in (self.primary, *self.older):
            try:
                return await layer.get(key)
            except NotFound:
                continue
        raise NotFound(key)

    async def delete(self, key: str) -> None:
        for layer in (self.primary, *self.older):
            await layer.delete(key)

    async def url(self, key: str, expires: int = 3600) -> str:
        """The primary's URL when it holds the key, else the first older one's that does."""
        for layer in (self.primary, *self.older):
            try:
                await layer.get(key)
            except NotFound:
                continue
            return await layer.url(key, expires)
        return await self.primary.url(key, expires)
