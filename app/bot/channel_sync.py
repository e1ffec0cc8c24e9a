"""Connect configured channels to Telegram: numeric ids, the bot's rights, the admins."""

from __future__ import annotations

import logging

import asyncpg
from aiogram import Bot
from aiogram.exceptions import TelegramAPIError

from app.db.queries.channels import list_channels
from app.domain.channels import connect_chat

log = logging.getLogger(__name__)


async def sync_channels(bot: Bot, pool: asyncpg.Pool) -> int:
    """Check every active channel; returns how many are ready for posting."""
    async with pool.acquire() as conn:
        channels = await list_channels(conn, active_only=True)
    ready = 0
    for channel in channels:
        ref = channel["chat_id"] or f"@{channel['username']}"
        try:
            ready += await _sync_one(bot, pool, channel, ref)
        except TelegramAPIError as exc:
            log.warning("channel %s (%s) is not usable yet: %s", channel["title"], ref, exc.message)
    return ready


async def _sync_one(bot: Bot, pool: asyncpg.Pool, channel: asyncpg.Record, ref: int | str) -> int:
    chat = await bot.get_chat(ref)
    me = await bot.get_chat_member(chat.id, bot.id)
    if me.status != "administrator" or not getattr(me, "can_post_messages", True):
        log.warning("the bot cannot post in %s: make it an administrator allowed to post", channel["title"])
    admins = await bot.get_chat_administrators(chat.id)
    people = [a.user.id for a in admins if not a.user.is_bot]
    async with pool.acquire() as conn:
        await connect_chat(conn, channel["id"], chat.id, people)
    return int(me.status == "administrator")
