"""The dispatcher's cheap pre-checks (app/bot/prefilter.py) never turn away what a filter takes.

A guard that said "cannot match" where the real filter would match would make a button or a
command silently go to the wrong handler (or to "this button is no longer valid"), so every
guarded filter of every router is run against a corpus of messages, button presses and states.
"""

from __future__ import annotations

import datetime as dt
import itertools

from aiogram import Bot
from aiogram.dispatcher.event.handler import FilterObject
from aiogram.filters.callback_data import CallbackQueryFilter
from aiogram.types import CallbackQuery, Chat, Message, TelegramObject, User

from app.bot.handlers import routers
from app.bot.handlers.chat import ChatRelay
from app.bot.handlers.moderation import EditFlow, RejectFlow
from app.bot.handlers.post_ad import PostAd
from app.bot.handlers.tasks import TaskFlow
from app.bot.prefilter import guard_of
from app.domain.support.commands import BotCommandText, CommandBook

TEXTS = ["/start", "/start login_abc", " /help", "/price", "/Price x", "hello", "", " ", "/"]
STATES = [None, "*"] + [
    s.state for group in (PostAd, EditFlow, RejectFlow, ChatRelay, TaskFlow) for s in group.__all_states__
]


def _guarded_filters() -> list[tuple[str, FilterObject]]:
    """(the event type, the filter) of every filter with a guard."""
    found = []
    stack = routers()
    while stack:
        router = stack.pop()
        stack.extend(router.sub_routers)
        for name, observer in router.observers.items():
            for handler in observer.handlers:
                found.extend((name, f) for f in handler.filters or () if guard_of(f) is not None)
    return found


def _events(filters: list[FilterObject]) -> dict[str, list[TelegramObject]]:
    user = User(id=7, is_bot=False, first_name="Ali")
    chat = Chat(id=7, type="private")
    date = dt.datetime(2026, 12, 5, tzinfo=dt.UTC)
    messages: list[TelegramObject] = [
        Message(message_id=1, date=date, chat=chat, from_user=user, text=t or None) for t in TEXTS
    ]
    messages.append(Message(message_id=2, date=date, chat=chat, from_user=user, caption="/start"))
    data = {"menu:my_ads", "menu:home", "x", "lang:uz"}
    for f in filters:  # each button kind: its own prefix with plausible fields, and a near miss
        if isinstance(f.callback, CallbackQueryFilter):
            cls = f.callback.callback_data
            fields = len(cls.model_fields)
            for value in ("1", "uz", "my_ads", ""):
                data.add(cls.__separator__.join([cls.__prefix__, *[value] * fields]))
            data.add(cls.__prefix__ + "x" + cls.__separator__ + "1")
    presses = [CallbackQuery(id="1", from_user=user, chat_instance="c", data=d) for d in sorted(data)]
    return {"message": messages, "callback_query": presses}


async def test_no_guard_refuses_what_its_filter_accepts() -> None:
    filters = _guarded_filters()
    events = _events([f for _, f in filters])
    assert {name for name, _ in filters} == set(events)
    book = CommandBook(commands={"price": BotCommandText("price", {"en": "Prices"}, {"en": "Our prices"})})
    bot = Bot("42:TEST")
    accepted = refused = 0
    wrong = []
    cases = [(f, e, s) for name, f in filters for e, s in itertools.product(events[name], STATES)]
    for f, event, state in cases:
        guard = guard_of(f)
        assert guard is not None
        takes = bool(await f.call(event, bot=bot, raw_state=state, command_book=book))
        if takes and not guard(event, state):
            wrong.append((f.callback, event.model_dump(exclude_none=True), state))
        accepted += takes
        refused += not guard(event, state)
    assert wrong == []
    # Not vacuous: commands, buttons and states were both taken and turned away.
    assert len(filters) > 40
    assert accepted > 100
    assert refused > len(filters) * 10
