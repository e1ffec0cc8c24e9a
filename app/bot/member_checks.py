"""getChatMember paced under Telegram's limit: membership checks for tasks (the Check button,
the scheduled re-check) share one pacer per process, so they queue here instead of meeting 429s."""

from __future__ import annotations

import asyncio
import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest

from app.domain.tasks import is_member

log = logging.getLogger(__name__)
DEFAULT_PER_SECOND = 25.0  # Telegram allows ~30/s per bot; keep a margin for the other calls


class MemberChecks:
    """Calls start at most `per_second` a second, first come first served (no burst)."""

    def __init__(self, per_second: float = DEFAULT_PER_SECOND) -> None:
        if per_second <= 0:
            raise ValueError("per_second must be above zero")
        self.interval = 1.0 / per_second
        self._next = 0.0
        self.calls = 0
        self._asking: dict[tuple[int, int], asyncio.Future[bool | None]] = {}

    def expected_wait(self) -> float:
        """How long a check asked for now waits for its turn, in seconds."""
        return max(0.0, self._next - asyncio.get_running_loop().time())

    async def _turn(self) -> None:
        now = asyncio.get_running_loop().time()
        slot = max(now, self._next)
        self._next = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)

    async def probe(self, bot: Bot, chat_id: int, user_id: int) -> bool | None:
        """True when the user is in the chat, False when not, None when Telegram cannot tell now.
        A second check of the same user and chat while one is on its way shares its answer (a
        double tap costs one call of the limit)."""
        key = (chat_id, user_id)
        asking = self._asking.get(key)
        if asking is not None:
            return await asyncio.shield(asking)
        future: asyncio.Future[bool | None] = asyncio.get_running_loop().create_future()
        self._asking[key] = future
        try:
            answer = await self._ask(bot, chat_id, user_id)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: a lone failure is not "never retrieved"
            raise
        else:
            future.set_result(answer)
            return answer
        finally:
            del self._asking[key]

    async def _ask(self, bot: Bot, chat_id: int, user_id: int) -> bool | None:
        await self._turn()
        self.calls += 1
        try:
            member = await bot.get_chat_member(chat_id, user_id)
        except TelegramBadRequest as exc:
            if "user not found" in exc.message.lower() or "participant" in exc.message.lower():
                return False
            log.warning("getChatMember(%s, %s): %s", chat_id, user_id, exc.message)
            return None
        except TelegramAPIError as exc:
            log.warning("getChatMember(%s, %s): %s", chat_id, user_id, exc.message)
            return None
        return is_member(member.status, getattr(member, "is_member", None))
