"""Errors in handlers: logged, a blocked user is marked, the user gets a polite apology."""

import logging

import asyncpg
from aiogram import Router
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError
from aiogram.types import ErrorEvent

from app.domain.users import mark_blocked
from app.i18n import Translator

log = logging.getLogger(__name__)


async def on_error(
    event: ErrorEvent, pool: asyncpg.Pool, translator: Translator, lang: str | None = None
) -> bool:
    update, exc = event.update, event.exception
    user = update.message or update.callback_query or update.edited_message
    user_id = user.from_user.id if user and user.from_user else None
    if isinstance(exc, TelegramForbiddenError) and user_id is not None:
        log.info("user %s blocked the bot: %s", user_id, exc.message)
        async with pool.acquire() as conn:
            await mark_blocked(conn, user_id, True)
        return True
    log.error("update %s failed: %s", update.update_id, exc, exc_info=exc)
    if user_id is not None:
        await _apologise(event, translator(lang))
    return True


async def _apologise(event: ErrorEvent, _) -> None:
    text = _("Sorry, something went wrong on our side. Please try again in a moment.")
    try:
        if event.update.callback_query:
            await event.update.callback_query.answer(text, show_alert=True)
        elif event.update.message:
            await event.update.message.answer(text)
    except TelegramAPIError as exc:  # the apology itself failed: nothing more to say to them
        log.warning("could not apologise for update %s: %s", event.update.update_id, exc)


def create_router() -> Router:
    """A fresh router per dispatcher (a router can belong to one dispatcher only)."""
    router = Router(name="errors")
    router.errors.register(on_error)
    return router
