"""The ledger on 1,000,000 entries over 100,000 accounts: balance read p95 and posting throughput.

Seeds entries in SQL (generate_series, running balances by a window sum), then measures on the
embedded PostgreSQL, each against a baseline measured in the same run:
- a balance read (app.domain.ledger.balance) vs a primary-key SELECT on a 100-row table;
- post() one after another, and from 8 connections at once, vs single-row INSERTs into an
  unindexed table done the same way (each its own transaction, durable commit);
- for information: 8 connections posting to one account (they queue on its row), summing the
  entries instead of reading the balance row, and verify() over everything (the daily job).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import uvloop

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.db.embedded import EmbeddedPostgres  # noqa: E402
from app.db.migrations import migrate  # noqa: E402
from app.db.pool import create_pool  # noqa: E402
from app.domain import ledger  # noqa: E402
from app.domain.ledger import Currency, EntryKind, NewEntry  # noqa: E402

FIRST_USER = 100_000_000
WORKERS = 8
TARGET_READ_MS = 5.0  # the bot shows a balance on a button press: a few ms at most

USERS_SQL = """
INSERT INTO users (id, first_name, language)
SELECT $1 + g, 'User ' || g, (ARRAY['uz','ru','en'])[1 + g % 3] FROM generate_series(1, $2) g"""

# Entry g goes to account 1 + g % accounts, as that account's entry number g / accounts: every
# third one a debit of 10 after two credits of 50+, so no running balance goes below zero.
# One account in ten holds Stars (payments and purchases), the others points.
ENTRIES_SQL = """
INSERT INTO ledger_entries (account, currency, amount, kind, ref_kind, ref_id, actor,
                            idempotency_key, balance_after, created_at)
