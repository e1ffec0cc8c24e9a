"""Does Telegram accept a bot token? Asked when an admin saves one and at start (getMe)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from aiogram.exceptions import TelegramNotFound, TelegramUnauthorizedError

from app.bot.dispatcher import create_bot

log = logging.getLogger(__name__)
CHECK_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class TokenCheck:
    """What Telegram said: the bot's @username, or why the token cannot be used."""

    username: str | None = None
    refused: bool = False  # Telegram does not know the token (401, or 404 for a malformed one)
    detail: str = ""  # what went wrong, for the log and the admin

    @property
    def ok(self) -> bool:
        return self.username is not None


async def check_token(
    token: str, api_base: str | None, *, attempts: int = 1, seconds: float = CHECK_SECONDS
) -> TokenCheck:
    """getMe with the token; network failures are tried `attempts` times (1 s, 2 s apart)."""
    bot = create_bot(token, api_base)
    try:
        for attempt in range(attempts):
            try:
                async with asyncio.timeout(seconds):
                    me = await bot.get_me()
                return TokenCheck(username=me.username or str(me.id))
            except (TelegramUnauthorizedError, TelegramNotFound) as exc:
                return TokenCheck(refused=True, detail=exc.message)
            except Exception as exc:  # unreachable, timed out, not Telegram answering
                detail = f"{type(exc).__name__}: {exc}"[:300]
                if attempt + 1 == attempts:
                    return TokenCheck(detail=detail)
                await asyncio.sleep(1 + attempt)
        raise AssertionError("unreachable")
    finally:
        await bot.session.close()
