"""The kill -9 run: ads approved while a child process delivers the outbox and is killed at
random moments, restarted each time; then every approved ad is looked for in its channel.

Used by tests/test_losses.py (short) and bench/crash.py (full). The parent holds the sandbox
(our Telegram, at Telegram's real limits) and approves ads through the domain, as the panel
does; the child is an outbox sender (app.bot.outbox) at the real per-channel limits. Run as
`python -m tests.helpers.crash DSN SANDBOX_URL TOKEN REQUEST_TIMEOUT` it is that child.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from app.bot.ad_messages import BotAdMessages
from app.bot.dispatcher import create_bot
from app.bot.outbox import OutboxSender
from app.db.pool import create_pool
from app.domain import ads, channels, staff
from app.domain.actors import StaffMember
from app.domain.ads import Draft, Photo, parse_price
from app.domain.staff import Role
from app.domain.users import Languages
from app.i18n import Translator
from app.sandbox.media import sample_png
from app.sandbox.world import World

ROOT = Path(__file__).resolve().parents[2]
LANGUAGES = Languages(default="uz")


@dataclass
class CrashReport:
    """What a run found: every approved ad should be in its channel exactly once."""

    kills: int
    ads: int  # approved
    posts: int  # channel posts of those ads found in the sandbox
    duplicates: int  # posts beyond the first of an ad
    losses: int  # approved ads with no post
    uncertain: int  # outbox rows left for an admin (calls that were in flight at a kill)
    resolved: int  # uncertain posts re-sent automatically (the channel's ids showed them missing)
    seconds: float

    def line(self) -> str:
        return (
            f"kill -9 runs {self.kills}, ads {self.ads}, posts {self.posts}, duplicates "
            f"{self.duplicates}, losses {self.losses}, uncertain {self.uncertain} "
            f"(resolved automatically {self.resolved}), {self.seconds:.0f} s"
        )


@dataclass
class Market:
    chats: list[int]  # the sandbox channels, one per Bozor channel
    ad_ids: list[int]  # pending ads, spread over the channels
    titles: dict[int, str]  # ad id -> its unique title


async def prepare(
    pool: asyncpg.Pool, world: World, sandbox_url: str, token: str, *, channels_n: int, ads_n: int
) -> Market:
    """Channels with the bot as poster, sellers who started the bot, and `ads_n` pending ads."""
    bot_user = world.add_bot(token)
    sellers = [world.add_user(f"Seller {i}", language_code="uz") for i in range(min(50, ads_n))]
    for seller in sellers:
        world.user_sends_text(bot_user.id, seller.id, "/start")
    bot = create_bot(token, sandbox_url)
    try:  # one photo Telegram knows, shown by every ad (its file id is reusable)
        from aiogram.types import BufferedInputFile

        sent = await bot.send_photo(sellers[0].id, BufferedInputFile(sample_png(), "ad.png"))
        assert sent.photo is not None
        photo = Photo(sent.photo[-1].file_id, sent.photo[-1].file_unique_id)
    finally:
        await bot.session.close()
    chats, ad_ids, titles = [], [], {}
    async with pool.acquire() as conn, conn.transaction():
        await conn.executemany(
            "INSERT INTO users (id, first_name, language) VALUES ($1, $2, 'uz')",
            [(s.id, s.first_name) for s in sellers],
        )
        channel_ids = []
        for i in range(channels_n):
            chat = world.add_chat("channel", f"Crash market {i}")
            world.set_member(chat.id, bot_user.id, "administrator", can_post_messages=True)
            row = await channels.create_channel(conn, title=chat.title, chat_ref=str(chat.id))
            await conn.execute("UPDATE channels SET chat_id = $2 WHERE id = $1", row.id, chat.id)
            chats.append(chat.id)
            channel_ids.append(row.id)
        msgs = BotAdMessages(Translator("uz"), "bozor_crash_bot")
        for i in range(ads_n):
            title = f"Tovar {i:04d}"
            draft = Draft(
                channel_id=channel_ids[i % channels_n],
                title=title,
                description="Yaxshi holatda",
                price=parse_price("100 000"),
                district="Chilonzor",
                contact="+998901234567",
                photos=[photo],
            )
            ad = await ads.submit(conn, draft, sellers[i % len(sellers)].id, msgs, LANGUAGES)
            ad_ids.append(ad.id)
            titles[ad.id] = title
    return Market(chats, ad_ids, titles)


def start_child(database_url: str, sandbox_url: str, token: str, request_timeout: float) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.helpers.crash", database_url, sandbox_url, token, str(request_timeout)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def run(
    pool: asyncpg.Pool,
    world: World,
    sandbox_url: str,
    database_url: str,
    token: str,
    *,
    channels_n: int,
    ads_n: int,
    kills: int,
    request_timeout: float = 3.0,
    approvals_per_second: float = 20.0,
    seed: int | None = None,
    settle_seconds: float = 120.0,
) -> CrashReport:
    """Approve every ad (at `approvals_per_second`) while the child publishes; kill it with
    SIGKILL `kills` times at random moments (after a random share of the posts went out, plus a
    random fraction of a second), restarting it at once; wait until the outbox settles; count."""
    rng = random.Random(seed)
    started = time.monotonic()
    market = await prepare(pool, world, sandbox_url, token, channels_n=channels_n, ads_n=ads_n)
    async with pool.acquire() as conn:
        boss = await staff.create_staff(conn, "crash-admin", "crash-admin-password", Role.ADMIN)
    msgs = BotAdMessages(Translator("uz"), "bozor_crash_bot")
    thresholds = sorted(rng.uniform(0.1, 0.8) * ads_n for _ in range(kills))

    async def approve_all() -> None:
        for ad_id in market.ad_ids:
            async with pool.acquire() as conn, conn.transaction():
                await ads.decide(conn, ad_id, StaffMember(boss), approve=True, msgs=msgs, languages=LANGUAGES)
            await asyncio.sleep(1 / approvals_per_second)

    child = start_child(database_url, sandbox_url, token, request_timeout)
    approving = asyncio.create_task(approve_all())
    done_kills = 0
    try:
        for threshold in thresholds:
            await _posts_reach(pool, threshold)
            await asyncio.sleep(rng.uniform(0, 1.0))  # a random phase: pacing, a call, a claim
            child.send_signal(signal.SIGKILL)
            await asyncio.to_thread(child.wait)
            done_kills += 1
            child = start_child(database_url, sandbox_url, token, request_timeout)
        await approving
        await _settled(pool, settle_seconds, request_timeout)
    finally:
        approving.cancel()
        child.send_signal(signal.SIGKILL)
        await asyncio.to_thread(child.wait)
    return await _count(pool, world, market, done_kills, time.monotonic() - started)


STALL_SECONDS = 90.0  # no post for this long: the child is not sending (its start included)


async def _posts_reach(pool: asyncpg.Pool, count: float) -> None:
    """Until `count` channel posts were sent (polled: another process sends them)."""
    last, progress_at = -1, time.monotonic()
    while True:
        sent = await pool.fetchval("SELECT count(*) FROM outbox WHERE chat_id < 0 AND status = 'sent'")
        if sent >= count:
            return
        if sent != last:
            last, progress_at = sent, time.monotonic()
        elif time.monotonic() - progress_at > STALL_SECONDS:
            raise AssertionError(
                f"no channel post for {STALL_SECONDS:.0f} s ({sent} sent, waiting for {count:.0f})"
            )
        await asyncio.sleep(0.05)


async def _settled(pool: asyncpg.Pool, seconds: float, request_timeout: float) -> None:
    """Nothing left to send, and every uncertain post compared with the ids around it (or no
    later post can tell any more)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        open_rows = await pool.fetchval(
            "SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending') "
            "OR (status = 'uncertain' AND chat_id < 0 AND NOT auto_checked AND EXISTS ("
            "  SELECT 1 FROM outbox later WHERE later.chat_id = outbox.chat_id "
            "  AND later.status = 'sent' "
            "  AND later.call_started_at > outbox.call_started_at + make_interval(secs => $1)))",
            request_timeout,
        )
        if open_rows == 0:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"the outbox did not settle within {seconds:.0f} s")