SELECT account, currency, amount, kind, 'bench', g, 'system', 'bench:' || g,
       sum(amount) OVER (PARTITION BY account ORDER BY g), now() - make_interval(secs => $2 - g)
  FROM (SELECT g, $1 + 1 + g % $3 AS account,
               CASE WHEN g % $3 % 10 = 0 THEN 'XTR' ELSE 'points' END AS currency,
               CASE WHEN g / $3 % 3 = 2 THEN -10 ELSE 50 + g % 50 END AS amount,
               CASE WHEN g / $3 % 3 = 2 THEN 'promotion_purchase'
                    WHEN g % $3 % 10 = 0 THEN 'payment' ELSE 'task_reward' END AS kind
          FROM generate_series(0, $2 - 1) g) s
 ORDER BY g"""

BALANCES_SQL = """
INSERT INTO ledger_balances (account, currency, balance)
SELECT account, currency, sum(amount) FROM ledger_entries GROUP BY account, currency"""


async def seed(conn: asyncpg.Connection, entries: int, accounts: int) -> float:
    started = time.perf_counter()
    await conn.execute("SET work_mem = '256MB'; SET maintenance_work_mem = '256MB'")
    indexes = await conn.fetch(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'ledger_entries' "
        "AND indexname NOT IN (SELECT conname FROM pg_constraint)"
    )
    for row in indexes:  # built once after the load: far faster than kept up per row
        await conn.execute(f'DROP INDEX "{row["indexname"]}"')
    phases = [
        ("users", USERS_SQL, (FIRST_USER, accounts)),
        ("entries", ENTRIES_SQL, (FIRST_USER, entries, accounts)),
        ("indexes", ";".join(r["indexdef"] for r in indexes), ()),
        ("balances", BALANCES_SQL, ()),
        ("vacuum analyze", "VACUUM ANALYZE", ()),  # what autovacuum would have done by now
    ]
    for name, sql, args in phases:
        at = time.perf_counter()
        await conn.execute(sql, *args)
        print(f"  seeded {name}: {time.perf_counter() - at:.1f} s", file=sys.stderr)
    await conn.execute("RESET work_mem; RESET maintenance_work_mem")
    await conn.execute("CREATE TABLE bench_small (id int PRIMARY KEY, value bigint NOT NULL)")
    await conn.execute("INSERT INTO bench_small SELECT g, g * 7 FROM generate_series(1, 100) g")
    await conn.execute("CREATE TABLE bench_log (id bigint GENERATED ALWAYS AS IDENTITY, value bigint)")
    await conn.execute("ANALYZE bench_small")
    return time.perf_counter() - started


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


async def timed(runs: int, *calls: Callable[[int], Awaitable[object]]) -> list[list[float]]:
    """Milliseconds per call of each, interleaved call by call so that every one meets the same
    moments of a noisy machine (after a few warm-up rounds)."""
    for n in range(5):
        for call in calls:
            await call(n)
    samples: list[list[float]] = [[] for _ in calls]
    for n in range(runs):
        for call, into in zip(calls, samples, strict=True):
            started = time.perf_counter()
            await call(n)
            into.append((time.perf_counter() - started) * 1000)
    return samples


Call = Callable[[asyncpg.Connection, int], Awaitable[object]]


async def block(pool: asyncpg.Pool, workers: int, call: Call, first: int, limit: int) -> float:
    """Seconds for `workers` connections to make calls numbered first..limit-1 between them."""
    numbers = itertools.count(first)

    async def work() -> None:
        async with pool.acquire() as conn:
            while (n := next(numbers)) < limit:
                await call(conn, n)

    started = time.perf_counter()
    await asyncio.gather(*(work() for _ in range(workers)))
    return time.perf_counter() - started


async def per_second(
    pool: asyncpg.Pool, workers: int, total: int, *calls: Call, rounds: int = 8
) -> list[float]:
    """Calls per second of each, `total` calls of it over `workers` connections; the calls take
    turns in `rounds` blocks so that a noisy moment of the machine hits them alike."""
    size = total // rounds
    seconds = [0.0] * len(calls)
    for r in range(rounds):
        for i, call in enumerate(calls):
            seconds[i] += await block(pool, workers, call, r * size, (r + 1) * size)
    return [size * rounds / s for s in seconds]


def line(name: str, samples: list[float], base: list[float]) -> str:
    p95, base95 = percentile(samples, 0.95), percentile(base, 0.95)
    return (
        f"  {name:34}: p50 {statistics.median(samples):6.3f} ms  p95 {p95:6.3f} ms  "
        f"ratio p95/baseline {p95 / base95:5.2f}"
    )


async def measure(database_url: str, args: argparse.Namespace) -> tuple[list[str], bool]:
    rng = random.Random(15)
    accounts = [FIRST_USER + 1 + rng.randrange(args.accounts) for _ in range(args.reads + 5)]
    currency = [Currency.XTR if (a - FIRST_USER - 1) % 10 == 0 else Currency.POINTS for a in accounts]
    keys = itertools.count()
    out: list[str] = []
    pool = await create_pool(database_url, min_size=WORKERS, max_size=WORKERS)
    try:
        async with pool.acquire() as conn:
            base, reads, sums = await timed(
                args.reads,
                lambda n: conn.fetchrow("SELECT id, value FROM bench_small WHERE id = $1", 1 + n % 100),
                lambda n: ledger.balance(conn, accounts[n], currency[n]),
                lambda n: conn.fetchval(
                    "SELECT sum(amount) FROM ledger_entries WHERE account = $1 AND currency = $2",
                    accounts[n],
                    currency[n].value,
                ),
            )
            out.append(f"balance reads ({args.reads} one after another):")
            out.append(line("baseline: PK SELECT, 100-row table", base, base))
            out.append(line("ledger.balance()", reads, base))
            out.append(line("info: sum of the account's entries", sums, base))
            read_ok = percentile(reads, 0.95) < TARGET_READ_MS

        def reward(n: int, account: int | None = None) -> NewEntry:
            target = account or FIRST_USER + 1 + rng.randrange(args.accounts)
            kind = EntryKind.PAYMENT if (target - FIRST_USER - 1) % 10 == 0 else EntryKind.TASK_REWARD
            cur = Currency.XTR if kind is EntryKind.PAYMENT else Currency.POINTS
            return NewEntry(target, cur, 10, kind, key=f"bench-post:{next(keys)}", ref_kind="bench", ref_id=n)

        async def insert(conn: asyncpg.Connection, n: int) -> None:
            await conn.execute("INSERT INTO bench_log (value) VALUES ($1)", n)

        async def post(conn: asyncpg.Connection, n: int) -> None:
            await ledger.post(conn, reward(n))

        hot = FIRST_USER + 2

        async def post_hot(conn: asyncpg.Connection, n: int) -> None:
            await ledger.post(conn, reward(n, hot))

        async def spend(conn: asyncpg.Connection, n: int) -> None:
            # A debit that must check the balance: the path of a purchase.
            await ledger.post(
                conn, NewEntry(hot, Currency.POINTS, -1, EntryKind.PROMOTION_PURCHASE, key=f"bench-spend:{n}")
            )

        base_1, post_1 = await per_second(pool, 1, args.posts, insert, post)
        base_n, post_n, hot_n, spend_n = await per_second(
            pool, WORKERS, args.posts, insert, post, post_hot, spend
        )
        out.append(f"posting ({args.posts} each, in turns; every call its own durable transaction):")
        out.append(f"  {'baseline: INSERT, 1 connection':34}: {base_1:8.0f} /s")
        out.append(f"  {'ledger.post(), 1 connection':34}: {post_1:8.0f} /s  ratio {post_1 / base_1:5.2f}")
        out.append(f"  {f'baseline: INSERT, {WORKERS} connections':34}: {base_n:8.0f} /s")
        out.append(
            f"  {f'ledger.post(), {WORKERS} connections':34}: {post_n:8.0f} /s  ratio {post_n / base_n:5.2f}"
        )
        out.append(
            f"  {'info: credits to one account, 8 conn':34}: {hot_n:8.0f} /s  ratio {hot_n / base_n:5.2f}"
        )
        out.append(
            f"  {'info: debits of one account, 8 conn':34}: {spend_n:8.0f} /s  ratio {spend_n / base_n:5.2f}"
        )

        async with pool.acquire() as conn:
            started = time.perf_counter()
            found = await ledger.verify(conn)
            seconds = time.perf_counter() - started
            total = await conn.fetchval("SELECT count(*) FROM ledger_entries")
        out.append(f"info: verify() over {total:,} entries: {seconds:.2f} s, {len(found)} mismatches")
        return out, read_ok and not found
    finally:
        await pool.close()


async def main(args: argparse.Namespace) -> None:
    root = Path(tempfile.mkdtemp(prefix="bozor-bench-"))
    root.chmod(0o755)  # the embedded server runs as an unprivileged user when we are root
    pg = EmbeddedPostgres(root / "pg")
    try:
        database_url = pg.start()
        conn = await asyncpg.connect(database_url)
        await migrate(conn)
        seconds = await seed(conn, args.entries, args.accounts)
        await conn.close()
        lines, ok = await measure(database_url, args)
    finally:
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)
    print(
        f"\nledger on {args.entries:,} entries over {args.accounts:,} accounts (seeded in {seconds:.1f} s; "
        f"target: balance read p95 < {TARGET_READ_MS:.0f} ms, verify() finds nothing)"
    )
    print("\n".join(lines))
    print("PASS" if ok else "FAIL")
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--reads", type=int, default=2000)
    parser.add_argument("--posts", type=int, default=2000)
    uvloop.run(main(parser.parse_args()))
