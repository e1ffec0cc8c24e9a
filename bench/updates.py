"""Updates through the full pipeline vs a bare aiogram echo bot, against the same sandbox.

Each bot runs in its own process (uvloop, as in production); the sandbox and the load
generator run here. Throughput: 20,000 text updates injected at once. Latency: a fixed
offered load of 300 updates/s, from injection to the bot's reply reaching the sandbox.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict, deque
from pathlib import Path

import uvloop
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.db.embedded import EmbeddedPostgres  # noqa: E402
from app.main import free_port  # noqa: E402
from app.sandbox.app import make_sandbox_app  # noqa: E402
from app.sandbox.world import World  # noqa: E402

TOKENS = {
    "echo": "5000000001:BenchEchoBotTokenXXXXXXXXXXXXXXXXXXXX",
    "bozor": "5000000002:BenchBozorBotTokenXXXXXXXXXXXXXXXXXXX",
}


class Replies:
    """Counts a bot's replies and matches each to the oldest unanswered message in its chat."""

    def __init__(self, world: World, bot_id: int) -> None:
        self.bot_id = bot_id
        self.count = 0
        self.last_at = 0.0
        self.sent_at: dict[int, deque[float]] = defaultdict(deque)
        self.latencies: list[float] = []
        world.listeners.append(self.on_event)

    def on_event(self, event: str, bot_id: int, chat_id: int, _message: dict) -> None:
        if event != "send" or bot_id != self.bot_id:
            return
        now = time.perf_counter()
        self.count += 1
        self.last_at = now
        pending = self.sent_at.get(chat_id)
        if pending:
            self.latencies.append(now - pending.popleft())


async def wait_until(check, seconds: float, what: str) -> None:
    deadline = time.perf_counter() + seconds
    while not check():
        if time.perf_counter() > deadline:
            raise SystemExit(f"benchmark: timed out waiting for {what}")
        await asyncio.sleep(0.01)


def start_bot(kind: str, sandbox_url: str, dsn: str, data_dir: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    env.update(
        BOT_TOKEN=TOKENS[kind], TELEGRAM_API_URL=sandbox_url, LOG_LEVEL="WARNING", PYTHONPATH=str(ROOT)
    )
    if kind == "echo":
        command = [sys.executable, "bench/echo_bot.py"]
    else:
        env.update(DATABASE_URL=dsn, DATA_DIR=str(data_dir), PORT=str(free_port()))
        command = [sys.executable, "run.py"]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL)


async def throughput(world: World, replies: Replies, users: list[int], total: int) -> float:
    started = time.perf_counter()
    for i in range(total):
        world.user_sends_text(replies.bot_id, users[i % len(users)], f"hello {i}")
        if i % 500 == 499:
            await asyncio.sleep(0)  # let the sandbox hand out updates while we inject
    await wait_until(lambda: replies.count >= total, 600, f"{total} replies")
    return total / (replies.last_at - started)


async def latency(
    world: World, replies: Replies, users: list[int], rate: int, seconds: float
) -> tuple[float, float, float]:
    replies.latencies.clear()
    total = int(rate * seconds)
    expected = replies.count + total
    start = time.perf_counter()
    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        user = users[i % len(users)]
        replies.sent_at[user].append(time.perf_counter())
        world.user_sends_text(replies.bot_id, user, f"ping {i}")
    achieved = total / (time.perf_counter() - start)
    await wait_until(lambda: replies.count >= expected, 120, "latency replies")
    ms = sorted(x * 1000 for x in replies.latencies)
    return statistics.median(ms), ms[int(len(ms) * 0.99) - 1], achieved


async def run_one(
    kind: str, world: World, sandbox_url: str, dsn: str, tmp: Path, args: argparse.Namespace
) -> dict:
    bot = world.add_bot(TOKENS[kind])
    users = [world.add_user(f"User{i}", id=700_000_000 + i, language_code="ru").id for i in range(args.users)]
    replies = Replies(world, bot.id)
    process = start_bot(kind, sandbox_url, dsn, tmp / kind)
    try:
        # Ready when its first long poll is waiting (a warm-up message proves the whole path).
        world.user_sends_text(bot.id, users[0], "warm-up")
        await wait_until(lambda: replies.count >= 1, 90, f"the {kind} bot to start")
        rate = await throughput(world, replies, users, args.updates)
        p50, p99, offered = await latency(world, replies, users, args.rate, args.seconds)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    return {"rate": rate, "p50": p50, "p99": p99, "offered": offered}


async def main(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bozor-bench-"))
    tmp.chmod(0o755)  # the embedded server runs as an unprivileged user when we are root
    pg = EmbeddedPostgres(tmp / "pg")  # real durability settings, as in `make run`
    dsn = pg.start()
    world = World()
    # 300 replies/s to 1,000 users is beyond what Telegram allows a bot: this measures the
    # pipeline, so the sandbox's rate limits are off (the outbox benchmark measures those).
    world.limits.enabled = False
    runner = web.AppRunner(make_sandbox_app(world), access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    url = f"http://127.0.0.1:{port}"
    try:
        echo = await run_one("echo", world, url, dsn, tmp, args)
        bozor = await run_one("bozor", world, url, dsn, tmp, args)
    finally:
        await runner.cleanup()
        pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\nupdates pipeline ({args.updates} updates, {args.users} users)")
    print(
        f"  bare aiogram echo : {echo['rate']:8.0f} updates/s   "
        f"p50 {echo['p50']:6.1f} ms  p99 {echo['p99']:6.1f} ms at {echo['offered']:.0f}/s"
    )
    print(
        f"  bozor full path   : {bozor['rate']:8.0f} updates/s   "
        f"p50 {bozor['p50']:6.1f} ms  p99 {bozor['p99']:6.1f} ms at {bozor['offered']:.0f}/s"
    )
    print(f"  ratio bozor/echo  : {bozor['rate'] / echo['rate']:.2f}   (target >= 0.80)")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--updates", type=int, default=20_000)
    parser.add_argument("--users", type=int, default=1_000)
    parser.add_argument("--rate", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=10.0)
    return parser.parse_args()


if __name__ == "__main__":
    uvloop.run(main(parse_args()))
