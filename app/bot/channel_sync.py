"""Connect configured channels to Telegram: numeric ids, the bot's rights, the admins."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import asyncpg
from aiogram import Bot
from aiogram.exceptions import TelegramAPIError

from app.db.queries.channels import Channel, list_channels
from app.domain.channels import POSTING_RIGHTS, connect_chat, missing_rights

log = logging.getLogger(__name__)


async def sync_channels(bot: Bot, pool: asyncpg.Pool) -> int:
    """Check every active channel; returns how many are ready for posting."""
    async with pool.acquire() as conn:
        channels = await list_channels(conn, active_only=True)
    ready = 0
    for channel in channels:
        ref = channel.chat_id or f"@{channel.username}"
        try:
            ready += await _sync_one(bot, pool, channel, ref)
        except TelegramAPIError as exc:
            log.warning("channel %s (%s) is not usable yet: %s", channel.title, ref, exc.message)
    return ready


async def _sync_one(bot: Bot, pool: asyncpg.Pool, channel: Channel, ref: int | str) -> int:
    access = await bot_access(bot, ref)
    if not access.ok:
        lacking = access.missing if access.missing is not None else [name for _right, name in POSTING_RIGHTS]
        log.warning(
            "the bot cannot post in %s: make it an administrator allowed to %s",
            channel.title,
            ", ".join(lacking),
        )
    admins = await bot.get_chat_administrators(access.chat_id)
    people = [a.user.id for a in admins if not a.user.is_bot]
    async with pool.acquire() as conn:
        await connect_chat(conn, channel.id, access.chat_id, people)
    return int(access.ok)


@dataclass(frozen=True, slots=True)
class BotAccess:
    """What the bot may do in a chat, by the one rule (app.domain.channels.missing_rights)."""

    chat_id: int
    missing: list[str] | None  # msgids of the rights it lacks; None: not an administrator at all

    @property
    def ok(self) -> bool:
        return self.missing == []


async def bot_access(bot: Bot, ref: int | str) -> BotAccess:
    """Ask Telegram what the bot may do in a channel (raises TelegramAPIError if it cannot see it)."""
    chat = await bot.get_chat(ref)
    me = await bot.get_chat_member(chat.id, bot.id)
    rights = {right: getattr(me, right, None) for right, _name in POSTING_RIGHTS}
    return BotAccess(chat.id, missing_rights(me.status, rights))
