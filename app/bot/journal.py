"""The inbound journal: updates stored, a whole batch in one statement, before any is handled."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg
from aiogram import Bot, Dispatcher
from aiogram.dispatcher.middlewares.user_context import UserContextMiddleware
from aiogram.exceptions import TelegramAPIError
from aiogram.fsm.middleware import FSMContextMiddleware
from aiogram.methods import TelegramMethod
from aiogram.types import Update, User

from app.bot.fsm import PostgresStorage, Version, storage_key
from app.bot.record import Recorder
from app.db.queries.users import Arrival, Contact, Inbound
from app.domain.users import Languages, Seen, claim_unhandled, mark_handled, record_updates
from app.i18n import N_, Translator

log = logging.getLogger(__name__)
UNRECORDED_TEXT = N_(
    "Sorry, we have a technical problem right now. Your message is kept: we will answer it as soon as "
    "it is fixed."
)
MARK_EVERY_SECONDS = 0.2
MARK_RETRY_SECONDS = 2.0
SWEEP_AFTER_SECONDS = 60.0  # a live process starts an update's handler well within this
SWEEP_EVERY_SECONDS = 60.0
# Updates that prove the user can hear us again after having blocked the bot.
CLEARS_BLOCK = frozenset({"message", "callback_query", "inline_query", "pre_checkout_query"})
# The dispatcher keyword under which a journaled update travels to JournalMiddleware.
JOURNALED = "journaled"
# A NUL's escape in JSON: after an even number of backslashes (each pair is one typed backslash).
_NUL_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")
# Where the dispatcher keeps its Journal (see journal_of).
JOURNAL_KEY = "journal"


@dataclass(frozen=True, slots=True)
class Journaled:
    """An update as the journal saw it: its user's language, state, and whether it is news."""

    seen: Seen
    fsm_key: str
    fsm_version: Version  # the key's version in the FSM storage when it was read (see PostgresStorage)

    @property
    def repeated(self) -> bool:
        """The same update id was journaled before: Telegram delivered it again."""
        return self.seen.journal_id is None and self.seen.unfit is None

    @property
    def unfit(self) -> bool:
        """PostgreSQL refused the update as it came: journaled as far as it went, not handled."""
        return self.seen.unfit is not None

    @property
    def to_handle(self) -> bool:
        """Neither a repeat nor refused: its handlers run."""
        return self.seen.journal_id is not None


def contact_of(user: User) -> Contact:
    def text(value: str | None) -> str | None:
        return None if value is None else value.replace("\x00", "\ufffd")  # text columns refuse NUL

    first, last = text(user.first_name) or "", text(user.last_name)
    return Contact(user.id, first, last, user.username, user.language_code, user.is_bot)


