"""Update middlewares: the inbound journal with the user upsert, and in-flight tracking."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from aiogram import BaseMiddleware
from aiogram.fsm.middleware import FSMContextMiddleware
from aiogram.types import TelegramObject, Update, User

from app.bot.fsm import PostgresStorage, storage_key
from app.db.queries.users import Contact, Inbound, record_journal_error
from app.domain.users import Languages, record_update
from app.i18n import N_, Translator

log = logging.getLogger(__name__)

Handler = Callable[[Update, dict[str, Any]], Awaitable[Any]]
# Updates that prove the user can hear us again after having blocked the bot.
CLEARS_BLOCK = frozenset({"message", "callback_query", "inline_query", "pre_checkout_query"})


def inbound_of(update: Update, bot_id: int, chat_id: int | None) -> Inbound:
    return Inbound(
        bot_id=bot_id,
        update_id=update.update_id,
        kind=update.event_type,
        chat_id=chat_id,
        payload_json=update.model_dump_json(exclude_none=True, by_alias=True),
    )


def contact_of(user: User) -> Contact:
    return Contact(user.id, user.first_name, user.last_name, user.username, user.language_code, user.is_bot)


class JournalMiddleware(BaseMiddleware):
    """Store every update before it is handled, upsert its user, and give handlers `_` and `lang`.

    It runs before aiogram's FSM middleware and reads the user's FSM state in the same
    statement, so an update costs one database round trip before its handler runs.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        translator: Translator,
        languages: Languages,
        fsm: FSMContextMiddleware,
        in_flight: InFlight,
    ) -> None:
        self.pool = pool
        self.translator = translator
        self.languages = languages  # updated in place when an admin saves them in the panel
        self.fsm = fsm
        self.in_flight = in_flight  # counted here: one middleware less on every update

    async def __call__(self, handler: Handler, update: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(update, Update), "registered on dp.update: it sees whole updates"
        with self.in_flight:
            user: User | None = data.get("event_from_user")
            chat = data.get("event_chat")
            inbound = inbound_of(update, data["bot"].id, chat.id if chat else None)
            journal_id = await self._record(inbound, user, data)
            if data.pop("banned", False):
                return await refuse(update, data)
            try:
                return await handler(update, data)
            except Exception as exc:
                if journal_id is not None:
                    async with self.pool.acquire() as conn:
                        await record_journal_error(conn, journal_id, f"{type(exc).__name__}: {exc}")
                raise

    async def _record(self, inbound: Inbound, user: User | None, data: dict[str, Any]) -> int | None:
        context = self.fsm.resolve_event_context(data["bot"], data) if user else None
        fsm_key = storage_key(context.key) if context else ""
        async with self.pool.acquire() as conn:
            seen = await record_update(
                conn,
                inbound,
                contact_of(user) if user else None,
                clears_block=inbound.kind in CLEARS_BLOCK,
                languages=self.languages,
                fsm_key=fsm_key,
            )
        if context is not None and isinstance(context.storage, PostgresStorage):
            context.storage.prefetched(fsm_key, seen.fsm_state)
        data["lang"] = seen.language
        data["_"] = self.translator(seen.language)
        data["banned"] = seen.banned
        data["support_ticket"] = seen.support_ticket
        return seen.journal_id


BANNED_TEXT = N_("Your access to this bot has been limited by the administrators.")


async def refuse(update: Update, data: dict[str, Any]) -> None:
    """A user blocked by staff: one polite answer per message or button press, nothing else."""
    text = data["_"](BANNED_TEXT)
    if update.message is not None and update.message.chat.type == "private":
        await update.message.answer(text)
    elif update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)


class InFlight:
    """Counts updates being handled (`with in_flight:`) so shutdown can wait for them, bounded."""

    def __init__(self) -> None:
        self.count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def __enter__(self) -> None:
        self.count += 1
        self._idle.clear()

    def __exit__(self, *exc: object) -> None:
        self.count -= 1
        if self.count == 0:
            self._idle.set()

    async def drain(self, seconds: float) -> bool:
        """Wait until no update is being handled; False if `seconds` passed first."""
        try:
            await asyncio.wait_for(self._idle.wait(), seconds)
        except TimeoutError:
            log.warning("%d update(s) still being handled after %.0fs", self.count, seconds)
            return False
        return True
