"""The web chat in the bot: signing in on the web through a deep link."""

from __future__ import annotations

import asyncpg
from aiogram import Router
from aiogram.types import Message

from app.bot.keyboards import main_menu
from app.domain.chat import accounts
from app.i18n import Gettext

LOGIN_PREFIX = "login_"


async def sign_in_from_start(message: Message, token: str, pool: asyncpg.Pool, _: Gettext) -> None:
    """/start login_<token>: the web page waiting for this token signs in as this user."""
    if message.from_user is None:
        return
    async with pool.acquire() as conn, conn.transaction():
        said = await accounts.confirm_from_bot(conn, token[:100], message.from_user.id)
    await message.answer(said.text(_), reply_markup=main_menu(_))


def create_router() -> Router:
    """Buttons of the web chat (added with the conversations)."""
    return Router(name="chat")
