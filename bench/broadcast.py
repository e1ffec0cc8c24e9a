"""A broadcast to 100,000 users against the sandbox at a raised cap: the feed rate, the time to
finish, the delay of a transactional message queued in the middle, and the same after kill -9
and resume (duplicates: 0).

One run: a real PostgreSQL (embedded, or DATABASE_URL), the sandbox on loopback in this process
with its bot cap raised to --cap (per-chat limits as Telegram's: each user gets one message), and
a child process doing what Bozor's own process does for a broadcast: an OutboxSender at --cap and
the scheduler's broadcasts tick (every 5 s, its window sized for the cap).

  baseline: a child process sends --baseline sendMessage calls straight to the sandbox through
            the same aiogram session, 8 at a time (the sender's concurrency), no database, no
            limiter: the raw rate this machine's sandbox and HTTP stack allow;
  phase 1:  the broadcast is started through the domain (recipients fixed in one statement);
            once 10 % went out a transactional sendMessage is queued (priority 0) and its
            delay from commit to the sandbox is measured;
  kill -9:  after --kill-at of the recipients got it the child is killed with SIGKILL and
            restarted at once;
  phase 2:  the same measures after the resume; then the broadcast runs to its end.

Printed: rates as a ratio to the baseline and absolute, the transactional delays (goal < 1 s),
duplicates (goal 0), uncertain rows (calls in flight at the kill, never repeated), 429s.

  default: 100,000 recipients at 1,000/s (about 2.5 minutes on 2 cores);
  --quick: 10,000 recipients (what `make bench` runs, about 30 s).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import uvloop
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.bot.dispatcher import create_bot  # noqa: E402
from app.bot.outbox import OutboxSender, SendLimits  # noqa: E402
from app.db.embedded import EmbeddedPostgres  # noqa: E402
from app.db.migrations import migrate  # noqa: E402
from app.db.pool import create_pool  # noqa: E402
from app.domain import broadcasts, outbox  # noqa: E402
from app.domain import staff as staff_domain  # noqa: E402
from app.domain.actors import StaffMember  # noqa: E402
from app.domain.broadcasts import Audience  # noqa: E402
from app.domain.staff import Role  # noqa: E402
from app.domain.users import Languages  # noqa: E402
from app.main import free_port  # noqa: E402
from app.sandbox.app import make_sandbox_app  # noqa: E402
from app.sandbox.world import World  # noqa: E402

TOKEN = "5000000016:BenchBroadcastBotTokenXXXXXXXXXXXXXXX"
TICK = 5.0  # the scheduler's broadcasts tick (app/scheduler/__init__.py)
TEXTS = {"default": "Big <b>sale</b>", "uz": "Katta <b>chegirma</b>", "ru": "Большая <b>распродажа</b>"}
LANGS = Languages()  # every language enabled, as a fresh install
CUSTOMER_TEXT = "Your ticket was answered"


REJECTED = [0]  # 429s the sandbox answered during the broadcast


@web.middleware
async def count_429(request: web.Request, handler) -> web.StreamResponse:
    response = await handler(request)
    if response.status == 429:
        REJECTED[0] += 1
    return response


class Arrivals:
    """What the sandbox accepted: sends per chat, the times of broadcast sends, a watched chat."""

    def __init__(self, world: World, customer: int) -> None:
        self.per_chat: Counter[int] = Counter()
        self.times: list[float] = []
        self.customer = customer
        self.customer_at: list[float] = []
        world.listeners.append(self.on_event)

    def on_event(self, event: str, _bot_id: int, chat_id: int, message: dict) -> None:
        if event != "send":
            return
        now = time.perf_counter()
        if chat_id == self.customer and message.get("text") == CUSTOMER_TEXT:
            self.customer_at.append(now)
        else:
            self.per_chat[chat_id] += 1
            self.times.append(now)

    def rate(self, start: int, end: int) -> float:
        """Messages a second between the start-th and the end-th arrival."""
        end = min(end, len(self.times)) - 1
        return (end - start) / (self.times[end] - self.times[start]) if end > start else 0.0


async def until(predicate, seconds: float, what: str) -> None:
    deadline = time.perf_counter() + seconds
    while not predicate():
        if time.perf_counter() > deadline:
            raise SystemExit(f"benchmark: gave up waiting for {what}")
        await asyncio.sleep(0.005)


async def transactional_delay(pool: asyncpg.Pool, arrivals: Arrivals) -> float:
    """Queue a ticket reply to someone outside the broadcast; seconds from commit to arrival."""
    seen = len(arrivals.customer_at)
    async with pool.acquire() as conn, conn.transaction():
        await outbox.enqueue(conn, "sendMessage", {"chat_id": arrivals.customer, "text": CUSTOMER_TEXT})
    committed = time.perf_counter()
    await until(lambda: len(arrivals.customer_at) > seen, 60, "the transactional message")
    return arrivals.customer_at[seen] - committed


def start_child(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, __file__, *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def baseline(url: str, users: list[int], n: int) -> float:
    """The raw rate: a child sends `n` messages 8 at a time, no database; it prints the rate."""
    child = await asyncio.to_thread(  # the sandbox answers it from this process's loop
        subprocess.run,
        [sys.executable, __file__, "--baseline-child", url, TOKEN, str(users[0]), str(n)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
    )
    if child.returncode != 0:
        raise SystemExit(f"benchmark: the baseline failed:\n{child.stderr[-3000:]}")
    return float(child.stdout.strip().splitlines()[-1])


async def prepare_database(dsn: str) -> str:
    """A fresh database for this run, migrated; returns its DSN."""
    name = f"bozor_bench_broadcast_{os.getpid()}"
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


@dataclass
class Result:
    baseline: float
    rate_before: float
    rate_after: float
    delay_before: float
    delay_after: float
    resume_gap: float  # kill -> first message after the restart
    started_in: float  # the domain's start (recipients fixed) in seconds
    finished_in: float  # start -> the last recipient reached
    users: int
    duplicates: int
    missing: int
    uncertain: int
    rejected: int  # 429s the sandbox answered


async def run(args: argparse.Namespace, world: World, url: str, pool: asyncpg.Pool, dsn: str) -> Result:
    bot_user = world.add_bot(TOKEN)
    users = [world.add_user(f"U{i}", id=10_000_000 + i).id for i in range(args.users)]
    customer = world.add_user("Customer", id=9_999_999).id
    for user_id in [*users, customer]:  # each started the bot, so the bot may write to them
        world.dialog(bot_user.id, user_id).started = True
    arrivals = Arrivals(world, customer)
    langs = ("uz", "ru", "en", None)
    async with pool.acquire() as conn:
        await conn.copy_records_to_table(
            "users",
            records=[(u, f"U{i}", langs[i % 4]) for i, u in enumerate(users)],
            columns=["id", "first_name", "language"],
        )
        await conn.execute("INSERT INTO users (id, first_name) VALUES ($1, 'Customer')", customer)
        boss = StaffMember(await staff_domain.create_staff(conn, "bench", None, Role.ADMIN))
        made = await broadcasts.create(conn, boss, TEXTS, [], Audience())

    world.limits.enabled = False  # the raw rate: what the sandbox and the HTTP stack allow
    base = await baseline(url, users, args.baseline)
    world.limits.enabled = True
    arrivals.per_chat.clear()
    arrivals.times.clear()
    REJECTED[0] = 0
    await asyncio.sleep(1.0)  # the sandbox's buckets fill up again

    window = str(int(args.cap * TICK * 1.5))
    child = start_child("--child", dsn, url, TOKEN, str(args.cap), window, str(args.concurrency))
    try:
        began = time.perf_counter()
        async with pool.acquire() as conn:
            total = await broadcasts.start(conn, boss, made.id, languages=LANGS)
        started_in = time.perf_counter() - began
        n = args.users + 1  # the customer is one of everyone too
        assert total == n, total
        await until(lambda: len(arrivals.times) >= n // 10, 600, "10 % of the broadcast")
        delay_before = await transactional_delay(pool, arrivals)
        kill_at = int(n * args.kill_at)
        await until(lambda: len(arrivals.times) >= kill_at, 600, "the kill point")
        rate_before = arrivals.rate(n // 20, kill_at)
        child.send_signal(signal.SIGKILL)
        killed = time.perf_counter()
        await asyncio.to_thread(child.wait)
        sent_at_kill = len(arrivals.times)
        child = start_child("--child", dsn, url, TOKEN, str(args.cap), window, str(args.concurrency))
        await until(lambda: len(arrivals.times) > sent_at_kill + 5, 120, "sending after the restart")
        resume_gap = arrivals.times[sent_at_kill] - killed
        resumed = len(arrivals.times)
        await until(lambda: len(arrivals.times) >= resumed + n // 10, 600, "10 % more after the resume")
        delay_after = await transactional_delay(pool, arrivals)

        async def done() -> bool:
            async with pool.acquire() as conn:
                item = await broadcasts.get(conn, made.id)
            return item is not None and item.status == broadcasts.BroadcastStatus.DONE

        while not await done():
            if time.perf_counter() - began > 1200:
                raise SystemExit("benchmark: the broadcast did not finish in 20 minutes")
            await asyncio.sleep(0.2)
        finished_in = arrivals.times[-1] - began
        rate_after = arrivals.rate(resumed, len(arrivals.times))
    finally:
        child.send_signal(signal.SIGKILL)
        await asyncio.to_thread(child.wait)
    async with pool.acquire() as conn:
        uncertain = await conn.fetchval(
            "SELECT count(*) FROM outbox WHERE ref_kind = 'broadcast' AND status = 'uncertain'"
        )
    return Result(
        baseline=base,
        rate_before=rate_before,
        rate_after=rate_after,
        delay_before=delay_before,
        delay_after=delay_after,
        resume_gap=resume_gap,
        started_in=started_in,
        finished_in=finished_in,
        users=n,
        duplicates=sum(c - 1 for c in arrivals.per_chat.values() if c > 1),
        missing=n - len(arrivals.per_chat),
        uncertain=int(uncertain),
        rejected=REJECTED[0],
    )


async def main(args: argparse.Namespace) -> None:
    if args.quick:
        args.users, args.baseline = 10_000, 2_000
    tmp = Path(tempfile.mkdtemp(prefix="bozor-bench-"))
    tmp.chmod(0o755)  # the embedded server runs as an unprivileged user when we are root
    pg = None if os.environ.get("DATABASE_URL") else EmbeddedPostgres(tmp / "pg")
    world = World()
    world.limits.update(bot_per_second=args.cap, bot_burst=args.cap)  # the raised cap
    sandbox = make_sandbox_app(world)
    sandbox.middlewares.append(count_429)
    runner = web.AppRunner(sandbox, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        dsn = await prepare_database(pg.start() if pg else os.environ["DATABASE_URL"])
        pool = await create_pool(dsn)
        try:
            result = await run(args, world, f"http://127.0.0.1:{port}", pool, dsn)
        finally:
            await pool.close()
    finally:
        await runner.cleanup()
        if pg:
            pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    report(args, result)


def report(args: argparse.Namespace, r: Result) -> None:
    print(f"\nbroadcast to {r.users:,} users, cap {args.cap:g}/s, kill -9 at {args.kill_at:.0%}")
    print(f"  baseline (raw sendMessage, same session, 8 at a time): {r.baseline:7.0f} msg/s")
    for label, rate in (("before the kill", r.rate_before), ("after the resume", r.rate_after)):
        print(
            f"  feed rate {label:17}: {rate:7.0f} msg/s   ratio/baseline {rate / r.baseline:.2f}   "
            f"ratio/cap {rate / args.cap:.2f}"
        )
    print(f"  recipients fixed at start : {r.started_in * 1000:.0f} ms")
    print(
        f"  time to finish            : {r.finished_in:.1f} s   (ideal at the cap {r.users / args.cap:.1f} s)"
    )
    print(
        f"  transactional message     : {r.delay_before * 1000:.0f} ms mid-broadcast, "
        f"{r.delay_after * 1000:.0f} ms after the resume   (goal < 1000 ms)"
    )
    print(f"  kill -9 -> first message  : {r.resume_gap:.2f} s (a new process: imports, pool, claims)")
    print(f"  duplicates                : {r.duplicates}   (goal 0)")
    print(f"  uncertain (not re-sent)   : {r.uncertain}   (calls in flight at the kill)")
    print(f"  missing                   : {r.missing}   (uncertain ones may be missing; never more)")
    print(f"  429s                      : {r.rejected}")
    ok = (
        r.duplicates == 0
        and r.missing <= r.uncertain
        and max(r.delay_before, r.delay_after) < 1.0
        and r.rejected == 0
    )
    print("  verdict: " + ("OK" if ok else "FAIL"))
    if not ok:
        raise SystemExit(1)


# --- the child processes ------------------------------------------------------------------------


async def child(dsn: str, url: str, token: str, cap: float, window: int, concurrency: int) -> None:
    """What Bozor's process does for a broadcast: the outbox sender and the broadcasts tick."""
    pool = await create_pool(dsn)
    bot = create_bot(token, url, wait_on_flood=False)
    limits = SendLimits(per_second=cap)
    sender = OutboxSender(pool, bot, limits=limits, concurrency=concurrency, request_timeout=5.0, tick=1.0)
    await sender.start()
    while True:  # sends until it is killed
        async with pool.acquire() as conn:
            await broadcasts.feed_running(conn, LANGS, window)
        await asyncio.sleep(TICK)


