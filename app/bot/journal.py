"""The inbound journal: updates stored, a whole batch in one statement, before any is handled."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg
from aiogram import Bot, Dispatcher
from aiogram.dispatcher.middlewares.user_context import UserContextMiddleware
from aiogram.exceptions import TelegramAPIError
from aiogram.fsm.middleware import FSMContextMiddleware
from aiogram.types import Update, User

from app.bot.fsm import PostgresStorage, storage_key
from app.db.queries.users import Arrival, Contact, Inbound
from app.domain.users import Languages, Seen, record_updates
from app.i18n import N_, Translator

log = logging.getLogger(__name__)
UNRECORDED_TEXT = N_(
    "Sorry, we have a technical problem right now. Your message is kept: we will answer it as soon as "
    "it is fixed."
)
# Updates that prove the user can hear us again after having blocked the bot.
CLEARS_BLOCK = frozenset({"message", "callback_query", "inline_query", "pre_checkout_query"})
# The dispatcher keyword under which a journaled update travels to JournalMiddleware.
JOURNALED = "journaled"
# Where the dispatcher keeps its Journal (see journal_of).
JOURNAL_KEY = "journal"


@dataclass(frozen=True, slots=True)
class Journaled:
    """An update as the journal saw it: its user's language, state, and whether it is news."""

    seen: Seen
    fsm_key: str
    writes: int  # the FSM storage's write count when the state was read (see PostgresStorage)

    @property
    def repeated(self) -> bool:
        """The same update id was journaled before: Telegram delivered it again."""
        return self.seen.journal_id is None


def contact_of(user: User) -> Contact:
    return Contact(user.id, user.first_name, user.last_name, user.username, user.language_code, user.is_bot)


class Journal:
    """Records updates; polling gives it each getUpdates batch, the webhook each update."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        languages: Languages,
        translator: Translator,
        fsm: FSMContextMiddleware,
        storage: PostgresStorage,
    ) -> None:
        self.pool = pool
        self.languages = languages  # updated in place when an admin saves them in the panel
        self.translator = translator
        self.fsm = fsm
        self.storage = storage
        self._apologised: deque[int] = deque(maxlen=10_000)  # update ids, newest last

    async def apologise(self, bot: Bot, updates: Sequence[Update]) -> None:
        """Tell the people whose updates could not be journaled that they are kept (Telegram
        delivers them again) and will be answered; once per update, however often we retry."""
        for update in updates:
            if update.update_id in self._apologised:
                continue
            self._apologised.append(update.update_id)
            user = UserContextMiddleware.resolve_event_context(update).user
            if user is None:
                continue
            _ = self.translator(self.languages.speak(None, user.language_code))
            try:
                if update.callback_query is not None:
                    await update.callback_query.answer(_(UNRECORDED_TEXT), show_alert=True)
                elif update.message is not None and update.message.chat.type == "private":
                    await update.message.answer(_(UNRECORDED_TEXT))
            except TelegramAPIError as exc:
                log.warning("could not apologise for update %s: %s", update.update_id, exc)

    async def record(self, bot: Bot, updates: Sequence[Update]) -> list[Journaled]:
        """Journal the updates in one round trip; raises if the database cannot take them, and
        then nothing may acknowledge them to Telegram (it keeps them and delivers them again)."""
        arrivals = [self._arrival(bot, update) for update in updates]
        writes = self.storage.writes  # before the read: a write after it makes the state stale
        async with self.pool.acquire() as conn:
            seen = await record_updates(conn, arrivals, self.languages)
        return [Journaled(s, a.fsm_key, writes) for s, a in zip(seen, arrivals, strict=True)]

    def _arrival(self, bot: Bot, update: Update) -> Arrival:
        context = UserContextMiddleware.resolve_event_context(update)
        fsm = self.fsm.resolve_context(
            bot,
            chat_id=context.chat_id,
            user_id=context.user_id,
            thread_id=context.thread_id,
            business_connection_id=context.business_connection_id,
        )
        kind = update.event_type
        inbound = Inbound(
            bot_id=bot.id,
            update_id=update.update_id,
            kind=kind,
            chat_id=context.chat.id if context.chat else None,
            payload_json=update.model_dump_json(exclude_none=True, by_alias=True),
        )
        return Arrival(
            inbound,
            contact_of(context.user) if context.user else None,
            clears_block=kind in CLEARS_BLOCK,
            fsm_key=storage_key(fsm.key) if fsm is not None and context.user else "",
        )


def journal_of(dispatcher: Dispatcher) -> Journal:
    journal = dispatcher[JOURNAL_KEY]
    assert isinstance(journal, Journal), "create_dispatcher sets it"
    return journal
