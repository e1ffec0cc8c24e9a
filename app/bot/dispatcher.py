"""Build the aiogram Bot and Dispatcher: routers, middlewares and their keyword dependencies."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, ClassVar

import asyncpg
from aiogram import Bot, Dispatcher, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import PRODUCTION, TelegramAPIServer
from aiogram.dispatcher.event.bases import REJECTED, UNHANDLED
from aiogram.dispatcher.event.telegram import TelegramEventObserver
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter
from aiogram.methods import Response, TelegramMethod
from aiogram.types import BotCommand, TelegramObject
from aiohttp import ClientError, ClientTimeout

from app.bot.fsm import PostgresStorage, flush_pending
from app.bot.guard import InputGuard
from app.bot.handlers import routers
from app.bot.isolation import UserLocks
from app.bot.journal import JOURNAL_KEY, Journal
from app.bot.member_checks import MemberChecks
from app.bot.middlewares import FsmFlush, JournalMiddleware, UpdateMetrics
from app.bot.prefilter import guard_routers, router_may_handle
from app.bot.promotion_messages import BotPromotionMessages
from app.bot.task_messages import BotTaskMessages
from app.config import Config
from app.domain.ads import AdMessages
from app.domain.promotions import PromotionMessages
from app.domain.support.cache import AnswerCache
from app.domain.support.commands import CommandBook
from app.domain.support.counters import DeskCounters
from app.domain.support.menus import MenuTree
from app.domain.support.ports import DeskMessages
from app.domain.support.settings import DeskSettings
from app.domain.tasks import TaskMessages
from app.domain.users import Languages
from app.i18n import Translator
from app.storage import Storage

log = logging.getLogger(__name__)
WEBHOOK_PATH = "/telegram/webhook"
POLLING_CONCURRENCY = 64  # bounded: aiogram starts one task per update otherwise


class Session(AiohttpSession):
    """aiogram's session with four changes measured in bench/updates.py.

    - It keeps the `Response[T]` models it parses with alive: aiogram builds
      `Response[method.__returning__]` on every call and pydantic caches generic models only
      weakly, so after each garbage collection the model was built again (16% of the CPU).
    - With `wait_on_flood`, a call answered 429 waits `retry_after` and tries again, bounded.
      Telegram applied nothing when it answered 429, so the retry cannot duplicate; handlers
      reply at once and a quick user can outpace the ~1 message/s a private chat allows.
      (Done here rather than as a request middleware: no per-call middleware chain.)
    - Before each call, the update's conversation state changes kept by the FSM storage are
      written (app/bot/fsm.py), so a reply never gets ahead of the state it follows from.
    - A call without files goes as one JSON body, as the Bot API accepts, instead of a form
      with every nested object JSON-encoded apart and then URL-encoded (9% of the CPU).
    """

    _pinned: ClassVar[dict[Any, type]] = {}

    def __init__(
        self, *args: Any, wait_on_flood: bool = True, max_wait: float = 10.0, tries: int = 3, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.wait_on_flood, self.max_wait, self.tries = wait_on_flood, max_wait, tries

    def check_response(self, bot: Bot, method: TelegramMethod, status_code: int, content: str) -> Response:
        returning: Any = method.__returning__  # a type known only at run time
        if returning not in self._pinned:
            self._pinned[returning] = Response[returning]
        return super().check_response(bot, method, status_code, content)

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod,
        timeout: int | None = None,  # noqa: ASYNC109 - aiogram's signature
    ) -> Any:
        await flush_pending()  # the user sees nothing before the state it follows from is stored
        if not self.wait_on_flood:
            return await self._request(bot, method, timeout)
        waited = 0.0
        for attempt in range(self.tries):
            try:
                return await self._request(bot, method, timeout)
            except TelegramRetryAfter as exc:
                waited += exc.retry_after
                if attempt == self.tries - 1 or waited > self.max_wait:
                    raise
                log.info("429 on %s; waiting %ss", type(method).__name__, exc.retry_after)
                await asyncio.sleep(exc.retry_after)
        raise AssertionError("unreachable")

    async def _request(self, bot: Bot, method: TelegramMethod, timeout: int | None) -> Any:  # noqa: ASYNC109
        files: dict[str, Any] = {}
        payload: dict[str, Any] = {}
        for key, value in method.model_dump(warnings=False).items():
            prepared = self.prepare_value(value, bot=bot, files=files, _dumps_json=False)
            # aiogram's form leaves out None and "" only: it sends False and 0 as "false" and "0"
            # (answerPreCheckoutQuery's ok=False must reach Telegram).
            if prepared is not None and prepared != "":
                payload[key] = prepared
        if files:  # uploads need multipart/form-data
            return await super().make_request(bot, method, timeout)
        session = await self.create_session()
        url = self.api.api_url(token=bot.token, method=method.__api_method__)
        try:
            async with session.post(
                url,
                data=self.json_dumps(payload),
                headers={"Content-Type": "application/json"},
                timeout=ClientTimeout(total=self.timeout if timeout is None else timeout),
            ) as resp:
                raw = await resp.text()
        except TimeoutError as exc:
            raise TelegramNetworkError(method=method, message="Request timeout error") from exc
        except ClientError as exc:
            raise TelegramNetworkError(method=method, message=f"{type(exc).__name__}: {exc}") from exc
        return self.check_response(bot=bot, method=method, status_code=resp.status, content=raw).result


def create_bot(token: str, api_base: str | None, *, wait_on_flood: bool = True) -> Bot:
    """A Bot talking to Telegram, to a self-hosted Bot API server, or to the sandbox.

    The outbox sender gets one with wait_on_flood=False: it schedules its own retries.
    """
    server = TelegramAPIServer.from_base(api_base) if api_base else PRODUCTION
    return Bot(
        token,
        session=Session(api=server, wait_on_flood=wait_on_flood),
        default=DefaultBotProperties(parse_mode=None),
    )


class LeanDispatcher(Dispatcher):
    """aiogram's Dispatcher, offering an update only to the routers with handlers for its type.

    aiogram walks every router for every update, each re-wrapping its middlewares and copying
    the keyword data, though most routers have nothing for a given type (no router but the
    membership one takes my_chat_member). The routers are fixed once the dispatcher is built
    (`freeze`), so the list per update type is computed once. Within it, a router none of
    whose handlers can take the event (app/bot/prefilter.py) is passed over. The rest is
    aiogram's Router._propagate_event (aiogram is pinned: see requirements.txt).
    """

    def freeze(self) -> None:
        guard_routers(self.sub_routers)
        self._by_type: dict[str, list[Router]] = {
            update_type: [r for r in self.sub_routers if _handles(r, update_type)]
            for update_type in self.observers
        }

    async def _propagate_event(
        self, observer: TelegramEventObserver | None, update_type: str, event: TelegramObject, **kwargs: Any
    ) -> Any:
        by_type = getattr(self, "_by_type", None)
        if by_type is None:
            return await super()._propagate_event(observer, update_type, event, **kwargs)
        if observer:
            result, data = await observer.check_root_filters(event, **kwargs)
            if not result:
                return UNHANDLED
            kwargs.update(data)
            response = await observer.trigger(event, **kwargs)
            if response is not UNHANDLED and response is not REJECTED:
                return response
        response = UNHANDLED
        raw_state = kwargs.get("raw_state")
        for router in by_type.get(update_type, self.sub_routers):
            if not router_may_handle(router, update_type, event, raw_state):
                continue
            response = await router.propagate_event(update_type=update_type, event=event, **kwargs)
            if response is not UNHANDLED:
                break
        return response


def _handles(router: Router, update_type: str) -> bool:
    """Whether the router (or one below it) has a handler or an outer middleware for the type."""
    observer = router.observers.get(update_type)
    if observer is not None and (observer.handlers or observer.outer_middleware):
        return True
    return any(_handles(sub, update_type) for sub in router.sub_routers)


def create_dispatcher(
    config: Config,
    pool: asyncpg.Pool,
    translator: Translator,
    ad_messages: AdMessages,
    storage: Storage,
    languages: Languages,
    desk_settings: DeskSettings,
    desk_messages: DeskMessages,
    answer_cache: AnswerCache,
    *,
    task_messages: TaskMessages | None = None,
    member_checks: MemberChecks | None = None,
    promotion_messages: PromotionMessages | None = None,
    command_book: CommandBook | None = None,
    menu_tree: MenuTree | None = None,
    desk_counters: DeskCounters | None = None,
) -> Dispatcher:
    """Dependencies travel as dispatcher keyword data: handlers ask for them by name."""
    # FSM is registered by hand so that it runs after the journal, which prefetches its state.
    # Event isolation: one update at a time per user, so an album's photos, arriving as
    # separate updates together, are added to the draft one after another, none lost.
    dp = LeanDispatcher(
        storage=PostgresStorage(pool),
        events_isolation=UserLocks(),
        disable_fsm=True,
        pool=pool,
        config=config,
        translator=translator,
        ad_messages=ad_messages,
        media=storage,
        languages=languages,
        desk_settings=desk_settings,
        desk_messages=desk_messages,
        answer_cache=answer_cache,
        task_messages=task_messages or BotTaskMessages(translator),
        member_checks=member_checks or MemberChecks(config.member_checks_per_second),
        promotion_messages=promotion_messages or BotPromotionMessages(translator),
        command_book=command_book if command_book is not None else CommandBook(),
        menu_tree=menu_tree if menu_tree is not None else MenuTree(),
        desk_counters=desk_counters if desk_counters is not None else DeskCounters(),
    )
    fsm_storage = dp.fsm.storage
    assert isinstance(fsm_storage, PostgresStorage)
    journal = Journal(pool, languages, translator, dp.fsm, fsm_storage)
    dp[JOURNAL_KEY] = journal  # polling and the webhook journal each batch before feeding it
    dp.update.outer_middleware(UpdateMetrics())  # first: it times everything below
    dp.update.outer_middleware(JournalMiddleware(journal, translator))
    dp.update.outer_middleware(dp.fsm)  # takes the user's lock (events isolation)
    dp.update.outer_middleware(FsmFlush())  # inside the lock: the next update reads what we wrote
    dp.update.outer_middleware(InputGuard())  # forged buttons, NUL: refused before any handler
    dp.include_routers(*routers())
    dp.freeze()
    return dp


async def set_commands(bot: Bot, translator: Translator, book: CommandBook | None = None) -> None:
    """The command menu Telegram shows beside the input field, in each language: the bot's own
    commands, then those the admins added in the panel (called again after each save)."""
    for language in ("en", "ru", "uz"):
        _ = translator(language)
        commands = [
            BotCommand(command="start", description=_("Main menu")),
            BotCommand(command="language", description=_("Change the language")),
            BotCommand(command="help", description=_("Help")),
        ]
        for custom in book.commands.values() if book is not None else ():
            commands.append(BotCommand(command=custom.name, description=custom.description(language)))
        await bot.set_my_commands(commands, language_code=None if language == "en" else language)