async def baseline_child(url: str, token: str, users: list[int]) -> None:
    bot = create_bot(token, url, wait_on_flood=False)
    queue = list(reversed(users))

    async def worker() -> None:
        while queue:
            await bot.send_message(queue.pop(), "baseline")

    try:
        await bot.send_message(users[0], "warm-up")
        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(8)))
        print(f"{(len(users) - 1) / (time.perf_counter() - began):.1f}")
    finally:
        await bot.session.close()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="10,000 recipients (make bench)")
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--cap", type=float, default=1000.0, help="the sender's and the sandbox's messages/s")
    parser.add_argument("--kill-at", type=float, default=0.5, help="the share sent before kill -9")
    parser.add_argument("--baseline", type=int, default=5_000, help="messages in the baseline")
    parser.add_argument("--concurrency", type=int, default=8, help="the sender's calls at a time")
    parser.add_argument("--child", nargs=6, metavar=("DSN", "URL", "TOKEN", "CAP", "WINDOW", "CONCURRENCY"))
    parser.add_argument("--baseline-child", nargs=4, metavar=("URL", "TOKEN", "FIRST_USER", "COUNT"))
    return parser.parse_args()


if __name__ == "__main__":
    parsed = parse_args()
    if parsed.child:
        dsn, url, token, cap, window, concurrency = parsed.child
        uvloop.run(child(dsn, url, token, float(cap), int(window), int(concurrency)))
    elif parsed.baseline_child:
        url, token, first, count = parsed.baseline_child
        uvloop.run(baseline_child(url, token, list(range(int(first), int(first) + int(count)))))
    else:
        uvloop.run(main(parsed))
