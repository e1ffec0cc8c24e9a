"""Memory of `make run` idle, and per 1,000 users in the middle of a conversation.

`run.py` starts as `make run` starts it (embedded PostgreSQL, the sandbox in the same process,
the demo world), on a fresh data dir and then again on the existing one. Its RSS is read from
/proc once it is steady. The baseline, measured in the same run against the same sandbox, is a
bare aiogram echo bot (bench/echo_bot.py): the least a Python process polling Telegram costs.

Start-up, as a user meets it: from starting the process to the answer to a /start that was
already waiting, on the existing data dir (embedded PostgreSQL started, no migrations to run),
against the echo bot's start-up to its answer to a waiting message (goal: at most 1.5 times).

Then, against a sandbox in a process of its own (its chats are kept in memory and are not
Bozor's), 1,000 users press "Post an ad", each leaving an FSM state in PostgreSQL, and the
growth of Bozor's RSS is reported per 1,000 such users. PostgreSQL's own processes are not
counted (they are the database, not Bozor).
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
from collections.abc import Callable
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.main import free_port  # noqa: E402

ECHO_TOKEN = "5000000009:BenchMemoryEchoTokenXXXXXXXXXXXXXXXXX"
BOZOR_TOKEN = "5000000010:BenchMemoryBozorTokenXXXXXXXXXXXXXXXX"
MB = 1024 * 1024
WARM_UP = 40


def rss(pid: int) -> int:
    """Resident set size in bytes, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise SystemExit(f"benchmark: no VmRSS for process {pid}")


async def steady(pid: int, *, window: int = 5, tolerance: int = 2 * MB, limit: float = 60) -> int:
    """RSS once it has moved less than `tolerance` over `window` one-second samples."""
    samples: list[int] = []
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        samples.append(rss(pid))
        recent = samples[-window:]
        if len(recent) == window and max(recent) - min(recent) <= tolerance:
            return recent[-1]
        await asyncio.sleep(1)
    return samples[-1]


def start_bozor(
    data_dir: Path, port: int, *, token: str | None = None, api_url: str | None = None
) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    env.update(DATA_DIR=str(data_dir), PORT=str(port), LOG_LEVEL="WARNING", PYTHONPATH=str(ROOT))
    if token and api_url:
        env.update(BOT_TOKEN=token, TELEGRAM_API_URL=api_url)
    return spawn([sys.executable, "run.py"], env)


