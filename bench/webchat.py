"""Web chat over WebSocket: delivery latency at an offered rate, the highest sustained rate, and
memory per 1,000 idle sockets — against a bare aiohttp WebSocket relay measured in the same run.

The server under test is the real web app (create_web_app: the chat's socket, its domain
functions, LISTEN/NOTIFY fan-out) in a child process; the baseline is a bare aiohttp relay in a
child process that stores each message with one INSERT and forwards it to the peer's socket.
This process plays every client: one socket per account, pairs of accounts in conversations,
messages between random pairs; a message carries its send time, the peer's socket reads it.

The web chat's per-account rate limit (30 messages a minute) is lifted in its child process:
the bench sends far more per account than a person does. Everything else is as in production,
including each frame's authorisation and the conversation's membership check.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import uvloop

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.db.embedded import EmbeddedPostgres  # noqa: E402
from app.db.migrations import migrate  # noqa: E402
from app.main import free_port  # noqa: E402

LATENCY_GOAL_MS = 50.0
RATIO_GOAL = 0.5


# --- the servers (child processes) ---------------------------------------------------------------


async def serve_webchat(port: int, dsn: str) -> None:
    from aiohttp import web

    from app.config import load_config
    from app.db.pool import create_pool
    from app.domain.chat import conversations
    from app.web import keys
    from app.web.app import create_web_app

    conversations.RATE_LIMIT = 10**9  # see the module's docstring
    config = load_config(
        {
            "DATABASE_URL": dsn,
            "PORT": str(port),
            "SECRET_KEY": "bench-secret-key-0123456789abcdef",
            "LOG_LEVEL": "WARNING",
        },
        dotenv=Path("/nonexistent"),
    )
    pool = await create_pool(dsn, min_size=4, max_size=16)
    app = create_web_app(config, services={keys.POOL: pool})
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, backlog=4096).start()
    print("ready", flush=True)
    await asyncio.Event().wait()


async def serve_bare(port: int, dsn: str) -> None:
    """The baseline: sockets by account id; a frame is stored (one INSERT) and forwarded."""
    from aiohttp import WSMsgType, web

    pool = await asyncpg.create_pool(dsn, min_size=4, max_size=16)
    async with pool.acquire() as conn:
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS bare_messages (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
               sender bigint NOT NULL, recipient bigint NOT NULL, body text NOT NULL,
               created_at timestamptz NOT NULL DEFAULT now())"""
        )
    sockets: dict[int, web.WebSocketResponse] = {}

    async def socket(request: web.Request) -> web.WebSocketResponse:
        me = int(request.query["me"])
        ws = web.WebSocketResponse(heartbeat=30)
        await ws.prepare(request)
        sockets[me] = ws
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                frame = json.loads(msg.data)
                to = int(frame["to"])
                message_id = await pool.fetchval(
                    "INSERT INTO bare_messages (sender, recipient, body) VALUES ($1, $2, $3) RETURNING id",
                    me,
                    to,
                    frame["body"],
                )
                peer = sockets.get(to)
                out = json.dumps(
                    {"type": "message", "message": {"id": message_id, "sender_id": me, "body": frame["body"]}}
                )
                if peer is not None and not peer.closed:
                    await peer.send_str(out)
        finally:
            sockets.pop(me, None)
        return ws

    app = web.Application()
    app.router.add_get("/ws", socket)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, backlog=4096).start()
    print("ready", flush=True)
    await asyncio.Event().wait()


@dataclass
class Child:
    process: subprocess.Popen[str]
    port: int

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def cpu_s(self) -> float:
        return cpu_seconds(self.process.pid)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


TICK = os.sysconf("SC_CLK_TCK")
POSTMASTER: list[int] = []  # the database server's pid, when it runs on this machine


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process used so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def database_cpu_s() -> float:
    """CPU time of the PostgreSQL server and all its processes (backends, WAL writer, ...)."""
    if not POSTMASTER:
        return 0.0
    total = cpu_seconds(POSTMASTER[0])
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if int(text.rsplit(")", 1)[1].split()[1]) == POSTMASTER[0]:
            total += cpu_seconds(int(stat.parent.name))
    return total


def start_child(kind: str, dsn: str) -> Child:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, __file__, f"--serve-{kind}", str(port), dsn],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if line.strip() != "ready":
        process.kill()
        raise RuntimeError(f"the {kind} server did not start")
    return Child(process, port)


# --- the clients (this process) -----------------------------------------------------------------------


