"""Input from paths, queries, forms and JSON bodies, read and checked in one place per kind.

- **Paths and queries** are checked for every request by the `input_guard` middleware: no NUL or
  other control characters, no address longer than `MAX_PATH`; a view then reads them as they are.
- **Bodies** have a limit per route: `FORM_LIMIT` unless the view declares another with
  `@body_limit(n)` (the sandbox's routes keep the sandbox's own). A larger body is a 413 before a
  byte is read; nothing parses a body until a view (or the CSRF check of a public form) asks.
- **Forms** (urlencoded, multipart or a JSON object) come from `await read_form(request)`: text
  values only, valid UTF-8, no NUL or control characters other than tab and newlines; anything
  else is a 400 saying so. A view that takes files uses `await read_upload(request)` (files as
  FileField) and declares `@body_limit(n)`. **JSON** of any shape: `await read_json(request)`
  (its numbers fit a bigint, its strings are text).
- **Numbers** from any of them go through `whole_number()` (None when not a number that fits).

Every refusal is an `HTTPException` whose text is an msgid; the error page says it in the
visitor's language (`TRANSLATE_ERRORS`).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.typedefs import Handler
from multidict import MultiDict, MultiDictProxy

from app.i18n import N_

FORM_LIMIT = 64 * 1024  # a panel form or a login: a few fields of text
MAX_PATH = 2048
MAX_JSON_DEPTH = 32
LIMIT_ATTRIBUTE = "__body_limit__"
FORM = web.RequestKey("parsed_form", MultiDictProxy)  # read_form's result, once per request

NOT_TEXT = N_("The request contains characters that are not allowed (such as NUL or control characters).")
BAD_FORM = N_("This form could not be read. Reload the page and send it again.")
BAD_JSON = N_("The request body is not valid JSON.")
NO_FILES = N_("This form does not take files.")
TOO_LONG_PATH = N_("This address is too long.")
TOO_LARGE = N_("The request is too large.")
BAD_NUMBER = N_("A number in the request is too large.")
BIGINT = 2**63  # PostgreSQL's bigint holds [-BIGINT, BIGINT - 1]

ALLOWED_CONTROLS = frozenset("\t\n\r")
V = TypeVar("V", bound=Callable[..., Awaitable[web.StreamResponse]])


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


def integer(value: str, low: int = -(2**31), high: int = 2**31 - 1) -> int | None:
    """A signed whole number within [low, high] (by default what an `integer` column holds)."""
    value = value.strip()
    digits = value[1:] if value[:1] in "+-" else value
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 20:
        return None
    number = int(value)
    return number if low <= number <= high else None


def path_id(request: web.Request, name: str, missing: str) -> int:
    """A numeric path part; anything else is a page that does not exist (404 saying `missing`)."""
    number = whole_number(request.match_info[name], 18)
    if number is None:
        raise web.HTTPNotFound(text=missing)
    return number


def is_text(value: str) -> bool:
    """Text PostgreSQL and Telegram can hold: valid Unicode (no lone surrogate), no NUL, no
    control character other than tab and line breaks."""
    if not value.isprintable() and any(
        ch not in ALLOWED_CONTROLS and (ord(ch) < 32 or ord(ch) == 127) for ch in value
    ):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def body_limit(max_bytes: int) -> Callable[[V], V]:
    """Declare that a view takes bodies up to `max_bytes` (the default is FORM_LIMIT)."""

    def declare(view: V) -> V:
        setattr(view, LIMIT_ATTRIBUTE, max_bytes)
        return view

    return declare


def limit_of(request: web.Request) -> int:
    """The body limit of the matched route: declared, the sub-app's own, or FORM_LIMIT."""
    match = request.match_info
    declared = getattr(match.handler, LIMIT_ATTRIBUTE, None)
    if isinstance(declared, int):
        return declared
    apps = match.apps
    if len(apps) > 1:  # a mounted sub-app (the sandbox) keeps its own limit
        return apps[-1]._client_max_size
    return FORM_LIMIT