def start_echo(api: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    env.update(BOT_TOKEN=ECHO_TOKEN, TELEGRAM_API_URL=api, ECHO_SESSION="stock", PYTHONPATH=str(ROOT))
    return spawn([sys.executable, "bench/echo_bot.py"], env)


def start_sandbox(port: int) -> subprocess.Popen[bytes]:
    return spawn([sys.executable, "-m", "app.sandbox", "--port", str(port)], dict(os.environ))


def spawn(command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL
    )
    RUNNING.append(process)
    return process


RUNNING: list[subprocess.Popen[bytes]] = []  # stopped however the benchmark ends


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def wait_ready(
    http: aiohttp.ClientSession, base: str, process: subprocess.Popen[bytes], *, sandbox: bool = True
) -> None:
    """/healthz 200 and, in sandbox mode, the demo world's bot known to the sandbox."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"benchmark: run.py exited with {process.returncode}")
        try:
            async with http.get(f"{base}/healthz") as health:
                if health.status == 200 and not sandbox:
                    return
                if health.status == 200:
                    async with http.get(f"{base}/sandbox/api/bots") as bots:
                        if bots.status == 200 and await bots.json():
                            return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.2)
    raise SystemExit("benchmark: Bozor never became ready")


async def api(
    http: aiohttp.ClientSession, base: str, path: str, body: dict[str, object]
) -> dict[str, object]:
    async with http.post(f"{base}/api/{path}", json=body) as response:
        payload: dict[str, object] = await response.json()
        if response.status != 200:
            raise SystemExit(f"benchmark: {path} answered {response.status}: {payload}")
        return payload


async def chat_has(http: aiohttp.ClientSession, base: str, user: int, bot: int, needle: str) -> bool:
    async with http.get(f"{base}/api/users/{user}/chat", params={"bot_id": str(bot)}) as response:
        return needle in await response.text()


async def start_wizards(http: aiohttp.ClientSession, base: str, bot: int, count: int) -> None:
    """`count` users each: /start, then "Post an ad" — the wizard's first question is their state."""
    users: list[int] = []
    for i in range(count):
        made = await api(http, base, "users", {"first_name": f"Memory{i}", "language_code": "en"})
        users.append(int(str(made["id"])))
    # In steps of 20: the sandbox keeps Telegram's 30 messages/s per bot, as make run does.
    for batch in range(0, count, 20):
        chunk = users[batch : batch + 20]
        start = {"bot_id": bot, "text": "/start"}
        await asyncio.gather(*(api(http, base, f"users/{u}/send", start) for u in chunk))
        await until_all(http, base, bot, chunk, "Post an ad")
        post = {"bot_id": bot, "button_text": "📢 Post an ad"}
        await asyncio.gather(*(api(http, base, f"users/{u}/press", post) for u in chunk))
        await until_all(http, base, bot, chunk, "Cancel")


async def until_all(http: aiohttp.ClientSession, base: str, bot: int, users: list[int], needle: str) -> None:
    deadline = time.monotonic() + 120
    waiting = list(users)
    while waiting:
        if time.monotonic() > deadline:
            raise SystemExit(f"benchmark: {len(waiting)} users never saw {needle!r}")
        seen = await asyncio.gather(*(chat_has(http, base, u, bot, needle) for u in waiting))
        waiting = [u for u, ok in zip(waiting, seen, strict=True) if not ok]
        if waiting:
            await asyncio.sleep(0.2)


async def measure(users: int) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="bozor-memory-"))
    data_dir.chmod(0o755)  # run as root, the embedded PostgreSQL runs as nobody and must reach it
    port, sandbox_port = free_port(), free_port()
    base, sandbox = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{sandbox_port}"
    try:
        async with aiohttp.ClientSession() as http:
            first = start_bozor(data_dir, port)
            await wait_ready(http, base, first)
            fresh = await steady(first.pid)
            stop(first)

            bozor = start_bozor(data_dir, port)  # the existing data dir, as every later start
            await wait_ready(http, base, bozor)
            idle = await steady(bozor.pid)
            echo_rss = await echo_baseline(http, f"{base}/sandbox")
            stop(bozor)

            # Per user: Bozor against a sandbox of its own process, so that the emulated
            # Telegram's chats (kept in memory) do not count as Bozor's.
            world = start_sandbox(sandbox_port)
            try:
                await sandbox_up(http, sandbox)
                echo_start, echo = await first_answer(http, sandbox, ECHO_TOKEN, lambda: start_echo(sandbox))
                stop(echo)
                bozor_start, bozor = await first_answer(
                    http,
                    sandbox,
                    BOZOR_TOKEN,
                    lambda: start_bozor(data_dir, port, token=BOZOR_TOKEN, api_url=sandbox),
                )
                await wait_ready(http, base, bozor, sandbox=False)
                # Warm-up: the first users build what any user needs once (aiogram's models
                # of a button press, connections); what is measured is what each user adds.
                await start_wizards(http, sandbox, int(BOZOR_TOKEN.split(":")[0]), WARM_UP)
                before = await steady(bozor.pid)
                started = time.perf_counter()
                await start_wizards(http, sandbox, int(BOZOR_TOKEN.split(":")[0]), users)
                took = time.perf_counter() - started
                after = await steady(bozor.pid)
                stop(bozor)
            finally:
                stop(world)
    finally:
        for process in reversed(RUNNING):
            stop(process)
        shutil.rmtree(data_dir, ignore_errors=True)

    per_thousand = (after - before) / users * 1000
    print(f"bare aiogram echo bot (baseline)   RSS {echo_rss / MB:7.1f} MB")
    print(f"make run, fresh data dir           RSS {fresh / MB:7.1f} MB")
    print(
        f"make run, existing data dir, idle  RSS {idle / MB:7.1f} MB"
        f"   ratio to echo {idle / echo_rss:.2f}  (goal ≤ 200 MB)"
    )
    print(f"Bozor alone (standalone sandbox)   RSS {before / MB:7.1f} MB idle, {after / MB:.1f} MB after")
    print(f"  {users:,} users entered the ad wizard in {took:.1f} s (paced at the sandbox's 30 messages/s)")
    print(f"per 1,000 users with an FSM state  {per_thousand / MB:+7.2f} MB")
    ratio = bozor_start / echo_start
    print(
        f"start-up to the first answer       Bozor {bozor_start:.2f} s (existing data dir), echo bot "
        f"{echo_start:.2f} s   ratio {ratio:.2f}  (goal ≤ 1.5)"
    )
    missed = [what for what, bad in (("RSS", idle > 200 * MB), ("start-up", ratio > 1.5)) if bad]
    if missed:
        print("BELOW GOAL: " + ", ".join(missed))
        raise SystemExit(1)


