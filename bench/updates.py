"""Updates through the full pipeline vs a bare aiogram echo bot, against the same sandbox.

Each bot runs in its own process (uvloop, as in production); the sandbox and the load
generator run here. Traffic is a stated mix of what users of a marketplace bot send, against a
seeded database (a channel with categories, sellers with ads, sellers in the middle of the ad
wizard), 5,000 users each sending a few updates:

  10 %  /start                      the greeting and main menu
  20 %  menu buttons                My ads (a query of the seller's ads), Language, Back
  30 %  wizard answers              title, description, price of a draft kept in PostgreSQL
  40 %  free text                   questions typed to the bot, answered from the knowledge base

Each update gets exactly one message or one edit back from either bot, which is what is
counted. The baselines answer the same traffic: every message is echoed, every button edits
its message. Two baselines: a bare aiogram bot as anyone writes it (stock session), and the
same with Bozor's tuned HTTP session, so the table shows both the promise (PRODUCT P1: as fast
as a bare aiogram bot) and the pipeline's own cost.

The goals (issue 11), on the medians of the rounds: throughput at least MIN_RATIO of the bare
echo's, p99 at most MAX_P99_MS. The script exits 1, after printing everything, when either is
missed (only when every bot ran: --only measures without judging).

Throughput: all updates injected at once. Latency: a fixed offered load (300 updates/s), from
injection to the reply reaching the sandbox. Start-up: process start to the first reply, and
for Bozor also to /healthz 200.
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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import uvloop
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.db.embedded import EmbeddedPostgres  # noqa: E402
from app.main import free_port  # noqa: E402
from app.sandbox.app import make_sandbox_app  # noqa: E402
from app.sandbox.world import World  # noqa: E402

MIN_RATIO = 0.80  # Bozor's updates/s over the bare aiogram echo's, in the same run
MAX_P99_MS = 20.0  # at the offered rate (--rate)
TOKENS = {
    "echo-stock": "5000000001:BenchEchoBotTokenXXXXXXXXXXXXXXXXXXXX",
    "echo-tuned": "5000000003:BenchEchoTunedTokenXXXXXXXXXXXXXXXXXX",
    "bozor": "5000000002:BenchBozorBotTokenXXXXXXXXXXXXXXXXXXX",
}
MENU_PRESSES = ("menu:my_ads", "menu:language", "menu:home")
WIZARD_ANSWERS = ("Velosiped Stels", "Yaxshi holatda, 26 dyuym, ikki yil ishlatilgan", "1 500 000 so'm")
QUESTIONS = (
    "salom, e'lonim qachon chiqadi?",
    "Здравствуйте, как поменять цену?",
    "how do I delete my ad",
    "narxini ozgartirmoqchiman",
    "почему моё объявление отклонили",
)
CHANNEL_ID = -1003000000001


def role(index: int) -> str:
    """The kind of user by their index: 10 % start, 20 % menu, 30 % wizard, 40 % free text."""
    digit = index % 10
    if digit == 0:
        return "start"
    if digit <= 2:
        return "menu"
    if digit <= 5:
        return "wizard"
    return "text"


class Replies:
    """Counts a bot's replies (messages and edits) and matches each to the oldest unanswered
    update from its chat, for latency."""

    def __init__(self, world: World, bot_id: int) -> None:
        self.bot_id = bot_id
        self.count = 0
        self.last_at = 0.0
        self.first_at: float | None = None
        self.sent_at: dict[int, deque[float]] = defaultdict(deque)
        self.latencies: list[float] = []
        world.listeners.append(self.on_event)

    def on_event(self, event: str, bot_id: int, chat_id: int, _message: Any) -> None:
        if event not in ("send", "edit") or bot_id != self.bot_id:
            return
        now = time.perf_counter()
        self.count += 1
        self.last_at = now
        if self.first_at is None:
            self.first_at = now
        pending = self.sent_at.get(chat_id)
        if pending:
            self.latencies.append(now - pending.popleft())


@dataclass
class Traffic:
    """The next update of each user, in the stated mix; deterministic for a given user list."""

    world: World
    bot_id: int
    users: list[int]
    greetings: dict[int, int]  # menu user -> the message id of their main menu
    steps: dict[int, int]

    def send(self, i: int) -> int:
        """Inject update `i`; returns the chat it went to."""
        index = i % len(self.users)
        user = self.users[index]
        step = self.steps.get(user, 0)
        self.steps[user] = step + 1
        kind = role(index)
        if kind == "start":
            self.world.user_sends_text(self.bot_id, user, "/start")
        elif kind == "menu":
            dialog = self.world.dialog(self.bot_id, user)
            data = MENU_PRESSES[step % len(MENU_PRESSES)]
            self.world._press_inline(dialog, self.greetings[user], {"text": data, "callback_data": data})
        elif kind == "wizard":
            answer = WIZARD_ANSWERS[step] if step < len(WIZARD_ANSWERS) else "rasm yubordim"
            self.world.user_sends_text(self.bot_id, user, answer)
        else:
            self.world.user_sends_text(self.bot_id, user, QUESTIONS[(index + step) % len(QUESTIONS)])
        return user


async def wait_until(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.perf_counter() + seconds
    while not check():
        if time.perf_counter() > deadline:
            raise SystemExit(f"benchmark: timed out waiting for {what}")
        await asyncio.sleep(0.005)


def start_bot(kind: str, sandbox_url: str, dsn: str, data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    env.update(
        BOT_TOKEN=TOKENS[kind], TELEGRAM_API_URL=sandbox_url, LOG_LEVEL="WARNING", PYTHONPATH=str(ROOT)
    )
    if kind.startswith("echo"):
        env.update(ECHO_SESSION=kind.removeprefix("echo-"))
        command = [sys.executable, "bench/echo_bot.py"]
    else:
        env.update(DATABASE_URL=dsn, DATA_DIR=str(data_dir), PORT=str(port))
        command = [sys.executable, "run.py"]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)


async def healthy(port: int, seconds: float) -> float:
    """When /healthz first answers 200 (perf_counter)."""
    deadline = time.perf_counter() + seconds
    async with aiohttp.ClientSession() as http:
        while time.perf_counter() < deadline:
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        return time.perf_counter()
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.01)
    raise SystemExit("benchmark: Bozor never became healthy")


async def seed(dsn: str, bot_id: int, users: list[int]) -> None:
    """What a running marketplace has: a channel with categories, sellers with ads, drafts.

    Written with Bozor's own domain functions where there is one; the wizard drafts straight
    into the FSM table, as the wizard would have left them."""
    from app.db.pool import init_connection
    from app.domain import channels
    from app.domain.support import kb

    conn = await asyncpg.connect(dsn)
    await init_connection(conn)
    try:
        channel = await channels.create_channel(conn, title="Bozor Bench", chat_ref=str(CHANNEL_ID))
        names = {"uz": "Transport", "ru": "Транспорт", "en": "Transport"}
        category = await channels.add_category(conn, channel.id, "transport", names)
        await conn.executemany(
            "INSERT INTO users (id, first_name, language_code) VALUES ($1, $2, 'uz') ON CONFLICT DO NOTHING",
            [(u, f"User{u}") for u in users],
        )
        menu = [u for i, u in enumerate(users) if role(i) == "menu"]
        await conn.executemany(
            "INSERT INTO ads (seller_id, channel_id, category_id, title, description, price, currency, "
            "district, contact, status, text_key) VALUES ($1, $2, $3, $4, 'desc', 100, 'USD', 'Chilonzor', "
            "'+998901234567', 'published', $4)",
            [(u, channel.id, category.id, f"Ad {u} {n}") for u in menu for n in range(3)],
        )
        # The seeded ads have no photos (no channel post to make): no re-post slot comes due.
        later = "UPDATE channels SET next_repost_at = now() + interval '1 day' WHERE id = $1"
        await conn.execute(later, channel.id)
        draft = {
            "channel_id": channel.id,
            "category_id": category.id,
            "title": "",
            "description": "",
            "district": "",
            "contact": "",
            "price": None,
            "photos": [],
        }
        wizard = [u for i, u in enumerate(users) if role(i) == "wizard"]
        await conn.executemany(
            "INSERT INTO fsm_state (key, state, data) VALUES ($1, 'PostAd:title', $2::jsonb) "
            "ON CONFLICT (key) DO UPDATE SET state = excluded.state, data = excluded.data",
            [(f"{bot_id}:{u}:{u}:::default", {"draft": draft}) for u in wizard],
        )
        async with conn.transaction():  # free text goes to the support knowledge base (the demo's 40)
            await kb.load_sample(conn)
    finally:
        await conn.close()


async def throughput(traffic: Traffic, replies: Replies, total: int) -> float:
    expected = replies.count + total
    started = time.perf_counter()
    for i in range(total):
        traffic.send(i)
        if i % 500 == 499:
            await asyncio.sleep(0)  # let the sandbox hand out updates while we inject
    await wait_until(lambda: replies.count >= expected, 900, f"{total} replies")
    return total / (replies.last_at - started)


async def latency(
    traffic: Traffic, replies: Replies, rate: int, seconds: float
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
        chat = traffic.users[i % len(traffic.users)]
        replies.sent_at[chat].append(time.perf_counter())
        traffic.send(i)
    achieved = total / (time.perf_counter() - start)
    await wait_until(lambda: replies.count >= expected, 300, "latency replies")
    ms = sorted(x * 1000 for x in replies.latencies)
    return statistics.median(ms), ms[int(len(ms) * 0.99) - 1], achieved


async def run_one(
    kind: str, world: World, sandbox_url: str, dsn: str, tmp: Path, args: argparse.Namespace
) -> dict[str, float]:
    bot = world.add_bot(TOKENS[kind])
    users = [world.add_user(f"User{i}", id=700_000_000 + i, language_code="uz").id for i in range(args.users)]
    replies = Replies(world, bot.id)
    port = free_port()
    started = time.perf_counter()
    process = start_bot(kind, sandbox_url, dsn, tmp / kind, port)
    try:
        # Ready when its first long poll is waiting: a first message proves the whole path.
        world.user_sends_text(bot.id, users[1], "/start")
        await wait_until(lambda: replies.count >= 1, 120, f"the {kind} bot to start")
        first_reply = replies.last_at - started
        ready = (await healthy(port, 60) - started) if kind == "bozor" else first_reply
        if kind == "bozor":
            await seed(dsn, bot.id, users)
        # Menu users need their main menu to press on.
        menu_users = [u for i, u in enumerate(users) if role(i) == "menu"]
        before = replies.count
        for user in menu_users:
            world.user_sends_text(bot.id, user, "/start")
        await wait_until(lambda: replies.count >= before + len(menu_users), 300, "the menus")
        greetings = {u: max(world.dialog(bot.id, u).messages) for u in menu_users}
        traffic = Traffic(world, bot.id, users, greetings, {})
        profiler = profile(process.pid, kind, args.profile)
        cpu_before = cpu_seconds(process.pid)
        rate = await throughput(traffic, replies, args.updates)
        cpu = cpu_seconds(process.pid) - cpu_before
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)
            profiler.wait(timeout=60)
        p50, p99, offered = await latency(traffic, replies, args.rate, args.seconds)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    failed = await failed_updates(dsn) if kind == "bozor" else 0
    return {
        "rate": rate,
        "p50": p50,
        "p99": p99,
        "offered": offered,
        "start": first_reply,
        "ready": ready,
        "failed": failed,
        "cpu_ms": cpu * 1000 / args.updates,
    }


def cpu_seconds(pid: int) -> float:
    """The CPU time (user + system) a process has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def profile(pid: int, kind: str, directory: str | None) -> subprocess.Popen[bytes] | None:
    """With --profile DIR: py-spy records the bot during the throughput run (collapsed stacks)."""
    if not directory:
        return None
    out = Path(directory) / f"{kind}.txt"
    py_spy = str(Path(sys.executable).parent / "py-spy")  # pip install py-spy
    command = [py_spy, "record", "--pid", str(pid), "--rate", "200", "--format", "raw", "--nonblocking"]
    command += ["--output", str(out)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def failed_updates(dsn: str) -> int:
    """Updates whose handler raised (journaled with their error): a fast wrong answer is no answer."""
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM update_journal WHERE error IS NOT NULL"))
    finally:
        await conn.close()


async def one_round(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    tmp = Path(tempfile.mkdtemp(prefix="bozor-bench-"))
    tmp.chmod(0o755)  # the embedded server runs as an unprivileged user when we are root
    pg = EmbeddedPostgres(tmp / "pg")  # real durability settings, as in `make run`
    dsn = pg.start()
    world = World()
    # Hundreds of replies a second to thousands of users is beyond what Telegram allows a bot:
    # this measures the pipeline, so the sandbox's rate limits are off (bench/outbox.py measures those).
    world.limits.enabled = False
    # All updates are injected at once, so the last button presses wait in the queue longer
    # than the 15 s Telegram lets a callback query be answered; no user waits like that.
    world.callback_query_ttl = 3600
    runner = web.AppRunner(make_sandbox_app(world), access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    url = f"http://127.0.0.1:{port}"
    results = {}
    try:
        for kind in args.only or ("echo-stock", "echo-tuned", "bozor"):
            results[kind] = await run_one(kind, world, url, dsn, tmp, args)
    finally:
        await runner.cleanup()
        pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return results


def report(rounds: list[dict[str, dict[str, float]]], args: argparse.Namespace) -> list[str]:
    """Print the figures; returns the goals the medians miss (none unless every bot ran)."""
    print(f"\nupdates pipeline: {args.updates} updates in the stated mix, {args.users} users")
    labels = (("echo-stock", "bare aiogram echo"), ("echo-tuned", "echo, tuned session"), ("bozor", "bozor"))
    for kind, label in labels:
        if kind not in rounds[0]:
            continue
        for n, r in enumerate(rounds, 1):
            k = r[kind]
            extra = f", /healthz {k['ready']:.2f} s, {k['failed']:.0f} failed" if kind == "bozor" else ""
            print(
                f"  {label:20}#{n}: {k['rate']:7.0f} updates/s   p50 {k['p50']:5.1f} ms  "
                f"p99 {k['p99']:5.1f} ms at {k['offered']:.0f}/s   first reply {k['start']:.2f} s, "
                f"{k['cpu_ms']:.2f} CPU ms/update{extra}"
            )

    def line(
        name: str, values: list[float], target: str = "", meets: Callable[[float], bool] | None = None
    ) -> str:
        """Print a figure per round and their median; the median to 3 places when it misses its goal."""
        median = statistics.median(values)
        each = ", ".join(f"{x:.2f}" for x in values)
        missed = meets is not None and not meets(median)
        print(f"  {name:26}: {each}  median {median:.2f}  {target}{'  BELOW GOAL' if missed else ''}")
        return f"{name} {median:.3f} {target}" if missed else ""

    if len(rounds[0]) < len(labels):
        return []
    ratios = [r["bozor"]["rate"] / r["echo-stock"]["rate"] for r in rounds]
    missed = [line("ratio bozor / bare echo", ratios, f"(>= {MIN_RATIO:.2f})", lambda m: m >= MIN_RATIO)]
    line("ratio bozor / tuned echo", [r["bozor"]["rate"] / r["echo-tuned"]["rate"] for r in rounds])
    p99s = [r["bozor"]["p99"] for r in rounds]
    goal = f"(<= {MAX_P99_MS:.0f})"
    missed.append(line(f"bozor p99 ms at {args.rate}/s", p99s, goal, lambda m: m <= MAX_P99_MS))
    line(
        "start-up bozor / echo", [r["bozor"]["ready"] / r["echo-stock"]["start"] for r in rounds], "(<= 1.5)"
    )
    return [m for m in missed if m]


async def main(args: argparse.Namespace) -> int:
    rounds = [await one_round(args) for _ in range(args.rounds)]
    missed = report(rounds, args)
    if missed:
        print(f"\nBELOW GOAL: {'; '.join(missed)}")
        return 1
    return 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--updates", type=int, default=20_000)
    parser.add_argument("--users", type=int, default=5_000)
    parser.add_argument("--rate", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3, help="the figures are the median of the rounds")
    parser.add_argument("--profile", metavar="DIR", help="py-spy the bots into DIR/<bot>.txt")
    parser.add_argument("--only", choices=sorted(TOKENS), action="append", help="run only these bots")
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(uvloop.run(main(parse_args())))
