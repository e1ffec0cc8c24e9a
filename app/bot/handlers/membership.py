"""my_chat_member: a user who blocks the bot is marked, and unmarked when they unblock it."""

import asyncpg
from aiogram import Router
from aiogram.enums import ChatType
from aiogram.types import ChatMemberUpdated

from app.domain.users import mark_blocked


async def on_my_chat_member(event: ChatMemberUpdated, pool: asyncpg.Pool) -> None:
    if event.chat.type != ChatType.PRIVATE:
        return  # channels and groups are the marketplace issue's business
    blocked = event.new_chat_member.status == "kicked"
    async with pool.acquire() as conn:
        await mark_blocked(conn, event.from_user.id, blocked)


def create_router() -> Router:
    """A fresh router per dispatcher (a router can belong to one dispatcher only)."""
    router = Router(name="membership")
    router.my_chat_member.register(on_my_chat_member)
    return router
