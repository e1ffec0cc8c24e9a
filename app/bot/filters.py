"""Async message filters: aiogram runs a plain (sync) filter in a worker thread per update."""

from __future__ import annotations

from aiogram.filters import Filter
from aiogram.types import Message


class HasPhoto(Filter):
    async def __call__(self, message: Message) -> bool:
        return bool(message.photo)


class TextOrContact(Filter):
    async def __call__(self, message: Message) -> bool:
        return message.text is not None or message.contact is not None
