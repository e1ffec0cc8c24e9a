"""The composition root: builds every part on one loop, starts them, and stops them in order."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import functools
import gc
import hashlib
import hmac
import logging
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import asyncpg
from aiogram import Bot, Dispatcher
from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from app.bot.ad_messages import BotAdMessages
from app.bot.channel_sync import sync_channels
from app.bot.chat_messages import BotChatMessages
from app.bot.dispatcher import WEBHOOK_PATH, create_bot, create_dispatcher, set_commands
from app.bot.journal import Sweeper, journal_of
from app.bot.ledger_messages import BotLedgerMessages
from app.bot.member_checks import MemberChecks
from app.bot.middlewares import InFlight
from app.bot.outbox import OutboxSender
from app.bot.polling import PollingSupervisor
from app.bot.promotion_messages import BotPromotionMessages
from app.bot.record import Recorder
from app.bot.support_messages import BotDeskMessages
from app.bot.task_messages import BotTaskMessages
from app.bot.token_check import check_token
from app.config import Config, create_admin_command
from app.db.embedded import EmbeddedPostgres
from app.db.migrations import migrate
from app.db.pool import create_pool
from app.db.queries.support_desk import SUPPORT_CHANNEL
from app.domain import settings as settings_domain
from app.domain import staff as staff_domain
from app.domain.chat.notices import Timing
from app.domain.settings import RunningSettings
from app.domain.support import commands as bot_commands
from app.domain.support import kb, llm_settings, menus
from app.domain.support import settings as support_settings
from app.domain.support.cache import AnswerCache
from app.domain.support.counters import DeskCounters
from app.i18n import Translator
from app.scheduler import create_scheduler
from app.scheduler.drafts import AutoDrafts
from app.scheduler.jobs import JobContext
from app.storage import S3Settings, Storage, open_storage
from app.web import keys
from app.web.app import create_web_app
from app.web.live import LIVE
from app.web.webhook import WebhookEndpoint

if TYPE_CHECKING:
    from app.sandbox.world import World

log = logging.getLogger("bozor")

SANDBOX_TOKEN = "1000000001:SandboxBozorLocalTokenForTheEmulator"
# The demo bot's name in sandbox mode, as a seller would see a real bot's (@BotFather's job).
SANDBOX_BOT_NAME, SANDBOX_BOT_USERNAME = "Bozor", "bozor_demo_bot"
DRAIN_SECONDS = 10.0
COUNTS_SECONDS = 30.0  # how often the desk's counts in memory are stored
S3_OPEN_SECONDS = 30.0  # an S3 saved in the panel that does not answer: start on disk instead


class StartupError(RuntimeError):
    """Bozor cannot start; the message is one line for the operator."""


@dataclass
class Bozor:
    """Everything one process runs. start() brings it up; stop() takes it down in order."""

    config: Config
    embedded_fast: bool = False  # tests: an embedded database without fsync
    pg: EmbeddedPostgres | None = None
    pool: asyncpg.Pool | None = None
    storage: Storage | None = None
    bot: Bot | None = None
    dispatcher: Dispatcher | None = None
    scheduler: AsyncIOScheduler | None = None
    runner: web.AppRunner | None = None
    polling: PollingSupervisor | None = None
    sweeper: Sweeper | None = None
    outbox: OutboxSender | None = None
    outbox_bot: Bot | None = None
    recorder: Recorder | None = None
    sandbox_world: World | None = None  # the in-process Telegram of sandbox mode
    webhook: WebhookEndpoint | None = None
    in_flight: InFlight = field(default_factory=InFlight)
    running: RunningSettings = field(default_factory=RunningSettings)  # what the panel set
    applied_migrations: list[str] = field(default_factory=list)
    _sync_task: asyncio.Task | None = None
    _pg_supervisor: asyncio.Task | None = None
    answer_cache: AnswerCache = field(default_factory=AnswerCache)  # the knowledge base's answers
    _kb_task: asyncio.Task | None = None
    desk_counters: DeskCounters = field(default_factory=DeskCounters)  # the desk's statistics (S6)
    _counters_task: asyncio.Task | None = None
    auto_drafts: AutoDrafts | None = None  # LLM drafts when the knowledge base has nothing (E6)
    _stack: contextlib.AsyncExitStack = field(default_factory=contextlib.AsyncExitStack)

    @property
    def token(self) -> str:
        return self.config.bot_token or SANDBOX_TOKEN

    @property
    def api_base(self) -> str | None:
        """Where the bot's HTTP calls go: TELEGRAM_API_URL, our own sandbox, or Telegram."""
        if self.config.telegram_api_url:
            return self.config.telegram_api_url
        if self.config.sandbox:
            return f"{loopback_url(self.config)}/sandbox"
        return None

    # Started parts, for the code that runs once start() made them (a clear error otherwise).
    @property
    def _pool(self) -> asyncpg.Pool:
        return _started(self.pool, "the database pool")

    @property
    def _bot(self) -> Bot:
        return _started(self.bot, "the bot")

    @property
    def _dispatcher(self) -> Dispatcher:
        return _started(self.dispatcher, "the dispatcher")

    async def start(self) -> None:
        try:
            await self._start_database()
            await self._use_stored_bot_token()
            await self._use_stored_languages()
            translator = Translator(self.config.default_language)
            self.storage = await self._open_storage()
            self.bot = create_bot(self.token, self.api_base)
            self.recorder = Recorder(self._pool)  # what the bot hears and says, on record (S5)
            self.bot.session.middleware(self.recorder)
            await self._start_web(translator)  # first: in sandbox mode it is the bot's Telegram
            self._name_demo_bot()
            # The admins' "Edit" button opens the panel: only behind an https PUBLIC_URL.
            ad_messages = BotAdMessages(
                translator, await self._bot_username(), panel_url=self.config.public_url
            )
            parts = _started(self.runner, "the web server").app[keys.BOT_PARTS]
            parts.ad_messages = ad_messages  # the panel decides with it
            desk_messages = parts.desk_messages = BotDeskMessages(translator, self.config.default_language)
            task_messages = parts.task_messages = BotTaskMessages(translator)
            parts.ledger_messages = BotLedgerMessages(translator)
            parts.command_menu = functools.partial(set_commands, self._bot, translator, self.running.commands)
            member_checks = MemberChecks(self.config.member_checks_per_second)
            promotion_messages = BotPromotionMessages(translator)
            self.dispatcher = create_dispatcher(
                self.config,
                self._pool,
                translator,
                ad_messages,
                self.storage,
                self.running.languages,
                self.running.desk,
                desk_messages,
                self.answer_cache,
                task_messages=task_messages,
                member_checks=member_checks,
                promotion_messages=promotion_messages,
                command_book=self.running.commands,
                menu_tree=self.running.menu,
                desk_counters=self.desk_counters,
            )
            journal_of(self.dispatcher).recorder = self.recorder  # what the bot hears, on record
            self._kb_task = asyncio.create_task(self._forget_answers_on_change(), name="kb-follow")
            self._counters_task = asyncio.create_task(self._store_desk_counts(), name="desk-counts")
            hub = _started(self.runner, "the web server").app[LIVE]
            self.auto_drafts = AutoDrafts(self._pool, hub.subscribe, self.running, self.config.secret_key)
            self.auto_drafts.start()
            # Its own Bot: the sender handles 429s itself, without the handlers' waiting.
            self.outbox_bot = create_bot(self.token, self.api_base, wait_on_flood=False)
            self.outbox = OutboxSender(self._pool, self.outbox_bot, storage=self.storage)
            await self.outbox.start()
            self.scheduler = create_scheduler(
                JobContext(
                    self._pool,
                    ad_messages,
                    self.running.languages,
                    functools.partial(sync_channels, self._bot, self._pool),
                    chat_messages=BotChatMessages(translator),
                    chat_timing=chat_timing(self.config),
                    task_messages=task_messages,
                    member_probe=functools.partial(member_checks.probe, self._bot),
                    promotion_messages=promotion_messages,
                )
            )
            self.scheduler.start()
            if self.sandbox_world is not None:
                await self._seed_demo()
            await self._start_updates(translator)
            async with self._pool.acquire() as conn:
                await settings_domain.remember_server_url(conn, self.config.base_url)
        except BaseException:
            await self.stop()
            raise

    async def ready_message(self) -> str:
        """What `serve` prints once it is up: where to go, and how to get into the panel."""
        base = self.config.base_url
        lines = ["Bozor is running" + ("  (sandbox mode: no BOT_TOKEN set)" if self.config.sandbox else "")]
        if self.sandbox_world is not None:
            lines.append(f"  sandbox (a Telegram of our own): {base}/sandbox/")
        lines.append(f"  panel: {base}/panel")
        async with self._pool.acquire() as conn:
            anyone = await staff_domain.staff_exists(conn)
        if not anyone:
            lines.append(f"  no staff account yet; create the first admin with: {create_admin_command()}")
        return "\n".join(lines)

    async def stop(self) -> None:
        """Stop taking updates, let handlers finish (bounded), then close everything else."""
        if self._sync_task is not None:
            self._sync_task.cancel()
        if self.sweeper is not None:
            await self.sweeper.stop()
        if self._kb_task is not None:
            self._kb_task.cancel()
        if self.polling is not None:
            await self.polling.stop()
        if self.webhook is not None:
            self.webhook.accepting = False
        await self.in_flight.drain(DRAIN_SECONDS)
        if self.dispatcher is not None:
            await journal_of(self.dispatcher).mark_started()  # the marks still pending
        if self.recorder is not None:
            await self.recorder.flush()  # what was heard and said, not written yet
        if self._counters_task is not None:
            self._counters_task.cancel()
            await self.flush_desk_counts()  # what the handlers counted until now
        if self.auto_drafts is not None:
            await self.auto_drafts.stop()
            self.auto_drafts = None
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if self.outbox is not None:
            await self.outbox.stop(drain=DRAIN_SECONDS)
        if self.runner is not None:
            await self.runner.cleanup()
        for bot in (self.bot, self.outbox_bot):
            if bot is not None:
                await bot.session.close()
        await self._stack.aclose()
        if self.pool is not None:
            await self.pool.close()
        if self._pg_supervisor is not None:
            self._pg_supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pg_supervisor
            self._pg_supervisor = None
        if self.pg is not None:
            await asyncio.to_thread(self.pg.stop)
        self.pool = self.pg = self.runner = self.polling = self.sweeper = self.bot = self.outbox = None
        self.outbox_bot = self.recorder = None

    async def _forget_answers_on_change(self) -> None:
        """The knowledge base changed (here or in another process), or a notification may have
        been lost: the bot's kept answers go."""
        hub = _started(self.runner, "the web server").app[LIVE]
        with hub.subscribe(SUPPORT_CHANNEL) as queue:
            while True:
                event = await queue.get()
                if event.get("event") in ("kb", "resync"):
                    self.answer_cache.clear()

    async def _store_desk_counts(self) -> None:
        """The bot's desk counts (auto-answers, 👍/👎…) to the database every half minute."""
        while True:
            await asyncio.sleep(COUNTS_SECONDS)
            await self.flush_desk_counts()

    async def flush_desk_counts(self) -> None:
        if self.pool is None or not self.desk_counters.pending():
            return
        try:
            async with self.pool.acquire() as conn:
                await self.desk_counters.flush(conn)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("could not store the desk's counts (%s); trying again later", exc)

    async def _use_stored_bot_token(self) -> None:
        """A token saved in the panel's settings counts when BOT_TOKEN is unset: a real bot.

        One Telegram does not accept (or cannot be asked about) leaves Bozor in the sandbox,
        with the reason on every panel page: the panel must come up to fix it."""
        if self.config.bot_token is None:
            from app.domain.staff import get_secret

            try:
                async with self._pool.acquire() as conn:
                    token = await get_secret(conn, "bot_token", secret_key=self.config.secret_key)
            except Exception as exc:  # e.g. SECRET_KEY changed: stay in the sandbox rather than not start
                log.exception("cannot read the bot token saved in the panel")
                self.running.bot_problem = f"{type(exc).__name__}: {exc}"[:300]
                token = None
            if token:
                check = await check_token(token, self.config.telegram_api_url, attempts=3)
                if check.ok:
                    self.config = dataclasses.replace(self.config, bot_token=token)
                else:
                    log.error(
                        "the bot token saved in the panel does not work (%s): running the sandbox "
                        "instead; fix it in the panel's Settings or run `run.py settings clear`",
                        check.detail,
                    )
                    self.running.bot_problem = check.detail

    async def _use_stored_languages(self) -> None:
        """The languages saved in the panel; DEFAULT_LANGUAGE counts until a default is saved.
        The bot's languages stay current after a save (the panel updates them in place)."""
        async with self._pool.acquire() as conn:
            languages = await settings_domain.load_languages(conn, self.config.default_language)
        self.running.languages = languages
        async with self._pool.acquire() as conn, conn.transaction():
            self.running.desk.update(await support_settings.load(conn))
            self.running.commands.update(await bot_commands.load(conn))  # kept current by the panel
            self.running.llm.update(await llm_settings.load(conn))  # LLM help for operators (E6)
            self.running.menu.update(await menus.load(conn, languages.default))  # likewise
            await kb.reindex_stale(conn)  # knowledge-base rows written by an older analyser
        self.config = dataclasses.replace(self.config, default_language=languages.default)

    async def _open_storage(self) -> Storage:
        """S3 from the environment (it wins), else the S3 saved in the panel, else the disk.

        A saved S3 that cannot be opened leaves media on disk, with the reason on the panel's
        settings page: the panel must come up so an admin can fix it there."""
        media = functools.partial(
            open_storage,
            media_dir=self.config.data_dir / "media",
            media_url_base=f"{self.config.base_url}/media",
        )
        s3 = s3_settings(self.config)
        if s3 is not None:
            self.running.storage, self.running.s3 = "s3-environment", _without_keys(s3)
            return await self._stack.enter_async_context(media(s3=s3))
        try:
            async with self._pool.acquire() as conn:
                s3 = await settings_domain.stored_s3(conn, secret_key=self.config.secret_key)
            if s3 is not None:
                async with asyncio.timeout(S3_OPEN_SECONDS):
                    storage = await self._stack.enter_async_context(media(s3=s3))
                self.running.storage, self.running.s3 = "s3-panel", _without_keys(s3)
                return storage
        except Exception as exc:  # e.g. the endpoint is down or SECRET_KEY changed
            log.exception("cannot open the S3 storage saved in the panel; media go to disk")
            self.running.storage_problem = f"{type(exc).__name__}: {exc}"[:500]
        return await self._stack.enter_async_context(media(s3=None))

    async def _start_database(self, *, attach: bool = False) -> None:
        dsn = self.config.database_url
        if dsn is None:
            self.pg = EmbeddedPostgres(self.config.data_dir / "pg", fast=self.embedded_fast)
            dsn = await asyncio.to_thread(functools.partial(self.pg.start, attach=attach))
            if not attach:  # a one-off command does not outlive a dead server
                self._pg_supervisor = asyncio.create_task(self.pg.supervise(), name="embedded-pg")
        try:
            self.pool = await create_pool(dsn)
        except (OSError, asyncpg.PostgresError) as exc:
            raise StartupError(f"cannot connect to the database: {exc}") from exc
        async with self.pool.acquire() as conn:
            self.applied_migrations = await migrate(conn)
        if self.applied_migrations:
            log.info("applied migrations: %s", ", ".join(self.applied_migrations))

    async def _sync_channels(self) -> None:
        try:
            ready = await sync_channels(self._bot, self._pool)
            # INFO is for what needs attention: a channel that is not usable was warned about.
            log.debug("%d channel(s) ready for posting", ready)
        except Exception:  # the periodic job tries again; start-up goes on
            log.exception("could not check the channels with Telegram")

    async def _bot_username(self) -> str:
        """The bot's @username, for deep links in posts; Telegram must answer at start."""
        for attempt in range(3):
            try:
                username = (await self._bot.me()).username
                if username is None:
                    raise StartupError("the bot has no @username: Telegram gives every bot one")
                return username
            except Exception as exc:
                if attempt == 2:
                    raise StartupError(
                        f"cannot reach the Telegram Bot API ({exc}); check BOT_TOKEN and the network"
                    ) from exc
                await asyncio.sleep(1 + attempt)
        raise AssertionError("unreachable")

    async def _start_web(self, translator: Translator) -> None:
        services: dict[web.AppKey[Any], object] = {
            keys.POOL: self.pool,
            keys.STORAGE: self.storage,
            keys.TRANSLATOR: translator,
            keys.BOT: self.bot,
            keys.RUNNING_SETTINGS: self.running,
            keys.TOKEN_CHECK: functools.partial(check_token, api_base=self.config.telegram_api_url),
        }
        app = create_web_app(self.config, services=services)
        if self.config.sandbox and not self.config.telegram_api_url:
            from app.sandbox.app import make_sandbox_app
            from app.sandbox.world import World

            # The emulated Telegram keeps its chats and ids across restarts, as Telegram does.
            self.sandbox_world = World(path=self.config.data_dir / "sandbox.sqlite3")
            app.add_subapp("/sandbox", make_sandbox_app(self.sandbox_world, http_webhooks=True))
        if self.config.telegram_mode == "webhook":
            self.webhook = WebhookEndpoint(self._bot, webhook_secret(self.config), self.in_flight)
            app.router.add_post(WEBHOOK_PATH, self.webhook.handle)
        self.runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=DRAIN_SECONDS
        )
        await self.runner.setup()
        site = web.TCPSite(self.runner, self.config.host, self.config.port)
        try:
            await site.start()
        except OSError as exc:
            raise StartupError(
                f"cannot listen on {self.config.host}:{self.config.port}: {exc.strerror}; "
                "is another server using it? Set PORT to another number"
            ) from exc

    def _name_demo_bot(self) -> None:
        """Sandbox mode: the demo bot gets a real name and username before its first call (a
        world kept from an earlier start may still give it the emulator's default)."""
        if self.sandbox_world is None:
            return
        bot = self.sandbox_world.add_bot(self.token)
        bot.first_name, bot.username = SANDBOX_BOT_NAME, SANDBOX_BOT_USERNAME

    async def _seed_demo(self) -> None:
        """Sandbox mode: personas, a channel with the bot as poster, and its Bozor settings."""
        from app.domain.demo import seed_demo
        from app.sandbox.demo_world import seed_world

        admins = seed_world(_started(self.sandbox_world, "the sandbox"), self.token)
        async with self._pool.acquire() as conn:
            await seed_demo(conn, admins)

    async def _start_updates(self, translator: Translator) -> None:
        # Channels connect in the background: an unreachable channel must not stop start-up.
        self._sync_task = asyncio.create_task(self._sync_channels())
        if self.config.telegram_mode == "webhook":
            _started(self.webhook, "the webhook").dispatcher = self._dispatcher
            public_url = _started(self.config.public_url, "PUBLIC_URL")  # config refuses webhooks without it
            url = f"{public_url.rstrip('/')}{WEBHOOK_PATH}"
            await self._bot.set_webhook(
                url,
                secret_token=webhook_secret(self.config),
                allowed_updates=self._dispatcher.resolve_used_update_types(),
            )
        else:
            self.polling = PollingSupervisor(self._dispatcher, self._bot, self.in_flight)
            self.polling.start()
        self.sweeper = Sweeper(self._dispatcher, self._bot)
        self.sweeper.start()
        try:
            await set_commands(self._bot, translator, self.running.commands)
        except Exception as exc:  # cosmetic: the bot works without its command menu
            log.warning("could not set the bot's command menu: %s", exc)