class Journal:
    """Records updates; polling gives it each getUpdates batch, the webhook each update."""

    recorder: Recorder | None = None  # puts the new ones on record (S5), off the reply's path

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
        self._started: list[int] = []  # journal ids whose handlers started, not yet marked
        self._marking: asyncio.Task[None] | None = None

    def started(self, journal_id: int) -> None:
        """The update's handler starts. Marked handled in the journal in bulk a moment later, so
        the reply never waits for it; until then a crash leaves it to the sweep (handled again
        rather than lost)."""
        self._started.append(journal_id)
        if self._marking is None:
            self._marking = asyncio.create_task(self._mark_soon(MARK_EVERY_SECONDS), name="journal-marks")

    async def _mark_soon(self, delay: float) -> None:
        await asyncio.sleep(delay)
        self._marking = None
        await self._write_marks(retry=True)

    async def mark_started(self) -> None:
        """Write the pending marks now (at shutdown, once the handlers have finished)."""
        if self._marking is not None:
            self._marking.cancel()
            self._marking = None
        await self._write_marks(retry=False)

    async def _write_marks(self, *, retry: bool) -> None:
        ids, self._started = self._started, []
        if not ids:
            return
        try:
            async with self.pool.acquire() as conn:
                await mark_handled(conn, ids)
        except Exception as exc:
            # Kept and tried again: unmarked, the sweep would handle them a second time.
            self._started[:0] = ids
            log.error("could not mark %d update(s) handled yet: %s", len(ids), exc)
            if retry and self._marking is None:
                self._marking = asyncio.create_task(self._mark_soon(MARK_RETRY_SECONDS), name="journal-marks")

    async def replay_unhandled(self, bot: Bot) -> list[tuple[Update, Journaled]]:
        """Updates journaled over a minute ago whose handling never started, claimed for us."""
        async with self.pool.acquire() as conn:
            payloads = await claim_unhandled(conn, bot.id, older_than_seconds=SWEEP_AFTER_SECONDS, limit=500)
        if not payloads:
            return []
        log.warning("handling %d update(s) journaled but never handled (a process stopped)", len(payloads))
        updates = [Update.model_validate_json(p, context={"bot": bot}) for p in payloads]
        return list(zip(updates, await self.record(bot, updates, replay=True), strict=True))

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

    async def record(self, bot: Bot, updates: Sequence[Update], *, replay: bool = False) -> list[Journaled]:
        """Journal the updates in one round trip; raises if the database cannot take them, and
        then nothing may acknowledge them to Telegram (it keeps them and delivers them again)."""
        arrivals = [self._arrival(bot, update) for update in updates]
        # Before the read: a write of the key after it makes what was read stale.
        versions = [self.storage.version(a.fsm_key) for a in arrivals]
        async with self.pool.acquire() as conn:
            seen = await record_updates(conn, arrivals, self.languages, replay=replay)
        if self.recorder is not None and not replay:
            self.recorder.heard(u for u, s in zip(updates, seen, strict=True) if s.journal_id is not None)
        keys = (a.fsm_key for a in arrivals)
        return [Journaled(*entry) for entry in zip(seen, keys, versions, strict=True)]

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
            payload_json=payload_of(update),
        )
        return Arrival(
            inbound,
            contact_of(context.user) if context.user else None,
            clears_block=kind in CLEARS_BLOCK,
            fsm_key=storage_key(fsm.key) if fsm is not None and context.user else "",
        )


def payload_of(update: Update) -> str:
    """The update as JSON that jsonb takes. jsonb cannot hold \\u0000: a NUL someone typed is
    journaled as U+FFFD (the handlers refuse such text, app/bot/guard.py), so the update is still
    journaled and handled. A lone surrogate (Telegram sends none; a forged webhook may) cannot be
    written as UTF-8 at all: it is journaled as U+FFFD too, and refused by the same guard."""
    try:
        payload = update.model_dump_json(exclude_none=True, by_alias=True)
    except ValueError:  # pydantic's "surrogates not allowed"
        dumped = update.model_dump(mode="json", exclude_none=True, by_alias=True)
        text = json.dumps(dumped, ensure_ascii=False, separators=(",", ":"))
        payload = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if "\\u0000" in payload:  # the escape, not a backslash someone typed before "u0000"
        payload = _NUL_ESCAPE.sub(r"\1\\ufffd", payload)
    return payload


def journal_of(dispatcher: Dispatcher) -> Journal:
    journal = dispatcher[JOURNAL_KEY]
    assert isinstance(journal, Journal), "create_dispatcher sets it"
    return journal


async def handle(dispatcher: Dispatcher, bot: Bot, update: Update, entry: Journaled) -> None:
    """Feed a journaled update to the dispatcher (polling, the webhook and the sweep do)."""
    try:
        response = await dispatcher.feed_update(bot, update, **{JOURNALED: entry})
        if isinstance(response, TelegramMethod):  # a handler answered the webhook way
            await dispatcher.silent_call_request(bot, response)
    except Exception:
        log.exception("update %s failed", update.update_id)


class Sweeper:
    """Every minute, handles updates that were journaled (so acknowledged to Telegram) but
    whose handling never started because their process stopped; any process may run it."""

    def __init__(self, dispatcher: Dispatcher, bot: Bot) -> None:
        self.dispatcher, self.bot = dispatcher, bot
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="journal-sweep")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def sweep(self) -> int:
        """One pass; returns how many updates it handled."""
        replayed = await journal_of(self.dispatcher).replay_unhandled(self.bot)
        for update, entry in replayed:
            await handle(self.dispatcher, self.bot, update, entry)  # in order, one at a time
        return len(replayed)

    async def _run(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception as exc:
                log.error("journal sweep failed: %s: %s", type(exc).__name__, exc)
            await asyncio.sleep(SWEEP_EVERY_SECONDS)
