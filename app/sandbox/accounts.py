"""Accounts of the emulated Telegram: users played by tests or people, and bots with their queues."""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from dataclasses import dataclass, field
from typing import Any

# Telegram's default when allowed_updates was never given (or given as an empty list).
DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


@dataclass(slots=True, eq=False)
class User:
    """A Telegram account played by a test or a person; its private chat id is its id.

    `extra` holds what else Telegram knows of the account (JSON values): is_premium,
    profile photos and audios, emoji status, personal chat, verification, gifts.
    """

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    _dict: dict[str, Any] | None = field(default=None, repr=False)
    _chat: dict[str, Any] | None = field(default=None, repr=False)

    def as_dict(self) -> dict[str, Any]:
        """The Bot API User object (cached: messages share it, so never mutate it)."""
        if self._dict is None:
            d: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
            for key in ("last_name", "username", "language_code"):
                if (value := getattr(self, key)) is not None:
                    d[key] = value
            if self.extra.get("is_premium"):
                d["is_premium"] = True
            self._dict = d
        return self._dict

    def chat_dict(self) -> dict[str, Any]:
        """The Bot API Chat object of the private chat with this user."""
        if self._chat is None:
            d: dict[str, Any] = {"id": self.id, "type": "private", "first_name": self.first_name}
            for key in ("last_name", "username"):
                if (value := getattr(self, key)) is not None:
                    d[key] = value
            self._chat = d
        return self._chat

    def update(self, **fields: Any) -> None:
        for key, value in fields.items():
            setattr(self, key, value)
        self._dict = self._chat = None  # old messages keep the old snapshot, like Telegram

    def state(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "username": self.username,
            "language_code": self.language_code,
            "extra": self.extra,
        }


@dataclass(slots=True, eq=False)
class Webhook:
    """A bot's webhook settings plus the last delivery error, for getWebhookInfo."""

    url: str
    secret_token: str | None = None
    max_connections: int = 40
    ip_address: str | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None


class Bot:
    """A bot account: identity, settings and its queue of pending updates.

    `settings` holds the profile and menu Telegram keeps for a bot (JSON values): names,
    descriptions and short descriptions per language, the menu button per chat, default
    administrator rights, the profile photo.
    """

    def __init__(self, bot_id: int, token: str, username: str, first_name: str):
        self.id = bot_id
        self.token = token
        self.username = username
        self.first_name = first_name
        self.updates: deque[tuple[int, str, dict[str, Any]]] = deque()
        self.next_update_id = 1
        self.allowed_updates: frozenset[str] | None = None  # None = Telegram's default set
        self.webhook: Webhook | None = None
        self.commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self.settings: dict[str, Any] = {}
        self.in_flight: set[int] = set()  # update ids a webhook delivery is carrying
        self.poll_ticket = 0  # bumped by each getUpdates; an older waiter sees it and yields
        self._waiters: list[asyncio.Future[None]] = []
        self._dict: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        """The bot's User object as it appears in `from` of its messages."""
        if self._dict is None:
            self._dict = {
                "id": self.id,
                "is_bot": True,
                "first_name": self.first_name,
                "username": self.username,
            }
        return self._dict

    def rename(self, first_name: str) -> None:
        self.first_name = first_name
        self._dict = None

    def wants(self, kind: str) -> bool:
        if self.allowed_updates is None:
            return kind not in DEFAULT_EXCLUDED_UPDATES
        return kind in self.allowed_updates

    def push_update(self, kind: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        """Queue an update of `kind` unless the bot filtered that kind out; wake consumers."""
        if not self.wants(kind):
            return None
        update_id = self.next_update_id
        self.next_update_id += 1
        update = {"update_id": update_id, kind: payload}
        self.updates.append((update_id, kind, update))
        self.wake()
        return update

    def confirm(self, offset: int) -> None:
        """getUpdates offset: forget every update below it; negative keeps the last -offset."""
        q = self.updates
        if offset < 0:
            while len(q) > -offset:
                q.popleft()
            return
        while q and q[0][0] < offset:
            q.popleft()

    def pending(self, limit: int) -> list[dict[str, Any]]:
        return [u for _, _, u in itertools.islice(self.updates, limit)]

    def drop_pending(self) -> None:
        self.updates.clear()

    def wake(self) -> None:
        """Resolve every waiter (long polls, the webhook worker); cheap when none waits."""
        if self._waiters:
            for fut in self._waiters:
                if not fut.done():
                    fut.set_result(None)
            self._waiters.clear()

    async def wait(self, seconds: float | None) -> bool:
        """Sleep until `wake()` or for `seconds` (None: no limit); True when woken."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        try:
            async with asyncio.timeout(seconds):
                await fut
            return True
        except TimeoutError:
            return False
        finally:
            if fut in self._waiters:
                self._waiters.remove(fut)

    def state(self) -> dict[str, Any]:
        """What survives a restart (pending updates are kept apart, see store.py)."""
        hook = self.webhook
        return {
            "id": self.id,
            "token": self.token,
            "username": self.username,
            "first_name": self.first_name,
            "next_update_id": self.next_update_id,
            "allowed_updates": sorted(self.allowed_updates) if self.allowed_updates is not None else None,
            "webhook": None
            if hook is None
            else {
                "url": hook.url,
                "secret_token": hook.secret_token,
                "max_connections": hook.max_connections,
                "ip_address": hook.ip_address,
            },
            "commands": [[scope, lang, cmds] for (scope, lang), cmds in self.commands.items()],
            "settings": self.settings,
        }

    @classmethod
    def restore(cls, state: dict[str, Any]) -> Bot:
        bot = cls(state["id"], state["token"], state["username"], state["first_name"])
        bot.next_update_id = state["next_update_id"]
        allowed = state.get("allowed_updates")
        bot.allowed_updates = frozenset(allowed) if allowed is not None else None
        if state.get("webhook"):
            bot.webhook = Webhook(**state["webhook"])
        bot.commands = {(scope, lang): cmds for scope, lang, cmds in state.get("commands", [])}
        bot.settings = state.get("settings") or {}
        return bot
