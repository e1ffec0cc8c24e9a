"""Cheap pre-checks that tell, before aiogram's filter machinery runs, that a handler cannot match.

aiogram offers each update to every handler of every router in turn, and each filter check goes
through its keyword machinery (a dict of the ~30 dependencies per filter call): a button press
was checked against ~25 handlers and a typed question against ~18 before reaching its own (a
quarter of the bot's CPU in bench/updates.py). Most of those filters are of three kinds whose
answer is plain from the update: a command (the text must start with its prefix), a button's
callback data (its prefix), a conversation state (the state must be one of a few). A guard
computed from such a filter says "cannot match" in a fraction of a microsecond; the handler's
real filters still decide every handler a guard lets through, so what matches never changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from aiogram import Router
from aiogram.dispatcher.event.bases import UNHANDLED, SkipHandler
from aiogram.dispatcher.event.handler import FilterObject, HandlerObject
from aiogram.dispatcher.event.telegram import TelegramEventObserver
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackQueryFilter
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message, TelegramObject

# Whether the handler may match the event, given the user's raw FSM state (False: it cannot).
Guard = Callable[[TelegramObject, "str | None"], bool]
_DECLARED: dict[object, Guard] = {}


def declare(guard: Guard) -> Callable[[Any], Any]:
    """Give a filter function of ours its guard (a decorator): what it can never accept."""

    def mark(filter_: Any) -> Any:
        _DECLARED[filter_] = guard
        return filter_

    return mark


def starts_with(prefixes: str) -> Guard:
    """A message whose text or caption starts (after blanks, as Command reads it) with one of
    the characters."""

    def guard(event: TelegramObject, _raw_state: str | None) -> bool:
        if not isinstance(event, Message):
            return False
        text = event.text or event.caption
        if not text:
            return False
        first = text.lstrip()[:1]
        return first != "" and first in prefixes

    return guard


def _callback_prefix(prefix: str, separator: str) -> Guard:
    def guard(event: TelegramObject, _raw_state: str | None) -> bool:
        if not isinstance(event, CallbackQuery) or not event.data:
            return False
        return event.data.partition(separator)[0] == prefix

    return guard


def _in_states(allowed: frozenset[str | None]) -> Guard:
    def guard(_event: TelegramObject, raw_state: str | None) -> bool:
        return raw_state in allowed

    return guard


def _states(filter_: StateFilter) -> frozenset[str | None] | None:
    """The raw states a StateFilter accepts; None when it accepts any (or cannot be told)."""
    allowed: set[str | None] = set()
    for state in filter_.states:
        if state is None or isinstance(state, str):
            if state == "*":
                return None
            allowed.add(state)
        elif isinstance(state, State):
            if state.state == "*":
                return None
            allowed.add(state.state)
        elif isinstance(state, StatesGroup):
            allowed.update(type(state).__all_states_names__)
        elif isinstance(state, type) and issubclass(state, StatesGroup):
            allowed.update(state.__all_states_names__)
        else:
            return None
    return frozenset(allowed)


def guard_of(filter_: FilterObject) -> Guard | None:
    """The guard a filter implies, or None when it can only be told by running it."""
    callback = filter_.callback
    if callback in _DECLARED:
        return _DECLARED[callback]
    if isinstance(callback, Command):
        return starts_with(callback.prefix)
    if isinstance(callback, CallbackQueryFilter):
        data = callback.callback_data
        return _callback_prefix(data.__prefix__, data.__separator__)
    if isinstance(callback, StateFilter):
        states = _states(callback)
        return None if states is None else _in_states(states)
    return None


def guards_of(handler: HandlerObject) -> tuple[Guard, ...]:
    return tuple(g for g in (guard_of(f) for f in handler.filters or ()) if g is not None)


def may_match(guards: tuple[Guard, ...], event: TelegramObject, raw_state: str | None) -> bool:
    return all(guard(event, raw_state) for guard in guards)


class GuardedObserver(TelegramEventObserver):
    """aiogram's observer, skipping the handlers whose guards say they cannot match; the rest is
    aiogram's TelegramEventObserver.trigger (aiogram is pinned: see requirements.txt)."""

    _guarded: list[tuple[HandlerObject, tuple[Guard, ...]]]

    def guard_handlers(self) -> None:
        self._guarded = [(handler, guards_of(handler)) for handler in self.handlers]

    def may_handle(self, event: TelegramObject, raw_state: str | None) -> bool:
        if len(self._guarded) != len(self.handlers):  # a handler registered after freezing
            self.guard_handlers()
        return any(may_match(guards, event, raw_state) for _, guards in self._guarded)

    async def trigger(self, event: TelegramObject, **kwargs: Any) -> Any:
        if len(self._guarded) != len(self.handlers):  # a handler registered after freezing
            self.guard_handlers()
        raw_state = kwargs.get("raw_state")
        for handler, guards in self._guarded:
            if guards and not may_match(guards, event, raw_state):
                continue
            kwargs["handler"] = handler
            result, data = await handler.check(event, **kwargs)
            if result:
                kwargs.update(data)
                try:
                    wrapped_inner = self.outer_middleware.wrap_middlewares(
                        self._resolve_middlewares(), handler.call
                    )
                    return await wrapped_inner(event, kwargs)
                except SkipHandler:
                    continue
        return UNHANDLED


def guard_routers(routers: Iterable[Router]) -> None:
    """Make every observer of the routers (and those below them) a GuardedObserver."""
    for router in routers:
        for observer in router.observers.values():
            if type(observer) is TelegramEventObserver:
                observer.__class__ = GuardedObserver  # same fields; only trigger differs
            if isinstance(observer, GuardedObserver):
                observer.guard_handlers()
        guard_routers(router.sub_routers)


def router_may_handle(router: Router, update_type: str, event: TelegramObject, raw_state: str | None) -> bool:
    """Whether any handler of the router (or below it) may take the event. A router with an
    outer middleware for the type is always offered it: the middleware runs for every event."""
    observer = router.observers.get(update_type)
    if observer is not None:
        if observer.outer_middleware:
            return True
        if isinstance(observer, GuardedObserver) and observer.may_handle(event, raw_state):
            return True
        if not isinstance(observer, GuardedObserver) and observer.handlers:
            return True
    return any(router_may_handle(sub, update_type, event, raw_state) for sub in router.sub_routers)
