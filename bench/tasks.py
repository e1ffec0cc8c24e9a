"""Tasks under load: 10,000 users pressing Check within a minute, and the take-back sweep.

1. Check: every user presses Check at a random moment within a minute (one in twenty twice at
   once). Each press runs the bot's Check path — app.domain.tasks.task_to_check, the paced
   getChatMember (app.bot.member_checks) over HTTP to the sandbox with its per-bot limit (30/s
   by default), then credit_member — without the update delivery around it. Expected: zero
   429s, every user credited exactly once, the books agree. The baseline, in the same run:
   the time the sandbox's limit allows at best (users / limit); the figure is the ratio to it.
   For contrast, the same number of calls fired unpaced: how many Telegram refuses with 429.
2. Sweep: 100,000 credited completions due for their re-check, one in twenty of whose users
   left; app.domain.tasks.recheck_due over all of them with an instant membership answer (so
   this measures our side: the lease, the ledger's take-back, the next due date). Baseline in
   the same run: one UPDATE of the due date per completion, each its own statement.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import uvloop
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.bot.dispatcher import create_bot  # noqa: E402
from app.bot.member_checks import MemberChecks  # noqa: E402
from app.bot.task_messages import BotTaskMessages  # noqa: E402
from app.db.embedded import EmbeddedPostgres  # noqa: E402
from app.db.migrations import migrate  # noqa: E402
from app.db.pool import create_pool  # noqa: E402
from app.domain import ledger, tasks  # noqa: E402
from app.domain.actors import TelegramUser  # noqa: E402
from app.domain.users import Languages  # noqa: E402
from app.i18n import Translator  # noqa: E402
from app.sandbox.app import make_sandbox_app  # noqa: E402
from app.sandbox.errors import TelegramError  # noqa: E402
from app.sandbox.world import World  # noqa: E402

BASELINE_ROWS = 10_000
TOKEN = "4242424242:BenchTokenForTheTasksBenchmarkXXXXXXXX"
FIRST_USER = 300_000_000
CHAT_ID = -1009000000001


class Counted:
    """Counts the sandbox's 429 answers to getChatMember (the limiter is the sandbox's own)."""

    def __init__(self, world: World) -> None:
        self.refused = 0
        self._charge = world.rate.charge_call
        world.rate.charge_call = self  # type: ignore[method-assign]  # a bench's counter

    def __call__(self, bot, method: str) -> None:
        try:
            self._charge(bot, method)
        except TelegramError as exc:
            if exc.code == 429:
                self.refused += 1
            raise


async def start_sandbox(users: int, rate: float) -> tuple[World, web.AppRunner, str]:
    world = World()
    world.limits.update(get_chat_member_per_second=rate, get_chat_member_burst=rate)
    bot = world.add_bot(TOKEN, username="bench_tasks_bot")
    chat = world.add_chat("channel", "Bench Channel", id=CHAT_ID, username="bench_channel")
    world.set_member(chat.id, bot.id, "administrator", can_post_messages=True)
    for n in range(users):
        user = world.add_user(f"U{n}", id=FIRST_USER + n)
        world.set_member(chat.id, user.id, "member")
    runner = web.AppRunner(make_sandbox_app(world))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]  # the bound port
    return world, runner, f"http://127.0.0.1:{port}"


async def seed_check(conn: asyncpg.Connection, users: int) -> tasks.Task:
    await conn.execute(
        "INSERT INTO users (id, first_name) SELECT $1 + g, 'U' || g FROM generate_series(0, $2 - 1) g",
        FIRST_USER,
        users,
    )
    task_id = await conn.fetchval(
        """INSERT INTO tasks (chat_ref, chat_id, chat_title, join_url, titles, reward, verification,
                              leave_days)
           VALUES ('@bench_channel', $1, 'Bench Channel', 'https://t.me/bench_channel', '{"en": "Join"}',
                   10, 'auto', 7) RETURNING id""",
        CHAT_ID,
    )
    task = await tasks.get_task(conn, task_id)
    assert task is not None
    return task


async def unpaced_burst(base: str, calls: int) -> tuple[int, float]:
    """The same calls without pacing, 50 at a time: how many the sandbox refuses."""
    bot = create_bot(TOKEN, base, wait_on_flood=False)
    refused = 0
    semaphore = asyncio.Semaphore(50)

    async def one(n: int) -> None:
        nonlocal refused
        async with semaphore:
            try:
                await bot.get_chat_member(CHAT_ID, FIRST_USER + n)
            except Exception:  # TelegramRetryAfter
                refused += 1

    started = time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(calls)))
    elapsed = time.perf_counter() - started
    await bot.session.close()
    return refused, elapsed


async def check_storm(
    pool: asyncpg.Pool, base: str, task: tasks.Task, users: int, pace: float, spread: float
) -> tuple[float, dict[str, int], list[float], int]:
    bot = create_bot(TOKEN, base)  # as the bot's handlers have it
    checks = MemberChecks(pace)
    rng = random.Random(7)
    latencies: list[float] = []
    outcomes: dict[str, int] = {}
    t0 = time.perf_counter()

    async def press(user_id: int, at: float) -> None:
        await asyncio.sleep(at)
        started = time.perf_counter()
        user = TelegramUser(user_id)
        try:
            async with pool.acquire() as conn:
                found = await tasks.task_to_check(conn, task.id, user, _now())
            assert found.chat_id is not None
            member = await checks.probe(bot, found.chat_id, user_id)
            if not member:
                outcome = "unknown" if member is None else "not a member"
            else:
                async with pool.acquire() as conn:
                    await tasks.credit_member(conn, found, user, _now())
                outcome = "credited"
        except tasks.AlreadyDone:
            outcome = "already done"
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        latencies.append(time.perf_counter() - started)

    presses = []
    for n in range(users):
        at = rng.uniform(0, spread)
        presses.append(press(FIRST_USER + n, at))
        if n % 20 == 0:
            presses.append(press(FIRST_USER + n, at))  # a double tap
    await asyncio.gather(*presses)
    elapsed = time.perf_counter() - t0
    await bot.session.close()
    return elapsed, outcomes, latencies, checks.calls


def _now():
    from datetime import UTC, datetime

    return datetime.now(UTC)


SWEEP_SEED = """
WITH t AS (
    INSERT INTO tasks (chat_ref, chat_id, join_url, titles, reward, verification, leave_days)
    VALUES ('@sweep_chat', -1009000000002, 'https://t.me/sweep_chat', '{"en": "Sweep"}', 10, 'auto', 7)
    RETURNING id
), u AS (
    INSERT INTO users (id, first_name) SELECT $1 + g, 'S' || g FROM generate_series(0, $2 - 1) g
)
INSERT INTO task_completions (task_id, user_id, status, reward, credited_at, watch_until, next_check_at)
SELECT t.id, $1 + g, 'credited', 10, now() - interval '1 day', now() + interval '6 days',
       now() - interval '1 minute'
  FROM t, generate_series(0, $2 - 1) g
