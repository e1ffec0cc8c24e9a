"""Async message filters: aiogram runs a plain (sync) filter in a worker thread per update."""

from __future__ import annotations

from typing import Any

from aiogram.filters import Filter
from aiogram.types import CallbackQuery, Message


class HasPhoto(Filter):
    async def __call__(self, message: Message) -> bool:
        return bool(message.photo)


class HasPayment(Filter):
    """A successful (or refunded) payment: Telegram's service message about an invoice."""

    async def __call__(self, message: Message) -> bool:
        return message.successful_payment is not None or message.refunded_payment is not None


class TextOrContact(Filter):
    async def __call__(self, message: Message) -> bool:
        return message.text is not None or message.contact is not None


class OnMessage(Filter):
    """A button on a message the bot can still edit (Telegram sends an inaccessible stub for
    messages older than 48 hours); the handler gets that message as `message`. A button on an
    inaccessible one falls through to the fallback's "out of date"."""

    async def __call__(self, query: CallbackQuery) -> bool | dict[str, Any]:
        return {"message": query.message} if isinstance(query.message, Message) else False
