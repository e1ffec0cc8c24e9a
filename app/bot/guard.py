"""Input the bot refuses before any handler: forged or stale buttons, and text with NUL.

- A button whose data does not unpack into its CallbackData class, or names an id no row can
  have (more than 15 digits), is "out of date": the person gets that alert and nothing else.
  Handlers answer the same for ids that unpack but name nothing (`STALE_BUTTON`).
- A message whose text or caption holds a NUL or a lone surrogate (PostgreSQL text cannot hold
  either; the journal stores both as U+FFFD) gets a clear answer.
- A handler that re-renders a message unchanged ("message is not modified") is not a failure.
"""

from __future__ import annotations

import contextlib
import inspect
import re
from typing import Any

from aiogram import BaseMiddleware
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.filters.callback_data import CallbackData
from aiogram.types import TelegramObject, Update

from app.bot import callbacks
from app.bot.middlewares import Handler
from app.i18n import N_

STALE_BUTTON = N_("This button is out of date. Send /start for a fresh menu.")
NUL_TEXT = N_("This message contains a character that cannot be used. Please send it again without it.")
MAX_ID = 10**15
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # in a str, a surrogate is always a lone one

BUTTONS: dict[str, type[CallbackData]] = {
    cls.__prefix__: cls
    for _name, cls in inspect.getmembers(callbacks, inspect.isclass)
    if issubclass(cls, CallbackData) and cls is not CallbackData
}


def button_is_valid(data: str) -> bool:
    """Known prefix, unpacks into its class, every number within what a row id can be."""
    cls = BUTTONS.get(data.split(":", 1)[0])
    if cls is None:
        return True  # not ours to judge: the fallback router answers unknown buttons
    try:
        unpacked = cls.unpack(data)
    except (ValueError, TypeError):  # pydantic's ValidationError is a ValueError
        return False
    return all(abs(value) < MAX_ID for value in unpacked.model_dump().values() if isinstance(value, int))


class InputGuard(BaseMiddleware):
    """On dp.update, after the journal (which gives `_`)."""

    async def __call__(self, handler: Handler, update: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(update, Update), "registered on dp.update"
        _ = data["_"]
        query = update.callback_query
        if query is not None and query.data is not None and not button_is_valid(query.data):
            await query.answer(_(STALE_BUTTON), show_alert=True)
            return None
        message = update.message
        if message is not None and UNSTORABLE.search(message.text or message.caption or ""):
            await message.answer(_(NUL_TEXT))
            return None
        try:
            return await handler(update, data)
        except TelegramBadRequest as exc:
            if "message is not modified" not in exc.message:
                raise
            if query is not None:  # the same screen again: nothing to change, nothing to say
                with contextlib.suppress(TelegramAPIError):
                    await query.answer()
            return None
