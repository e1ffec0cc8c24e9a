"""Re-post selection with 100,000 ads in the table: p50/p95 against a bare round trip."""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import uvloop

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.db.embedded import EmbeddedPostgres  # noqa: E402
from app.db.migrations import migrate  # noqa: E402
from app.domain.ads.schedule import pick_repost  # noqa: E402


async def seed(conn: asyncpg.Connection, ads: int, channels: int) -> list[int]:
    await conn.execute("INSERT INTO users (id, first_name) VALUES (1, 'Seller')")
    ids = [
        await conn.fetchval(
            "INSERT INTO channels (title, username) VALUES ($1, $1) RETURNING id", f"bench_chan{c}"
        )
        for c in range(channels)
    ]
    await conn.execute(
        """INSERT INTO ads (seller_id, channel_id, title, description, negotiable, district,
                            contact, status, text_key, last_shown_at)
           SELECT 1, ($2::bigint[])[1 + n % array_length($2::bigint[], 1)], 'Ad ' || n, 'Text',
                  true, 'Chilonzor', '+998901234567',
                  CASE WHEN n % 5 = 0 THEN 'sold' ELSE 'published' END, 'k' || n,
                  CASE WHEN n % 7 = 0 THEN NULL
                       ELSE now() - make_interval(secs => (n * 37) % 864000) END
           FROM generate_series(1, $1) AS n""",
        ads,
        ids,
    )
    await conn.execute("ANALYZE ads")
    return ids


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


async def timed(runs: int, call) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


async def main(args: argparse.Namespace) -> None:
    root = Path(tempfile.mkdtemp(prefix="bozor-bench-"))
    root.chmod(0o755)  # the embedded server runs as an unprivileged user when we are root
    pg = EmbeddedPostgres(root / "pg")
    try:
        conn = await asyncpg.connect(pg.start())
        await migrate(conn)
        channel_ids = await seed(conn, args.ads, args.channels)
        rng, now = random.Random(1), datetime.now(UTC)
        channel = channel_ids[0]
        baseline = await timed(args.runs, lambda: conn.fetchval("SELECT 1"))
        picks = await timed(args.runs, lambda: pick_repost(conn, channel, exclude=None, now=now, rng=rng))
        plan = await conn.fetch(
            "EXPLAIN (ANALYZE, COSTS OFF) SELECT id, last_shown_at FROM ads WHERE channel_id = $1 "
            "AND status = 'published' AND id IS DISTINCT FROM $2 "
            "ORDER BY last_shown_at NULLS FIRST, id LIMIT 50",
            channel,
            None,
        )
        await conn.close()
    finally:
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)
    p50, p95 = statistics.median(picks), percentile(picks, 0.95)
    b50 = statistics.median(baseline)
    print(f"\nre-post selection ({args.ads} ads in {args.channels} channels, {args.runs} picks)")
    print(f"  pick_repost       : p50 {p50:6.3f} ms  p95 {p95:6.3f} ms   (target p95 < 5 ms)")
    print(f"  SELECT 1 baseline : p50 {b50:6.3f} ms")
    print(f"  ratio p50 pick/baseline: {p50 / b50:.1f}")
    print("  plan: " + " | ".join(r[0].strip() for r in plan[:3]))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ads", type=int, default=100_000)
    parser.add_argument("--channels", type=int, default=4)
    parser.add_argument("--runs", type=int, default=2000)
    uvloop.run(main(parser.parse_args()))
