"""Time from an operator's "Send" in the panel to the answer in the user's Telegram chat.

The answer goes through the real path: the panel's reply form (HTTP POST to the real web app,
logged in as an operator) → desk.reply in a transaction → an outbox row → NOTIFY → the sender →
the Bot API of the sandbox, until the message is in the user's chat. Baseline, in the same run:
the same text sent directly with bot.send_message to the same kind of chat (what a handler
replying at once costs). Samples alternate between the two and rotate over 20 users with open
tickets, so Telegram's one-message-a-second-per-chat limit is never what is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import uvloop
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.bot.dispatcher import create_bot  # noqa: E402
from app.bot.outbox import OutboxSender  # noqa: E402
from app.bot.support_messages import BotDeskMessages  # noqa: E402
from app.config import load_config  # noqa: E402
from app.db.embedded import EmbeddedPostgres  # noqa: E402
from app.db.migrations import migrate  # noqa: E402
from app.db.pool import create_pool  # noqa: E402
from app.db.queries.support_desk import NewMessage  # noqa: E402
from app.domain import staff as staff_domain  # noqa: E402
from app.domain.actors import TelegramUser  # noqa: E402
from app.domain.staff import Role  # noqa: E402
from app.domain.support import desk  # noqa: E402
from app.domain.support.settings import DeskSettings  # noqa: E402
from app.i18n import Translator  # noqa: E402
from app.main import free_port  # noqa: E402
from app.sandbox.app import make_sandbox_app  # noqa: E402
from app.sandbox.world import World  # noqa: E402
from app.storage.disk import DiskStorage  # noqa: E402
from app.web import keys  # noqa: E402
from app.web.app import create_web_app  # noqa: E402

TOKEN = "5000000004:BenchSupportDeskBotTokenXXXXXXXXXXXX"
PASSWORD = "a password long enough"
USERS = [810_000_000 + n for n in range(20)]
TOKEN_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


class Arrivals:
    """When a message with a given text reached a user's chat in the sandbox."""

    def __init__(self, world: World) -> None:
        self.at: dict[str, float] = {}
        world.listeners.append(self.on_event)

    def on_event(self, event: str, bot_id: int, chat_id: int, message: dict) -> None:
        if event == "send" and chat_id in USERS:
            self.at[message.get("text", "")] = time.perf_counter()

    async def wait(self, ending: str, seconds: float = 30) -> float:
        deadline = time.perf_counter() + seconds
        while True:
            for text, at in self.at.items():
                if text.endswith(ending):
                    return at
            if time.perf_counter() > deadline:
                raise SystemExit(f"benchmark: {ending!r} never arrived")
            await asyncio.sleep(0.0005)


async def seed(pool: asyncpg.Pool, world: World, bot, msgs: BotDeskMessages) -> list[int]:
    """An operator, and 20 users who wrote to the bot and have an open ticket each."""
    bot_id = world.add_bot(TOKEN).id
    tickets = []
    async with pool.acquire() as conn:
        await staff_domain.create_staff(conn, "operator", PASSWORD, Role.OPERATOR)
        for uid in USERS:
            world.add_user(f"User{uid}", id=uid)
            world.user_sends_text(bot_id, uid, "/start")  # a bot may only write to users who wrote first
            await conn.execute("INSERT INTO users (id, first_name, language) VALUES ($1, 'U', 'en')", uid)
            async with conn.transaction():
                taken = await desk.take_message(
                    conn,
                    TelegramUser(uid),
                    NewMessage("user", "Where is my ad?"),
                    language="en",
                    settings=DeskSettings(days=frozenset()),
                    msgs=msgs,
                )
            tickets.append(taken.ticket.id)
    await bot.get_updates(offset=-1)
    return tickets


async def login(client: TestClient) -> str:
    page = await client.get("/panel/login")
    token = TOKEN_RE.search(await page.text())
    assert token is not None
    response = await client.post(
        "/panel/login",
        allow_redirects=False,
        data={"csrf_token": token.group(1), "username": "operator", "password": PASSWORD, "next": ""},
    )
    if response.status not in (302, 303):
        raise SystemExit(f"benchmark: login failed with {response.status}")
    page = await client.get("/panel/support")
    found = TOKEN_RE.search(await page.text())
    assert found is not None
    return found.group(1)


