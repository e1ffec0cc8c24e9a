"""What the chat area needs from the outside: how its Telegram messages look (the bot renders)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from app.domain.outbox import Call


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
