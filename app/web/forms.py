"""Input the panel reads from paths, queries and forms: numbers that fit the database, bad filters."""

from __future__ import annotations

from aiohttp import web


class BadFilter(ValueError):
    """A filter value a list cannot use; its message (translated text or an msgid, as the screen
    decides) says which rule it broke and is shown to the person."""


def whole_number(value: str, digits: int = 15) -> int | None:
    """The number, or None: "²".isdigit() is true yet int() refuses it, and a longer number than
    a bigint holds would reach PostgreSQL as an error, not as "no such row"."""
    value = value.strip()
    if value.isascii() and value.isdigit() and len(value) <= digits:
        return int(value)
    return None


def path_id(request: web.Request, name: str, missing: str) -> int:
    """A numeric path part; anything else is a page that does not exist (404 saying `missing`)."""
    number = whole_number(request.match_info[name], 18)
    if number is None:
        raise web.HTTPNotFound(text=missing)
    return number