T = TypeVar("T")


def _started(part: T | None, name: str) -> T:
    """A part start() made; asking for it earlier is a bug in the start order."""
    if part is None:
        raise RuntimeError(f"{name} is not started yet")
    return part


def s3_settings(config: Config) -> S3Settings | None:
    """S3 from the environment; when S3_BUCKET is set it wins over the S3 saved in the panel."""
    if not config.s3_bucket:
        return None
    return S3Settings(
        bucket=config.s3_bucket,
        endpoint_url=config.s3_endpoint_url,
        access_key=config.s3_access_key,
        secret_key=config.s3_secret_key,
        region=config.s3_region,
    )


def _without_keys(s3: S3Settings) -> S3Settings:
    """What the panel may show of the storage in use: never its keys."""
    return dataclasses.replace(s3, access_key=None, secret_key=None)


def chat_timing(config: Config) -> Timing:
    """When web chat notices go out: CHAT_NOTICE_GRACE_SECONDS, CHAT_NOTICE_INTERVAL_SECONDS."""
    return Timing(
        grace=datetime.timedelta(seconds=config.chat_notice_grace),
        interval=datetime.timedelta(seconds=config.chat_notice_interval),
    )


def webhook_secret(config: Config) -> str:
    """WEBHOOK_SECRET, or one derived from SECRET_KEY so a webhook is never left open."""
    if config.webhook_secret:
        return config.webhook_secret
    return hmac.new(config.secret_key.encode(), b"telegram-webhook", hashlib.sha256).hexdigest()