@dataclass
class Client:
    index: int
    account_id: int
    ws: aiohttp.ClientWebSocketResponse
    reader: asyncio.Task[None] | None = None


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    received: int = 0

    def reset(self) -> None:
        self.latencies.clear()
        self.received = 0


async def read(client: Client, stats: Stats) -> None:
    async for msg in client.ws:
        if msg.type != aiohttp.WSMsgType.TEXT:
            continue
        frame = json.loads(msg.data)
        if frame.get("type") != "message":
            continue
        message = frame["message"]
        if message["sender_id"] == client.account_id:
            continue  # one's own message, echoed to one's other tabs
        sent = float(message["body"].split(":", 1)[1])
        stats.latencies.append((time.perf_counter() - sent) * 1000)
        stats.received += 1


async def connect_all(
    session: aiohttp.ClientSession, url: str, accounts: list[tuple[int, dict[str, str], str]], stats: Stats
) -> list[Client]:
    clients: list[Client] = [None] * len(accounts)  # type: ignore[list-item]
    semaphore = asyncio.Semaphore(100)

    async def one(index: int, account_id: int, headers: dict[str, str], query: str) -> None:
        async with semaphore:
            ws = await session.ws_connect(url + query, headers=headers, heartbeat=None, autoping=True)
        client = Client(index, account_id, ws)
        client.reader = asyncio.create_task(read(client, stats))
        clients[index] = client

    await asyncio.gather(*(one(i, a, h, q) for i, (a, h, q) in enumerate(accounts)))
    return clients


async def offer(
    clients: list[Client], frame_for: Any, rate: float, seconds: float, rng: random.Random
) -> int:
    """Send `rate` messages a second for `seconds` between random pairs (2k, 2k+1); how many sent."""
    total = int(rate * seconds)
    pairs = len(clients) // 2
    start = time.perf_counter()
    for n in range(total):
        due = start + n / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        pair = rng.randrange(pairs)
        a, b = (2 * pair, 2 * pair + 1) if rng.random() < 0.5 else (2 * pair + 1, 2 * pair)
        # A socket the server closed (e.g. a missed heartbeat) counts as not delivered.
        with contextlib.suppress(aiohttp.ClientConnectionResetError):
            await clients[a].ws.send_str(json.dumps(frame_for(clients[a], clients[b], n)))
    return total


async def settle(stats: Stats, expected: int, seconds: float) -> None:
    deadline = time.perf_counter() + seconds
    while stats.received < expected and time.perf_counter() < deadline:  # noqa: ASYNC110 - a deadline too
        await asyncio.sleep(0.05)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --- the run ---------------------------------------------------------------------------------------