async def _count(pool: asyncpg.Pool, world: World, market: Market, kills: int, seconds: float) -> CrashReport:
    found = dict.fromkeys(market.titles.values(), 0)
    for chat_id in market.chats:
        for message in world.chats[chat_id].messages.values():
            caption = message.get("caption") or message.get("text") or ""
            for title in found:
                if title in caption:
                    found[title] += 1
    approved = await pool.fetchval("SELECT count(*) FROM ads WHERE status = 'published'")
    uncertain = await pool.fetchval("SELECT count(*) FROM outbox WHERE status = 'uncertain'")
    resolved = await pool.fetchval("SELECT count(*) FROM outbox WHERE auto_checked AND status = 'sent'")
    return CrashReport(
        kills=kills,
        ads=int(approved),
        posts=sum(found.values()),
        duplicates=sum(n - 1 for n in found.values() if n > 1),
        losses=sum(1 for n in found.values() if n == 0),
        uncertain=int(uncertain),
        resolved=int(resolved),
        seconds=seconds,
    )


async def _child(database_url: str, sandbox_url: str, token: str, request_timeout: float) -> None:
    """The process the run kills: an outbox sender at Telegram's real limits."""
    pool = await create_pool(database_url)
    bot = create_bot(token, sandbox_url, wait_on_flood=False)
    sender = OutboxSender(pool, bot, request_timeout=request_timeout, tick=1.0)
    await sender.start()
    await asyncio.Event().wait()  # sends until it is killed


if __name__ == "__main__":
    asyncio.run(_child(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])))
