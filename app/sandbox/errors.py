"""Errors the emulated Telegram answers with, and Telegram's wording of the common ones."""

from __future__ import annotations

import json
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
NOT_UTF8 = "Bad Request: strings must be encoded in UTF-8"


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


def json_body(raw: bytes) -> Any:
    """A request's JSON as Telegram reads it: ValueError when it is not JSON, nests absurdly deep
    (Python's parser gives up with RecursionError) or holds a string no UTF-8 text can (a lone
    surrogate, which JSON's \\u escapes allow): kept, such a string would break every later
    answer that includes it."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise ValueError("nested too deep") from None
    if not utf8_only(value):
        raise NotUTF8(NOT_UTF8)
    return value


class NotUTF8(ValueError):
    """A string with a lone surrogate."""


def utf8_only(value: Any) -> bool:
    """Every string in `value` (nested lists and objects too) encodes as UTF-8."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return False
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return True