async def seed(dsn: str, sockets: int) -> list[tuple[int, str, int]]:
    """Accounts in pairs, each pair in a conversation; (account id, API token, conversation id)."""
    conn = await asyncpg.connect(dsn)
    try:
        tokens = [f"bzr_bench{n:08d}{os.urandom(8).hex()}" for n in range(sockets)]
        ids = [
            r["id"]
            for r in await conn.fetch(
                """INSERT INTO chat_accounts (display_name)
                   SELECT 'User ' || g FROM generate_series(1, $1) g RETURNING id""",
                sockets,
            )
        ]
        await conn.copy_records_to_table(
            "chat_api_tokens",
            records=[
                (a, "bench", hashlib.sha256(t.encode()).digest()) for a, t in zip(ids, tokens, strict=True)
            ],
            columns=["account_id", "name", "token_hash"],
        )
        conversations = []
        for k in range(sockets // 2):
            a, b = ids[2 * k], ids[2 * k + 1]
            conversations.append(
                await conn.fetchval(
                    "INSERT INTO chat_conversations (starter_id, other_id) VALUES ($1, $2) RETURNING id", a, b
                )
            )
        await conn.executemany(
            "INSERT INTO chat_members (conversation_id, account_id, peer_id) VALUES ($1, $2, $3)",
            [(c, ids[2 * k], ids[2 * k + 1]) for k, c in enumerate(conversations)]
            + [(c, ids[2 * k + 1], ids[2 * k]) for k, c in enumerate(conversations)],
        )
        return [(ids[n], tokens[n], conversations[n // 2]) for n in range(sockets)]
    finally:
        await conn.close()


@dataclass
class Side:
    """One server under test, its clients and what they measured."""

    kind: str
    child: Child
    clients: list[Client]
    frame_for: Any
    stats: Stats
    mib_per_1000: float
    connect_s: float
    latencies: list[float] = field(default_factory=list)
    delivered: list[float] = field(default_factory=list)
    best_rate: int = 0
    failed: bool = False
    cpu_ms: list[float] = field(default_factory=list)  # server CPU per message, each latency round
    db_cpu_ms: list[float] = field(default_factory=list)  # PostgreSQL's CPU per message


async def open_side(
    kind: str, dsn: str, seeded: list[tuple[int, str, int]], session: aiohttp.ClientSession
) -> Side:
    child = start_child(kind, dsn)
    stats = Stats()
    before = child.rss_kib()
    started = time.perf_counter()
    if kind == "webchat":
        url = f"http://127.0.0.1:{child.port}/chat/ws"
        accounts = [(a, {"Authorization": f"Bearer {t}"}, "?after=0") for a, t, _c in seeded]

        def frame_for(sender: Client, receiver: Client, n: int) -> dict[str, Any]:
            return {
                "type": "send",
                "conversation_id": seeded[sender.index][2],
                "body": f"t:{time.perf_counter()!r}",
                "client_id": f"b{n}-{random.random()}",
            }
    else:
        url = f"http://127.0.0.1:{child.port}/ws"
        accounts = [(a, {}, f"?me={a}") for a, _t, _c in seeded]

        def frame_for(sender: Client, receiver: Client, n: int) -> dict[str, Any]:
            return {"to": receiver.account_id, "body": f"t:{time.perf_counter()!r}"}

    clients = await connect_all(session, url, accounts, stats)
    connect_s = time.perf_counter() - started
    await asyncio.sleep(10.0)  # idle: the sockets settle (catch-up answered, presence written)
    per_thousand = (child.rss_kib() - before) / (len(clients) / 1000) / 1024
    closed = sum(1 for c in clients if c.ws.closed)
    if closed:
        print(f"  {kind}: {closed} sockets already closed by the server", flush=True)
    print(
        f"  {kind}: {len(clients)} sockets in {connect_s:.1f} s; {per_thousand:.1f} MiB per 1,000 idle",
        flush=True,
    )
    return Side(kind, child, clients, frame_for, stats, per_thousand, connect_s)


async def step(side: Side, rate: int, seconds: float, rng: random.Random) -> tuple[float, list[float]]:
    side.stats.reset()
    sent = await offer(side.clients, side.frame_for, rate, seconds, rng)
    await settle(side.stats, sent, 8.0)
    return side.stats.received / sent, list(side.stats.latencies)


async def close_side(side: Side) -> None:
    for client in side.clients:
        await client.ws.close()
        if client.reader is not None:
            client.reader.cancel()
    side.child.stop()


async def run(dsn: str, seeded: list[tuple[int, str, int]], args: argparse.Namespace) -> tuple[Side, Side]:
    """Both servers up at once; every measurement alternates between them, so the machine's
    noise (other work on these 2 cores) falls on both alike."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        bare = await open_side("bare", dsn, seeded, session)
        chat = await open_side("webchat", dsn, seeded, session)
        try:
            rng = random.Random(1)
            for _round in range(args.rounds):
                for side in (bare, chat):
                    cpu, db_cpu = side.child.cpu_s(), database_cpu_s()
                    delivered, latencies = await step(side, args.rate, args.seconds, rng)
                    messages = args.rate * args.seconds
                    side.cpu_ms.append((side.child.cpu_s() - cpu) * 1000 / messages)
                    side.db_cpu_ms.append((database_cpu_s() - db_cpu) * 1000 / messages)
                    side.delivered.append(delivered)
                    side.latencies += latencies
                    print(
                        f"    round {_round + 1} {side.kind:8s}: p50 {percentile(latencies, 0.5):.1f} ms, "
                        f"p99 {percentile(latencies, 0.99):.1f} ms (load average {os.getloadavg()[0]:.1f})",
                        flush=True,
                    )
            for side in (bare, chat):
                print(
                    f"  {side.kind}: offered {args.rate}/s ({args.rounds} x {args.seconds:g} s): "
                    f"delivered {min(side.delivered) * 100:.1f} %, "
                    f"p50 {percentile(side.latencies, 0.5):.1f} ms, "
                    f"p99 {percentile(side.latencies, 0.99):.1f} ms; CPU per message: "
                    f"server {percentile(side.cpu_ms, 0.5):.2f} ms, "
                    f"PostgreSQL {percentile(side.db_cpu_ms, 0.5):.2f} ms (median of rounds)",
                    flush=True,
                )
            print("  the highest sustained rate (delivered ≥ 99 %, p99 < 1 s):", flush=True)
            for rate in args.rates:
                for side in (bare, chat):
                    if side.failed:
                        continue
                    delivered, latencies = await step(side, rate, args.step_seconds, rng)
                    p99 = percentile(latencies, 0.99)
                    print(
                        f"    {side.kind:8s} {rate:5d}/s: "
                        f"delivered {delivered * 100:5.1f} %, p99 {p99:8.1f} ms",
                        flush=True,
                    )
                    if delivered < 0.99 or p99 > 1000:
                        side.failed = True
                    else:
                        side.best_rate = rate
                    await asyncio.sleep(1.0)
                if bare.failed and chat.failed:
                    break
        finally:
            await close_side(chat)
            await close_side(bare)
    return bare, chat


async def main(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bozor-bench-"))
    tmp.chmod(0o755)
    pg = None if os.environ.get("DATABASE_URL") else EmbeddedPostgres(tmp / "pg")
    try:
        base_dsn = pg.start() if pg else os.environ["DATABASE_URL"]
        name = f"bozor_bench_webchat_{os.getpid()}"
        admin = await asyncpg.connect(base_dsn)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()
        dsn = base_dsn.replace(f"/{base_dsn.rsplit('/', 1)[1].split('?')[0]}", f"/{name}", 1)
        conn = await asyncpg.connect(dsn)
        await migrate(conn)
        if pg:
            backend = await conn.fetchval("SELECT pg_backend_pid()")
            stat = Path(f"/proc/{backend}/stat").read_text()
            POSTMASTER.append(int(stat.rsplit(")", 1)[1].split()[1]))
        await conn.close()
        seeded = await seed(dsn, args.sockets)
        print(
            f"web chat bench: {args.sockets} sockets per server ({args.sockets // 2} conversations), "
            f"2 cores shared with PostgreSQL (load average now {os.getloadavg()[0]:.1f})",
            flush=True,
        )
        bare, chat = await run(dsn, seeded, args)
    finally:
        if pg:
            pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    ratio = chat.best_rate / bare.best_rate if bare.best_rate else float("nan")
    p50, p99 = percentile(chat.latencies, 0.5), percentile(chat.latencies, 0.99)
    print("\nresults")
    print(f"  sockets                  : {len(chat.clients)} (goal 5,000)")
    print(f"  load average at the end  : {os.getloadavg()[0]:.1f}")
    print(
        f"  latency at {args.rate}/s       : p50 {p50:.1f} ms, p99 {p99:.1f} ms "
        f"(goal p99 ≤ {LATENCY_GOAL_MS:g} ms)"
    )
    print(
        f"  baseline latency         : p50 {percentile(bare.latencies, 0.5):.1f} ms, "
        f"p99 {percentile(bare.latencies, 0.99):.1f} ms"
    )
    print(f"  highest sustained rate   : web chat {chat.best_rate}/s, bare relay {bare.best_rate}/s")
    print(f"  ratio web chat/bare      : {ratio:.2f} (goal ≥ {RATIO_GOAL})")
    print(
        f"  server CPU per message   : web chat {percentile(chat.cpu_ms, 0.5):.2f} ms, "
        f"bare {percentile(bare.cpu_ms, 0.5):.2f} ms "
        f"(PostgreSQL: {percentile(chat.db_cpu_ms, 0.5):.2f} ms, {percentile(bare.db_cpu_ms, 0.5):.2f} ms)"
    )
    print(
        f"  memory per 1,000 idle    : web chat {chat.mib_per_1000:.1f} MiB, bare {bare.mib_per_1000:.1f} MiB"
    )
    ok = p99 <= LATENCY_GOAL_MS and ratio >= RATIO_GOAL
    print("  verdict: " + ("OK" if ok else "BELOW GOAL (figures above)"))


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sockets", type=int, default=5000)
    parser.add_argument("--rate", type=int, default=500, help="messages per second offered for latency")
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=3, help="alternating latency rounds per server")
    parser.add_argument(
        "--rates",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[250, 500, 750, 1000, 1500, 2000, 2500, 3000, 4000, 5000, 6000],
    )
    parser.add_argument("--step-seconds", type=float, default=3.0)
    return parser.parse_args()


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] in ("--serve-webchat", "--serve-bare"):
        serve = serve_webchat if sys.argv[1] == "--serve-webchat" else serve_bare
        uvloop.run(serve(int(sys.argv[2]), sys.argv[3]))
    else:
        uvloop.run(main(parse()))
