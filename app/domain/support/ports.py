"""What the desk needs from the outside: how its messages look in Telegram (the bot renders)."""

from __future__ import annotations

from typing import Protocol

from app.db.queries.support_desk import Ticket
from app.domain.outbox import Call


class DeskMessages(Protocol):
    """Renders the desk's messages; the bot implements it (app/bot/support_messages.py). Calls
    come without chat_id: the domain adds it."""

    def answer(self, language: str, text: str, photo_key: str | None) -> Call:
        """An operator's answer to the user: the text as typed (never markup), or a photo with it."""

    def closed(self, language: str, ticket_id: int) -> Call:
        """Tell the user the ticket is closed, with buttons to rate it 1-5."""

    def notice(
        self,
        ticket: Ticket,
        user_name: str,
        text: str,
        *,
        new: bool,
        language: str | None,
        file: tuple[str, str] | None = None,
    ) -> Call:
        """Tell an operator on Telegram (in `language`, if known) of a new ticket or a user's
        message, with the user's photo or document (`file`: its kind and Telegram file id);
        they reply to it."""
