"""kill -9 during publication: every approved ad in its channel exactly once.

One run: a real PostgreSQL (embedded, or DATABASE_URL), the sandbox on loopback at Telegram's
real limits (20 posts a minute per channel, 30 messages a second per bot, 1 a second per private
chat), ads approved through the domain as the panel approves them, and the outbox delivered by
a child process (an OutboxSender at the real limits) that is killed with SIGKILL at random
moments and restarted each time. Then every approved ad is looked for in its channel.

  full (default): 1,000 approvals over 10 channels, 12 kills — at 20 posts a minute a channel
                  takes 100 posts in 5 minutes, so the run takes about 6 minutes;
  --quick:        60 approvals over 3 channels, 3 kills (about 1 minute; what `make bench` runs).

Prints ads, posts, duplicates, losses (goal 0 and 0) and uncertain rows (calls in flight at a
kill; those the channel's message ids show missing are re-sent automatically).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

import asyncpg
import uvloop
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.db.embedded import EmbeddedPostgres  # noqa: E402
from app.db.migrations import migrate  # noqa: E402
from app.db.pool import create_pool  # noqa: E402
from app.main import free_port  # noqa: E402
from app.sandbox.app import make_sandbox_app  # noqa: E402
from app.sandbox.world import World  # noqa: E402
from tests.helpers import crash  # noqa: E402

TOKEN = "5000000007:BenchCrashBotTokenXXXXXXXXXXXXXXXXXXX"


async def prepare_database(dsn: str) -> str:
    """A fresh database for this run, migrated; returns its DSN."""
    name = f"bozor_bench_crash_{os.getpid()}"
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
    channels, approvals, kills = (3, 60, 3) if args.quick else (args.channels, args.approvals, args.kills)
    tmp = Path(tempfile.mkdtemp(prefix="bozor-bench-"))
    tmp.chmod(0o755)  # the embedded server runs as an unprivileged user when we are root
    pg = None if os.environ.get("DATABASE_URL") else EmbeddedPostgres(tmp / "pg")
    world = World()  # Telegram's limits are on: raising them would hide what this measures
    runner = web.AppRunner(make_sandbox_app(world), access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        dsn = await prepare_database(pg.start() if pg else os.environ["DATABASE_URL"])
        pool = await create_pool(dsn)
        try:
            report = await crash.run(
                pool,
                world,
                f"http://127.0.0.1:{port}",
                dsn,
                TOKEN,
                channels_n=channels,
                ads_n=approvals,
                kills=kills,
                seed=args.seed,
                settle_seconds=600.0,
            )
        finally:
            await pool.close()
    finally:
        await runner.cleanup()
        if pg:
            pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\nkill -9 during publication ({approvals} approvals over {channels} channels)")
    print(f"  kill -9 runs : {report.kills}")
    print(f"  ads approved : {report.ads}")
    print(f"  posts        : {report.posts}")
    print(f"  duplicates   : {report.duplicates}   (goal 0)")
    print(f"  losses       : {report.losses}   (goal 0)")
    print(f"  uncertain    : {report.uncertain}   (left for an admin: calls in flight at a kill)")
    print(f"  resolved     : {report.resolved}   (uncertain posts re-sent: the ids showed them missing)")
    print(f"  time         : {report.seconds:.0f} s")
    ok = report.duplicates == 0 and report.losses == 0 and report.ads == approvals
    print("  verdict: " + ("OK" if ok else "FAIL"))
    if not ok:
        raise SystemExit(1)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="60 approvals, 3 channels, 3 kills")
    parser.add_argument("--channels", type=int, default=10)
    parser.add_argument("--approvals", type=int, default=1000)
    parser.add_argument("--kills", type=int, default=12)
    parser.add_argument("--seed", type=int, default=None, help="for the kill moments")
    return parser.parse_args()


if __name__ == "__main__":
    uvloop.run(main(parse_args()))
