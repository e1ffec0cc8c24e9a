"""What the chat area needs from the outside: how its Telegram messages look (the bot renders),
and where its live events go (the web's hub of open pages)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from app.db import Conn
from app.db.queries import chat as q
from app.domain.outbox import Call

Event = dict[str, Any]  # a live event: its "kind", the account ids it is "to", and what it says


@dataclass(frozen=True, slots=True)
class Relayed:
    """One message on its way to a member who talks in Telegram."""

    conversation_id: int
    sender_name: str
    ad_title: str | None
    body: str
    photo_key: str | None


@dataclass(frozen=True, slots=True)
class Notice:
    """New messages for someone away from the web: how many, from whom, about what."""

    conversation_id: int
    sender_name: str
    ad_title: str | None
    count: int
    first_body: str | None  # the message's text when the notice is about one message


class ChatMessages(Protocol):
    """Renders the chat's Telegram messages (app/bot/chat_messages.py); calls without chat_id."""

    def relay(self, item: Relayed, language: str) -> Call:
        """A message relayed to a member in Telegram, with Reply and Open chat buttons."""

    def notice(self, item: Notice, language: str) -> Call:
        """A notice of unread messages to someone away from the web, with the same buttons."""


class ChatEvents(Protocol):
    """Where live events go: every process's open pages of the accounts an event is "to"."""

    async def publish(self, conn: Conn, event: Event) -> None:
        """Tell the pages about a change `conn` made (at its commit, when in a transaction)."""


class Notify:
    """Every process hears an event by NOTIFY, sent at the commit of the change it is about —
    the way for callers with no hub of their own (the bot, the scheduler)."""

    async def publish(self, conn: Conn, event: Event) -> None:
        await q.notify(conn, event)


NOTIFY = Notify()