@web.middleware
async def input_guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse what no view can use (an address with control characters or too long, a body
    over the route's limit) and give the request its route's body limit."""
    if len(request.raw_path) > MAX_PATH:
        raise web.HTTPRequestURITooLong(text=TOO_LONG_PATH)
    if not is_text(request.path) or not all(
        is_text(key) and is_text(value) for key, value in request.query.items()
    ):
        raise web.HTTPBadRequest(text=NOT_TEXT)
    limit = limit_of(request)
    if request.content_length is not None and request.content_length > limit:
        raise web.HTTPRequestEntityTooLarge(limit, request.content_length, text=TOO_LARGE)
    if limit != request.client_max_size:
        request = request.clone(client_max_size=limit)  # a chunked body stops at the limit too
    return await handler(request)


async def read_json(request: web.Request, *, text_only: bool = True) -> Any:
    """The body as JSON (at most MAX_JSON_DEPTH deep and, with `text_only`, every string text);
    400 otherwise. Telegram's updates pass text_only=False: a NUL a user typed is theirs to
    refuse in the bot, and an update refused here would be delivered again and again."""
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise web.HTTPRequestEntityTooLarge(
            max_size=request.client_max_size, actual_size=request.client_max_size + 1, text=TOO_LARGE
        ) from None
    try:
        value = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise web.HTTPBadRequest(text=BAD_JSON) from None
    if _depth(value) > MAX_JSON_DEPTH:
        raise web.HTTPBadRequest(text=BAD_JSON)
    if text_only and not _all_text(value):
        raise web.HTTPBadRequest(text=NOT_TEXT)
    if text_only and not _numbers_fit(value):  # 10**30 would reach PostgreSQL as an error
        raise web.HTTPBadRequest(text=BAD_NUMBER)
    return value


async def read_form(request: web.Request) -> MultiDictProxy[str]:
    """The fields of a form POST (urlencoded or multipart) or of a JSON object, as text; read
    once per request (the CSRF check and the view share it). 400 for anything else, a file too."""
    text: MultiDict[str] = MultiDict()
    for key, value in (await read_upload(request)).items():
        if not isinstance(value, str):
            raise web.HTTPBadRequest(text=NO_FILES)
        text.add(key, value)
    return MultiDictProxy(text)


async def read_upload(request: web.Request) -> MultiDictProxy[str | web.FileField]:
    """read_form for a view that takes files (declare its size with @body_limit): the text
    fields checked the same way, the files as aiohttp's FileField."""
    if FORM in request:
        return request[FORM]
    fields: MultiDict[str | web.FileField] = MultiDict()
    if request.content_type == "application/json":
        data = await read_json(request)
        if not isinstance(data, dict):
            raise web.HTTPBadRequest(text=BAD_FORM)
        for key, value in data.items():
            if isinstance(value, (dict, list)):
                raise web.HTTPBadRequest(text=BAD_FORM)
            fields.add(key, "" if value is None else str(value))
    else:
        try:
            posted = await request.post()
        except web.HTTPRequestEntityTooLarge:
            raise web.HTTPRequestEntityTooLarge(
                max_size=request.client_max_size, actual_size=request.client_max_size + 1, text=TOO_LARGE
            ) from None
        except (ValueError, LookupError, AssertionError, RuntimeError, HttpProcessingError):
            # broken multipart, an unknown charset, bytes that are not UTF-8
            raise web.HTTPBadRequest(text=BAD_FORM) from None
        for key, value in posted.items():
            if isinstance(value, (bytes, bytearray)):
                if not value:
                    continue  # a file input left empty: browsers send it without a filename
                raise web.HTTPBadRequest(text=BAD_FORM)
            fields.add(key, value)
    if not all(
        is_text(key) and (not isinstance(value, str) or is_text(value)) for key, value in fields.items()
    ):
        raise web.HTTPBadRequest(text=NOT_TEXT)
    request[FORM] = form = MultiDictProxy(fields)
    return form


def _depth(value: object) -> int:
    """How deep lists and objects nest (without recursion: json.loads allows ~1,000 levels)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in item)
    return deepest


def _numbers_fit(value: object) -> bool:
    """Every number fits a bigint (and is finite: json.loads takes NaN and Infinity)."""
    if isinstance(value, bool):
        return True
    if isinstance(value, (int, float)):
        return -BIGINT <= value < BIGINT  # False for NaN too
    if isinstance(value, dict):
        return all(_numbers_fit(v) for v in value.values())
    if isinstance(value, list):
        return all(_numbers_fit(v) for v in value)
    return True


def _all_text(value: object) -> bool:
    if isinstance(value, str):
        return is_text(value)
    if isinstance(value, dict):
        return all(_all_text(k) and _all_text(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_all_text(v) for v in value)
    return True
