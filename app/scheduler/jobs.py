"""The scheduled jobs; each is async, idempotent, and keeps its state in our tables."""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg

from app.db.queries.users import delete_journal_before
from app.domain import ads, broadcasts, ledger, promotions, record, stats, tasks
from app.domain.ads import AdMessages
from app.domain.chat import accounts as chat_accounts
from app.domain.chat.notices import Timing, run_notices
from app.domain.chat.ports import ChatMessages
from app.domain.promotions import PromotionMessages
from app.domain.staff import prune_login_failures
from app.domain.tasks import MemberProbe, TaskMessages
from app.domain.users import Languages

log = logging.getLogger(__name__)
JOURNAL_DAYS = 90


@dataclass
class JobContext:
    """What the jobs need besides the pool; `sync_channels` talks to Telegram (bot layer)."""

    pool: asyncpg.Pool
    ad_messages: AdMessages | None = None
    languages: Languages = field(default_factory=Languages)  # kept current by the panel
    sync_channels: Callable[[], Awaitable[int]] | None = None  # from app.bot.channel_sync
    rng: random.Random = field(default_factory=random.Random)
    chat_messages: ChatMessages | None = None  # how web chat notices look (the bot's)
    chat_timing: Timing = field(default_factory=Timing)  # CHAT_NOTICE_* settings
    task_messages: TaskMessages | None = None  # how task messages look (bot layer)
    member_probe: MemberProbe | None = None  # getChatMember, paced (app.bot.member_checks)
    promotion_messages: PromotionMessages | None = None

    def messages(self) -> AdMessages:
        """How ad messages look; jobs that send are scheduled only when the bot made this."""
        if self.ad_messages is None:
            raise RuntimeError("this job needs the bot's ad messages")
        return self.ad_messages


async def journal_retention(ctx: JobContext) -> None:
    """Keep the inbound journal to the last JOURNAL_DAYS days; forget stale logins too."""
    async with ctx.pool.acquire() as conn:
        removed = await delete_journal_before(conn, JOURNAL_DAYS)
    if removed:
        log.info("journal retention removed %d old updates", removed)
    async with ctx.pool.acquire() as conn:
        pruned = await prune_login_failures(conn)  # and panel sessions expired a week ago
        pruned += await chat_accounts.prune(conn)  # web chat sign-in links, sessions, throttling
    if pruned:
        log.info("removed %d old failed logins, sessions and sign-in links", pruned)


async def message_retention(ctx: JobContext) -> None:
    """Delete recorded messages older than the retention an admin set (S5), in small batches."""
    async with ctx.pool.acquire() as conn:
        removed = await record.purge(conn, datetime.now(UTC))
    if removed:
        log.info("message record: %d message(s) past their retention deleted", removed)


async def reposts(ctx: JobContext) -> None:
    """Fill the channels' due re-post slots; the outbox delivers after commit."""
    async with ctx.pool.acquire() as conn, conn.transaction():
        count = await ads.run_reposts(conn, datetime.now(UTC), ctx.rng, ctx.messages())
    if count:
        log.info("re-posted %d ad(s)", count)


async def checkins(ctx: JobContext) -> None:
    """Ask sellers about their due ads, or expire the ads nobody answered for."""
    async with ctx.pool.acquire() as conn, conn.transaction():
        count = await ads.run_checkins(conn, datetime.now(UTC), ctx.messages(), ctx.languages)
    if count:
        log.info("check-ins: %d ad(s) asked or expired", count)


async def channel_sync(ctx: JobContext) -> None:
    """Re-read channels from Telegram: new ids, the bot's rights, changed administrators."""
    if ctx.sync_channels is not None:
        await ctx.sync_channels()


async def chat_notices(ctx: JobContext) -> None:
    """Tell people away from the web chat about unread messages (debounced per conversation)."""
    if ctx.chat_messages is None:
        return
    async with ctx.pool.acquire() as conn, conn.transaction():
        count = await run_notices(conn, datetime.now(UTC), ctx.chat_messages, ctx.languages, ctx.chat_timing)
    if count:
        log.info("web chat: %d offline notice(s) queued", count)


async def broadcasts_tick(ctx: JobContext) -> None:
    """Top up each running broadcast's window of outbox rows; close the finished ones. A line
    per tick only at DEBUG: the domain logs each broadcast's start and end at INFO."""
    async with ctx.pool.acquire() as conn:
        fed = await broadcasts.feed_running(conn, ctx.languages)
    if fed:
        log.debug("broadcasts: %d message(s) fed to the outbox", fed)


async def task_rechecks(ctx: JobContext) -> None:
    """Re-check recent task completions whose due date came (paced getChatMember): a user who
    left within the task's window loses the reward once. Due dates live in task_completions."""
    if ctx.member_probe is None or ctx.task_messages is None:
        return
    async with ctx.pool.acquire() as conn:
        sweep = await tasks.recheck_due(
            conn, datetime.now(UTC), ctx.member_probe, msgs=ctx.task_messages, languages=ctx.languages
        )
    if sweep.checked:
        log.info(
            "task re-checks: %d checked, %d taken back, %d unknown",
            sweep.checked,
            sweep.taken_back,
            sweep.unknown,
        )


async def stats_rollup(ctx: JobContext) -> None:
    """The dashboard's per-day counts of updates, messages on record, outbox rows, web-chat messages."""
    async with ctx.pool.acquire() as conn:
        counted = await stats.roll_up(conn)
    if counted:
        log.debug("statistics: %d log rows counted", counted)


async def ledger_verify(ctx: JobContext) -> None:
    """The daily proof that every balance equals the sum of its entries (errors are logged)."""
    await ledger.verify_job(ctx.pool)


async def promotions_tick(ctx: JobContext) -> None:
    """Paid promotions: unpin after 24 hours, extra re-posts when due, refunds of ads that closed."""
    if ctx.promotion_messages is None:
        return
    async with ctx.pool.acquire() as conn, conn.transaction():
        count = await promotions.run_due(
            conn,
            datetime.now(UTC),
            msgs=ctx.promotion_messages,
            ad_messages=ctx.messages(),
            languages=ctx.languages,
        )
    if count:
        log.info("promotions: %d handled", count)