def loopback_url(config: Config) -> str:
    """How this process reaches its own web server."""
    host = config.host
    if host in ("0.0.0.0", "", "::"):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{config.port}"


def free_port() -> int:
    """A TCP port nobody listens on right now (tests and benchmarks)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def serve(config: Config) -> None:
    """Run until SIGINT or SIGTERM, then stop in order."""
    import signal

    bozor = Bozor(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await bozor.start()
    # Everything built at start-up lives as long as the process: keep it out of the
    # collector's scans so collections triggered by per-update garbage stay short.
    gc.freeze()
    print(await bozor.ready_message(), flush=True)
    await stop.wait()
    log.info("stopping")
    await bozor.stop()


async def run_migrations(config: Config) -> list[str]:
    """`run.py migrate`: apply pending migrations and exit; returns the names applied."""
    bozor = Bozor(config)
    try:
        await bozor._start_database(attach=True)
    finally:
        await bozor.stop()
    return bozor.applied_migrations


@contextlib.asynccontextmanager
async def open_database(config: Config) -> AsyncIterator[asyncpg.Pool]:
    """The database for a one-off command (app/cli), migrations applied: the embedded PostgreSQL
    is started, or attached to while a running Bozor holds it, and stopped (detached) after."""
    bozor = Bozor(config)
    try:
        await bozor._start_database(attach=True)
        assert bozor.pool is not None  # _start_database made it or raised
        yield bozor.pool
    finally:
        await bozor.stop()