"""
SWEEP_LEDGER = """
INSERT INTO ledger_entries (account, currency, amount, kind, ref_kind, ref_id, actor, idempotency_key,
                            balance_after)
SELECT user_id, 'points', 10, 'task_reward', 'task', task_id, 'system',
       'task:' || task_id || ':' || user_id, 10
  FROM task_completions WHERE user_id >= $1;
INSERT INTO ledger_balances (account, currency, balance)
SELECT user_id, 'points', 10 FROM task_completions WHERE user_id >= $1
"""


async def sweep(pool: asyncpg.Pool, dsn: str, completions: int) -> tuple[float, float, tasks.Sweep]:
    first = FIRST_USER + 50_000_000
    conn = await asyncpg.connect(dsn)  # the seeding may outlast the pool's command time-out
    try:
        await conn.execute(SWEEP_SEED, first, completions)
        await conn.execute(SWEEP_LEDGER.replace("$1", str(first)))
        await conn.execute("ANALYZE")
    finally:
        await conn.close()

    async def probe(_chat_id: int, user_id: int) -> bool:
        return user_id % 20 != 0  # one in twenty left

    msgs = BotTaskMessages(Translator("en"))
    total = tasks.Sweep(0, 0, 0)
    started = time.perf_counter()
    async with pool.acquire() as conn:
        while True:
            done = await tasks.recheck_due(conn, _now(), probe, msgs=msgs, languages=Languages(), limit=500)
            if done.checked == 0:
                break
            total = tasks.Sweep(
                total.checked + done.checked, total.taken_back + done.taken_back, total.unknown + done.unknown
            )
    took = time.perf_counter() - started
    async with pool.acquire() as conn:
        sample = await conn.fetch(
            "SELECT id FROM task_completions WHERE user_id >= $1 LIMIT $2", first, BASELINE_ROWS
        )
        # The baseline, timed after the sweep on the same table: one
        # UPDATE of the due date per completion, each its own statement, timed on a sample and
        # scaled to all of them (per completion it is what the sweep is held to).
        started = time.perf_counter()
        for row in sample:
            await conn.execute(
                "UPDATE task_completions SET next_check_at = next_check_at WHERE id = $1", row["id"]
            )
        baseline = (time.perf_counter() - started) / len(sample) * completions
    return took, baseline, total


async def main(args: argparse.Namespace) -> None:
    root = Path(tempfile.mkdtemp(prefix="bozor-bench-"))
    root.chmod(0o755)
    pg = EmbeddedPostgres(root / "pg")
    runner = None
    lines: list[str] = []
    ok = True
    try:
        database_url = pg.start()
        conn = await asyncpg.connect(database_url)
        await migrate(conn)
        task = await seed_check(conn, args.users)
        await conn.close()
        world, runner, base = await start_sandbox(args.users, args.rate)
        counted = Counted(world)
        pool = await create_pool(database_url, min_size=4, max_size=20)

        refused, burst_s = await unpaced_burst(base, min(args.users, 2000))
        burst_refused = counted.refused
        await asyncio.sleep(2)  # the sandbox's bucket fills again
        counted.refused = 0
        pace = args.rate * 0.85
        elapsed, outcomes, latencies, calls = await check_storm(
            pool, base, task, args.users, pace, args.spread
        )
        async with pool.acquire() as conn:
            credited = await conn.fetchval("SELECT count(*) FROM task_completions WHERE status = 'credited'")
            entries = await conn.fetchval("SELECT count(*) FROM ledger_entries WHERE kind = 'task_reward'")
            mismatches = await ledger.verify(conn)
        ideal = args.users / args.rate
        p50 = statistics.median(latencies)
        p95 = statistics.quantiles(latencies, n=20)[18]
        once = credited == entries == args.users and not mismatches
        ok &= once and counted.refused == 0
        lines += [
            f"check: {args.users:,} users (+{args.users // 20:,} double taps) within {args.spread:.0f} s, "
            f"sandbox limit {args.rate:.0f}/s, paced at {pace:.1f}/s",
            f"  all answered in {elapsed:.1f} s = {elapsed / ideal:.2f}x the limit's best ({ideal:.1f} s); "
            f"getChatMember calls {calls:,}, 429s {counted.refused}",
            f"  press to answer: p50 {p50:.1f} s, p95 {p95:.1f} s (queued behind the limit)",
            f"  outcomes {dict(sorted(outcomes.items()))}; credited {credited:,}, "
            f"reward entries {entries:,}, books agree: {not mismatches}",
            f"  contrast, unpaced: {min(args.users, 2000):,} calls in {burst_s:.1f} s, "
            f"{burst_refused:,} refused with 429 ({refused:,} seen by the client)",
        ]
        took, baseline, done = await sweep(pool, database_url, args.completions)
        ok &= done.checked == args.completions and done.taken_back == args.completions // 20
        lines += [
            f"sweep: {args.completions:,} due completions, {done.taken_back:,} taken back, in {took:.1f} s "
            f"({took / args.completions * 1e3:.2f} ms each) = {took / baseline:.2f}x the baseline "
            f"(one UPDATE each, timed on {BASELINE_ROWS:,}: {baseline:.1f} s)",
            f"  with Telegram answering at {pace:.1f} checks/s the same sweep needs "
            f"{args.completions / pace / 3600:.1f} h of calls (the job takes 500 per one-minute tick)",
        ]
        await pool.close()
    finally:
        if runner is not None:
            await runner.cleanup()
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)
    print("\n" + "\n".join(lines))
    print("PASS" if ok else "FAIL")
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument(
        "--rate", type=float, default=30.0, help="the sandbox's getChatMember limit per second"
    )
    parser.add_argument("--spread", type=float, default=60.0, help="seconds over which the presses come")
    parser.add_argument("--completions", type=int, default=100_000)
    uvloop.run(main(parser.parse_args()))
