"""The one rule that decides where a user's private message goes, in a stated order.

A message that is not a command may be the answer to a step of a flow, a message for a seller
(web chat), a screenshot a task waits for, a reply in an open support ticket, a question for the
knowledge base, or none of these. Each area registers what it takes at its stage, with the
(async) filters that say whether this message is its; the first stage whose filters pass takes
the message, and no area adds message handlers of its own elsewhere. Buttons (callback queries)
and commands are addressed explicitly and are not routed here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from aiogram import Router
from aiogram.filters import Filter
from aiogram.types import Message


class Stage(IntEnum):
    """What the user is doing now, most specific first (lower stages are asked first)."""

    PAYMENT = 5  # a payment Telegram confirms (successful_payment): recorded whatever else goes on
    FLOW_STEP = 10  # answering a step of a flow they are in: the ad wizard, a typed reject reason
    CHAT_RELAY = 20  # writing to a seller (or buyer) through the bot: web chat
    SCREENSHOT = 30  # sending the screenshot a task is waiting for
    OPEN_TICKET = 40  # talking in their open support ticket
    KNOWLEDGE_BASE = 50  # asking a question the knowledge base may answer
    FALLBACK = 90  # none of these: a hint and the main menu


class PrivateChat(Filter):
    """Only a user's private chat with the bot is routed (groups and channels are not talk)."""

    async def __call__(self, message: Message) -> bool:
        return message.chat.type == "private"


@dataclass(frozen=True)
class Destination:
    stage: Stage
    name: str
    handler: Callable[..., Any]
    filters: tuple[Filter, ...]


@dataclass
class MessageRouting:
    """Where messages go; areas add destinations, then `router()` builds the one message router."""

    destinations: list[Destination] = field(default_factory=list)

    def add(self, stage: Stage, name: str, handler: Callable[..., Any], *filters: Filter) -> None:
        """`handler` takes the message when every filter passes and no earlier stage took it.
        Within a stage, destinations are asked in the order they were added."""
        if any(d.name == name for d in self.destinations):
            raise ValueError(f"a destination named {name!r} is registered twice")
        self.destinations.append(Destination(stage, name, handler, filters))

    @property
    def order(self) -> list[tuple[Stage, str]]:
        """The order messages are offered in: by stage, then as added (what the tests check)."""
        return [(d.stage, d.name) for d in self._ordered()]

    def _ordered(self) -> list[Destination]:
        return sorted(self.destinations, key=lambda d: d.stage)  # sorted() is stable

    def router(self) -> Router:
        """One aiogram router whose message handlers are tried in the stated order."""
        router = Router(name="messages")
        router.message.filter(PrivateChat())
        for destination in self._ordered():
            router.message.register(destination.handler, *destination.filters)
        return router
