"""Outbox throughput against the sandbox's rate limits: the configured cap kept, zero 429s.

One run: a real PostgreSQL (embedded, or DATABASE_URL), the sandbox on loopback with
Telegram's limits (30 messages/s per bot, 1/s per private chat), and the real aiogram Bot.

  baseline: a bare loop `await bot.send_message(...)` paced by the same token bucket the
            sender uses (no database, no outbox): what the limiter alone achieves;
  outbox:   N rows enqueued in one committed transaction, delivered by OutboxSender.

The rate is measured where Telegram would see it, from the sandbox's first to last accepted
message: (N - 1) / (t_last - t_first). The outbox must be within ±2 % of the cap, with no 429.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import uvloop
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aiogram import Bot  # noqa: E402
from aiogram.exceptions import TelegramRetryAfter  # noqa: E402

from app.bot.dispatcher import create_bot  # noqa: E402
from app.bot.outbox import OutboxSender, SendLimits, TokenBucket  # noqa: E402
from app.db.embedded import EmbeddedPostgres  # noqa: E402
from app.db.migrations import migrate  # noqa: E402
from app.db.pool import create_pool  # noqa: E402
from app.domain.outbox import Outgoing, enqueue_many  # noqa: E402
from app.main import free_port  # noqa: E402
from app.sandbox.app import make_sandbox_app  # noqa: E402
from app.sandbox.world import World  # noqa: E402

TOKEN = "5000000003:BenchOutboxBotTokenXXXXXXXXXXXXXXXXXX"


class Arrivals:
    """Times the sandbox accepted the bot's messages, and the 429s the bot received."""

    def __init__(self, world: World, bot: Bot) -> None:
        self.times: list[float] = []
        self.rejected = 0
        world.listeners.append(self.on_event)
        bot.session.middleware(self.count_429)

    def on_event(self, event: str, _bot_id: int, _chat_id: int, _message: dict) -> None:
        if event == "send":
            self.times.append(time.perf_counter())

    async def count_429(self, make_request, bot, method):
        try:
            return await make_request(bot, method)
        except TelegramRetryAfter:
            self.rejected += 1
            raise

    def reset(self) -> None:
        self.times.clear()
        self.rejected = 0

    def rate(self) -> float:
        return (len(self.times) - 1) / (self.times[-1] - self.times[0])


async def wait_for(arrivals: Arrivals, count: int, seconds: float) -> None:
    deadline = time.perf_counter() + seconds
    while len(arrivals.times) < count:
        if time.perf_counter() > deadline:
            raise SystemExit(f"benchmark: only {len(arrivals.times)} of {count} arrived")
        await asyncio.sleep(0.01)


async def baseline(bot: Bot, users: list[int], cap: float) -> None:
    """The bare loop: the sender's global bucket, then one call at a time."""
    bucket = TokenBucket(cap, SendLimits().burst)
    loop = asyncio.get_running_loop()
    for user_id in users:
        if wait := bucket.reserve(loop.time()):
            await asyncio.sleep(wait)
        await bot.send_message(user_id, "baseline")


async def through_outbox(
    pool: asyncpg.Pool, bot: Bot, users: list[int], cap: float, arrivals: Arrivals
) -> float:
    sender = OutboxSender(pool, bot, limits=SendLimits(per_second=cap))
    await sender.start()
    try:
        async with pool.acquire() as conn, conn.transaction():
            await enqueue_many(conn, [Outgoing("sendMessage", {"chat_id": u, "text": "news"}) for u in users])
        committed = time.perf_counter()
        await wait_for(arrivals, len(users), len(users) / cap * 2 + 30)
        return arrivals.times[0] - committed
    finally:
        await sender.stop()


async def prepare_database(dsn: str) -> str:
    """A fresh database for this run, migrated; returns its DSN."""
    name = f"bozor_bench_outbox_{os.getpid()}"
    admin = await asyncpg.connect(dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    bench_dsn = dsn.replace(f"/{dsn.rsplit('/', 1)[1].split('?')[0]}", f"/{name}", 1)
    conn = await asyncpg.connect(bench_dsn)
    try:
        await migrate(conn)
    finally:
        await conn.close()
    return bench_dsn


async def main(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bozor-bench-"))
    tmp.chmod(0o755)  # the embedded server runs as an unprivileged user when we are root
    pg = None if os.environ.get("DATABASE_URL") else EmbeddedPostgres(tmp / "pg")
    world = World()
    world.limits.enabled = not args.no_sandbox_limits
    world.add_bot(TOKEN)
    users = [world.add_user(f"U{i}").id for i in range(args.messages)]
    for user_id in users:  # each has written to the bot, so the bot may write to them
        world.user_sends_text(None, user_id, "/start")
    runner = web.AppRunner(make_sandbox_app(world), access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    bot = create_bot(TOKEN, f"http://127.0.0.1:{port}", wait_on_flood=False)
    arrivals = Arrivals(world, bot)
    try:
        dsn = await prepare_database(pg.start() if pg else os.environ["DATABASE_URL"])
        pool = await create_pool(dsn)
        try:
            await baseline(bot, users, args.cap)
            base_rate, base_429 = arrivals.rate(), arrivals.rejected
            arrivals.reset()
            await asyncio.sleep(1.5)  # let the sandbox's buckets fill up again
            first_latency = await through_outbox(pool, bot, users, args.cap, arrivals)
            rate, rejected = arrivals.rate(), arrivals.rejected
        finally:
            await pool.close()
    finally:
        await bot.session.close()
        await runner.cleanup()
        if pg:
            pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    report(args, base_rate, base_429, rate, rejected, first_latency)


def report(
    args: argparse.Namespace,
    base_rate: float,
    base_429: int,
    rate: float,
    rejected: int,
    first_latency: float,
) -> None:
    off = (rate / args.cap - 1) * 100
    print(f"\noutbox throughput ({args.messages} messages to {args.messages} users, cap {args.cap:g}/s)")
    print(f"  baseline (bare send loop, same limiter): {base_rate:7.2f} msg/s   429s: {base_429}")
    print(
        f"  outbox sender                          : {rate:7.2f} msg/s   429s: {rejected}   "
        f"commit -> first message {first_latency * 1000:.0f} ms"
    )
    print(f"  ratio outbox/baseline : {rate / base_rate:.3f}")
    print(f"  ratio outbox/cap      : {rate / args.cap:.3f}   ({off:+.2f} %, target within ±2 %)")
    ok = abs(off) <= 2 and rejected == 0
    print("  verdict: " + ("OK" if ok else "FAIL"))
    if not ok:
        raise SystemExit(1)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=600)
    parser.add_argument("--cap", type=float, default=30.0, help="the sender's messages/s")
    parser.add_argument(
        "--no-sandbox-limits",
        action="store_true",
        help="switch the sandbox's rate limits off, to find the sender's own ceiling",
    )
    return parser.parse_args()


if __name__ == "__main__":
    uvloop.run(main(parse_args()))