async def sample_send(client: TestClient, csrf: str, ticket_id: int, arrivals: Arrivals, n: int) -> float:
    text = f"Your ad is back online ({n})"
    started = time.perf_counter()
    response = await client.post(
        f"/panel/support/tickets/{ticket_id}/reply",
        data={"csrf_token": csrf, "text": text},
        allow_redirects=False,
    )
    if response.status != 303:
        raise SystemExit(f"benchmark: Send answered {response.status}")
    return (await arrivals.wait(text) - started) * 1000


async def sample_direct(bot, user_id: int, arrivals: Arrivals, n: int) -> float:
    text = f"💬 Support: Direct answer ({n})"
    started = time.perf_counter()
    await bot.send_message(user_id, text)
    return (await arrivals.wait(f"({n})") - started) * 1000


async def main(args: argparse.Namespace) -> None:
    root = Path(tempfile.mkdtemp(prefix="bozor-bench-"))
    root.chmod(0o755)  # the embedded server runs as an unprivileged user when we are root
    pg = EmbeddedPostgres(root / "pg")  # real durability settings, as in `make run`
    world = World()
    sandbox = web.AppRunner(make_sandbox_app(world), access_log=None)
    await sandbox.setup()
    port = free_port()
    await web.TCPSite(sandbox, "127.0.0.1", port).start()
    bot = create_bot(TOKEN, f"http://127.0.0.1:{port}", wait_on_flood=False)
    try:
        dsn = pg.start()
        conn = await asyncpg.connect(dsn)
        await migrate(conn)
        await conn.close()
        pool = await create_pool(dsn)
        msgs = BotDeskMessages(Translator("en"), "en")
        tickets = await seed(pool, world, bot, msgs)
        config = load_config(
            {
                "DATABASE_URL": dsn,
                "DATA_DIR": str(root / "data"),
                "PORT": str(free_port()),
                "SECRET_KEY": "bench-secret-key-0123456789abcdef",
                "DEFAULT_LANGUAGE": "en",
                "LOG_LEVEL": "WARNING",
            },
            dotenv=root / "no.env",
        )
        storage = DiskStorage(root / "media", "http://127.0.0.1/media")
        app = create_web_app(config, services={keys.POOL: pool, keys.STORAGE: storage})
        app[keys.BOT_PARTS].desk_messages = msgs
        sender = OutboxSender(pool, bot, storage=storage)
        await sender.start()
        arrivals = Arrivals(world)
        sends, direct = [], []
        async with TestClient(TestServer(app)) as client:
            csrf = await login(client)
            for n in range(args.samples):
                i = n % len(USERS)
                direct.append(await sample_direct(bot, USERS[i], arrivals, n))
                sends.append(await sample_send(client, csrf, tickets[i], arrivals, n))
                await asyncio.sleep(args.spacing)
        await sender.stop()
        await pool.close()
    finally:
        await bot.session.close()
        await sandbox.cleanup()
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)
    report(sends, direct)


def report(sends: list[float], direct: list[float]) -> None:
    def p(values: list[float], share: float) -> float:
        return sorted(values)[min(len(values) - 1, int(len(values) * share))]

    print(f"\noperator Send in the panel → the answer in the user's chat ({len(sends)} samples)")
    print(f"  panel → outbox → chat : p50 {statistics.median(sends):6.1f} ms  p95 {p(sends, 0.95):6.1f} ms")
    print(f"  direct send_message   : p50 {statistics.median(direct):6.1f} ms  p95 {p(direct, 0.95):6.1f} ms")
    print(f"  ratio p50 Send/direct : {statistics.median(sends) / statistics.median(direct):.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=60)
    parser.add_argument("--spacing", type=float, default=0.1, help="seconds between samples")
    uvloop.run(main(parser.parse_args()))