async def sandbox_up(http: aiohttp.ClientSession, sandbox: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            async with http.get(f"{sandbox}/api/bots") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.2)
    raise SystemExit("benchmark: the standalone sandbox never answered")


async def first_answer(
    http: aiohttp.ClientSession, sandbox: str, token: str, spawn: Callable[[], subprocess.Popen[bytes]]
) -> tuple[float, subprocess.Popen[bytes]]:
    """Seconds from starting a bot's process to its first answer to a message already waiting,
    and the process (left running)."""
    bot_id = int(token.split(":")[0])
    await api(http, sandbox, "bots", {"token": token})
    probe = await api(http, sandbox, "users", {"first_name": "Early", "language_code": "en"})
    user = int(str(probe["id"]))
    await api(http, sandbox, f"users/{user}/send", {"bot_id": bot_id, "text": "/start"})
    started = time.perf_counter()
    process = spawn()
    deadline = time.monotonic() + 180
    while not await bot_answered(http, sandbox, user, bot_id):
        if process.poll() is not None:
            raise SystemExit(f"benchmark: the bot exited with {process.returncode}")
        if time.monotonic() > deadline:
            stop(process)
            raise SystemExit("benchmark: the bot never answered")
        await asyncio.sleep(0.02)
    return time.perf_counter() - started, process


async def bot_answered(http: aiohttp.ClientSession, sandbox: str, user: int, bot: int) -> bool:
    async with http.get(f"{sandbox}/api/users/{user}/chat", params={"bot_id": str(bot)}) as response:
        view = await response.json()
    return any((m.get("from") or {}).get("is_bot") for m in view["messages"])


async def echo_baseline(http: aiohttp.ClientSession, sandbox: str) -> int:
    """RSS of the bare echo bot once it has answered one message from the same sandbox."""
    await api(http, sandbox, "bots", {"token": ECHO_TOKEN})
    echo = start_echo(sandbox)
    try:
        echo_id = int(ECHO_TOKEN.split(":")[0])
        probe = await api(http, sandbox, "users", {"first_name": "Probe"})
        await api(http, sandbox, f"users/{probe['id']}/send", {"bot_id": echo_id, "text": "ping"})
        await until_all(http, sandbox, echo_id, [int(str(probe["id"]))], "ping")
        return await steady(echo.pid)
    finally:
        stop(echo)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000, help="users who enter the wizard (default 1,000)")
    asyncio.run(measure(parser.parse_args().users))


if __name__ == "__main__":
    main()
