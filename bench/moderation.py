"""Time from a seller's submit to every admin's notification delivered (3 admins, sandbox).

The ad goes through the real path: ads.submit in a transaction → outbox rows → NOTIFY → the
sender → the Bot API of the sandbox. Baseline: the same three notification texts sent
directly with bot.send_message, concurrently, in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import struct
import sys
import tempfile
import time
import zlib
from pathlib import Path

import asyncpg
import uvloop
from aiogram.types import BufferedInputFile
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.bot.ad_messages import BotAdMessages  # noqa: E402
from app.bot.dispatcher import create_bot  # noqa: E402
from app.bot.outbox import OutboxSender  # noqa: E402
from app.db.embedded import EmbeddedPostgres  # noqa: E402
from app.db.migrations import migrate  # noqa: E402
from app.db.pool import create_pool  # noqa: E402
from app.domain import ads, channels  # noqa: E402
from app.domain.ads import Draft, Photo, parse_price  # noqa: E402
from app.domain.users import Languages  # noqa: E402
from app.i18n import Translator  # noqa: E402
from app.main import free_port  # noqa: E402
from app.sandbox.app import make_sandbox_app  # noqa: E402
from app.sandbox.world import World  # noqa: E402

UZ = Languages(default="uz")  # every language offered, Uzbek by default
TOKEN = "5000000003:BenchModerationBotTokenXXXXXXXXXXXXXX"
SELLER, ADMINS = 800_000_001, [800_000_011, 800_000_012, 800_000_013]
SPACING = 2.5  # seconds between samples: Telegram allows about one message a second per chat


class Arrivals:
    """When each admin's decision message (the one with buttons) reached the sandbox."""

    def __init__(self, world: World) -> None:
        self.at: dict[int, float] = {}
        world.listeners.append(self.on_event)

    def on_event(self, event: str, bot_id: int, chat_id: int, message: dict) -> None:
        if event == "send" and chat_id in ADMINS and message.get("reply_markup"):
            self.at[chat_id] = time.perf_counter()


async def wait_all(arrivals: Arrivals, seconds: float = 30) -> float:
    deadline = time.perf_counter() + seconds
    while len(arrivals.at) < len(ADMINS):
        if time.perf_counter() > deadline:
            raise SystemExit("benchmark: a notification never arrived")
        await asyncio.sleep(0.001)
    return max(arrivals.at.values())


async def seed(pool: asyncpg.Pool, world: World, bot) -> int:
    async with pool.acquire() as conn:
        channel = await channels.create_channel(conn, title="Bench", chat_ref="-1009000000001")
        for uid in [SELLER, *ADMINS]:
            await conn.execute("INSERT INTO users (id, first_name, language) VALUES ($1, 'U', 'uz')", uid)
        for admin in ADMINS:
            await channels.add_admin(conn, channel.id, admin)
    bot_id = world.add_bot(TOKEN).id
    for uid in [SELLER, *ADMINS]:
        world.add_user(f"User{uid}", id=uid)
        world.user_sends_text(bot_id, uid, "/start")  # a bot may only write to users who wrote first
    await bot.get_updates(offset=-1)
    return channel.id


def png(width: int = 8, height: int = 8) -> bytes:
    """A small valid PNG, so the benchmark needs no image files."""
    raw = b"".join(b"\x00" + b"\x80\x40\x20" * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


async def uploaded_photo(bot) -> Photo:
    """A photo the sandbox knows, by sending it once (as a seller's photo would be known)."""
    message = await bot.send_photo(SELLER, BufferedInputFile(png(), "photo.png"))
    size = message.photo[-1]
    return Photo(size.file_id, size.file_unique_id)


async def sample_submit(pool, msgs, channel_id: int, arrivals: Arrivals, n: int, photo: Photo) -> float:
    arrivals.at.clear()
    draft = Draft(
        channel_id=channel_id,
        title=f"Velosiped {n}",
        description="Yaxshi holatda",
        price=parse_price("1500000"),
        district="Chilonzor",
        contact="+998901234567",
        photos=[photo],
    )
    started = time.perf_counter()
    async with pool.acquire() as conn, conn.transaction():
        await ads.submit(conn, draft, SELLER, msgs, UZ)
    return (await wait_all(arrivals) - started) * 1000


async def sample_direct(bot, arrivals: Arrivals, n: int) -> float:
    arrivals.at.clear()
    started = time.perf_counter()
    markup = {"inline_keyboard": [[{"text": "ok", "callback_data": f"x{n}"}]]}
    await asyncio.gather(*(bot.send_message(a, f"New ad {n}", reply_markup=markup) for a in ADMINS))
    return (await wait_all(arrivals) - started) * 1000


async def main(args: argparse.Namespace) -> None:
    root = Path(tempfile.mkdtemp(prefix="bozor-bench-"))
    root.chmod(0o755)  # the embedded server runs as an unprivileged user when we are root
    pg = EmbeddedPostgres(root / "pg")
    world = World()
    runner = web.AppRunner(make_sandbox_app(world), access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    bot = create_bot(TOKEN, f"http://127.0.0.1:{port}")
    try:
        dsn = pg.start()
        conn = await asyncpg.connect(dsn)
        await migrate(conn)
        await conn.close()
        pool = await create_pool(dsn)
        channel_id = await seed(pool, world, bot)
        photo = await uploaded_photo(bot)
        msgs = BotAdMessages(Translator("uz"), (await bot.me()).username)
        sender = OutboxSender(pool, bot)
        await sender.start()
        arrivals = Arrivals(world)
        submits, direct = [], []
        for n in range(args.samples):
            direct.append(await sample_direct(bot, arrivals, n))
            await asyncio.sleep(SPACING)
            submits.append(await sample_submit(pool, msgs, channel_id, arrivals, n, photo))
            await asyncio.sleep(SPACING)
        await sender.stop()
        await pool.close()
    finally:
        await bot.session.close()
        await runner.cleanup()
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)
    report(submits, direct)


def report(submits: list[float], direct: list[float]) -> None:
    def p(values: list[float], share: float) -> float:
        return sorted(values)[min(len(values) - 1, int(len(values) * share))]

    print(f"\nsubmit → all {len(ADMINS)} admins notified ({len(submits)} samples)")
    print(f"  through the outbox : p50 {statistics.median(submits):6.1f} ms  p95 {p(submits, 0.95):6.1f} ms")
    print(f"  direct send_message: p50 {statistics.median(direct):6.1f} ms  p95 {p(direct, 0.95):6.1f} ms")
    print(f"  ratio p50 outbox/direct: {statistics.median(submits) / statistics.median(direct):.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=20)
    uvloop.run(main(parser.parse_args()))
