"""Telegram's rate and size limits: token buckets per bot and per chat on the World's clock."""

# What counts: every method that creates messages (send*, copyMessage, forwardMessage,
# sendMediaGroup as one message per item) counts against the bot's global bucket and the
# chat's bucket. Edits count only against group and channel buckets: Telegram throttles
# edits of channel posts like posts, while bots edit private messages (menus) freely.
# An album counts as one message in a private chat, as Telegram lets a bot send an album
# to a user at once. Buckets may go into debt (an album of 10 against a burst of 3), which
# makes the next message wait longer, as with Telegram.

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

from .errors import TelegramError

if TYPE_CHECKING:
    from .timeline import Timeline
    from .world import Bot, World

MB = 1024 * 1024


@dataclass
class Limits:
    """Per-World limits; `enabled` switches the rate limits (not the size limits) off."""

    enabled: bool = True
    bot_per_second: float = 30.0
    bot_burst: float = 30.0
    private_per_second: float = 1.0
    private_burst: float = 3.0
    group_per_minute: float = 20.0
    group_burst: float = 20.0
    get_chat_member_per_second: float = 30.0  # membership checks, per bot
    get_chat_member_burst: float = 30.0
    upload_bytes: int = 50 * MB
    photo_bytes: int = 10 * MB
    download_bytes: int = 20 * MB

    def update(self, **values: Any) -> None:
        """Change some fields, checking names and types (from Python or the user API)."""
        known = {f.name: f.type for f in fields(self)}
        for name, value in values.items():
            if name not in known:
                raise ValueError(f"unknown limit {name!r}")
            current = getattr(self, name)
            if isinstance(current, bool):
                if not isinstance(value, bool):
                    raise ValueError(f"{name} must be true or false")
            elif isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ValueError(f"{name} must be a positive number")
            setattr(self, name, type(current)(value))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class RateLimiter:
    """Token buckets keyed by (bot, scope); answers 429 with retry_after like Telegram."""

    def __init__(self, world: World):
        self.world = world
        self.buckets: dict[tuple[int, int | str | None], tuple[float, float]] = {}  # -> (tokens, at)

    def reset(self) -> None:
        self.buckets.clear()

    def charge(self, bot: Bot, target: Timeline, cost: int, *, edit: bool = False) -> None:
        """Take `cost` messages for `bot` in `target`, or raise 429 taking nothing."""
        limits = self.world.limits
        if not limits.enabled:
            return
        private = getattr(target, "type", "private") == "private"
        if edit and private:
            return
        now = self.world.clock()
        rate, burst = limits.bot_per_second, limits.bot_burst
        checks = [] if edit else [((bot.id, None), rate, burst, cost)]
        if private:
            checks.append(((bot.id, target.chat_id), limits.private_per_second, limits.private_burst, 1))
        else:
            per_second = limits.group_per_minute / 60
            checks.append(((bot.id, target.chat_id), per_second, limits.group_burst, cost))
        wait = max(self._wait(key, r, b, c, now) for key, r, b, c in checks)
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            raise TelegramError(
                429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
            )
        for key, r, b, c in checks:
            tokens = self._tokens(key, r, b, now)
            self.buckets[key] = (tokens - c, now)

    def charge_call(self, bot: Bot, method: str) -> None:
        """Take one call of a throttled read method (getChatMember), or raise 429."""
        limits = self.world.limits
        if not limits.enabled or method != "getChatMember":
            return
        rate, burst = limits.get_chat_member_per_second, limits.get_chat_member_burst
        key = (bot.id, method)
        now = self.world.clock()
        wait = self._wait(key, rate, burst, 1, now)
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            raise TelegramError(
                429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
            )
        self.buckets[key] = (self._tokens(key, rate, burst, now) - 1, now)

    def _tokens(self, key: tuple[int, int | str | None], rate: float, burst: float, now: float) -> float:
        tokens, at = self.buckets.get(key, (burst, now))
        return min(burst, tokens + max(0.0, now - at) * rate)

    def _wait(
        self, key: tuple[int, int | str | None], rate: float, burst: float, cost: int, now: float
    ) -> float:
        """Seconds until the bucket can pay `cost` (a cost above the burst needs a full bucket)."""
        tokens = self._tokens(key, rate, burst, now)
        need = min(cost, burst)
        return 0.0 if tokens >= need else (need - tokens) / rate
