"""Errors the emulated Telegram answers with, and Telegram's wording of the common ones."""

from __future__ import annotations

from typing import Any

Message = dict[str, Any]

BLOCKED = "Forbidden: bot was blocked by the user"
CHAT_NOT_FOUND = "Bad Request: chat not found"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
WRONG_FILE = "Bad Request: wrong file identifier/HTTP URL specified"


class TelegramError(Exception):
    """A Bot API failure: HTTP status, Telegram's description, optional `parameters`."""

    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


class UserActionError(Exception):
    """A user-side request that cannot be done (HTTP 400 or 404 on the user API)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message
