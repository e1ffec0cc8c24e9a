"""The support matcher's four figures (PRODUCT.md S2), overall and per language.

usage: bench/support_eval.py [QUERIES.json] [--predictions FILE] [--split all|design|held-out]
                             [--show-misses] [--database-url DSN]

Loads bench/data/support/kb.json into a fresh database (an embedded PostgreSQL, or a new
database on --database-url's server) through the same import the panel uses, runs every query of
QUERIES.json (default bench/data/support/dev.json) through app.domain.support.matching.match —
the function the bot calls — and prints, per group (all, then each `lang`):

  precision  auto-answers that were the expected entry / all auto-answers
  auto-rate  answerable queries auto-answered / answerable queries
  top3-cov   answerable queries whose entry was the auto-answer or among 3 suggestions / answerable
  null-ok    queries expecting no entry that were not auto-answered / such queries

(bench/data/support/README.md has the definitions; /work/shared/support-eval/score.py is the
reference scorer and reads --predictions.) `--split` keeps to a fixed 70/30 part of the file by a
hash of each text: the matcher was designed looking only at "design"; "held-out" is the check.
A query's language picks the bot language the matcher is told: uz-cyrl and mixed → uz,
ru-translit → ru.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import shutil
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.db.embedded import EmbeddedPostgres  # noqa: E402
from app.db.migrations import migrate  # noqa: E402
from app.db.pool import init_connection  # noqa: E402
from app.domain.support import kb, matching  # noqa: E402

DATA = ROOT / "bench" / "data" / "support"
LANG_ORDER = ["uz", "uz-cyrl", "ru", "ru-translit", "en", "mixed"]
BOT_LANGUAGE = {"uz-cyrl": "uz", "mixed": "uz", "ru-translit": "ru"}
GOALS = {"precision": 0.95, "auto_rate": 0.55, "top3": 0.90, "null_ok": 0.95}
LANG_TOP3_GOAL = 0.80


def in_split(text: str, split: str) -> bool:
    if split == "all":
        return True
    held_out = int(hashlib.sha256(text.encode()).hexdigest(), 16) % 10 < 3
    return held_out == (split == "held-out")


def figures(queries: list[dict[str, Any]], preds: dict[str, tuple[str | None, list[str]]]) -> dict[str, dict]:
    """Counts and the four figures per group, exactly as score.py defines them."""
    c: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for query in queries:
        auto, suggest = preds.get(query["text"], (None, []))
        exp = query["expect"]
        for g in ("all", query["lang"]):
            k = c[g]
            k["n"] += 1
            if auto is not None:
                k["auto"] += 1
                k["auto_right" if auto == exp else "auto_wrong"] += 1
            if exp is None:
                k["null"] += 1
                k["null_kept"] += auto is None
            else:
                k["ans"] += 1
                k["ans_auto"] += auto is not None
                k["top3_hit"] += auto == exp or exp in suggest[:3]
    out = {}
    for g, k in c.items():
        out[g] = dict(k)
        out[g].update(
            precision=k["auto_right"] / k["auto"] if k["auto"] else None,
            auto_rate=k["ans_auto"] / k["ans"] if k["ans"] else None,
            top3=k["top3_hit"] / k["ans"] if k["ans"] else None,
            null_ok=k["null_kept"] / k["null"] if k["null"] else None,
        )
    return out


def pct(x: float | None) -> str:
    return "   n/a" if x is None else f"{100 * x:5.1f}%"


def print_table(res: dict[str, dict]) -> bool:
    groups = ["all"] + [g for g in LANG_ORDER if g in res] + sorted(set(res) - set(LANG_ORDER) - {"all"})
    print(
        f"{'group':<12}{'n':>4}{'ans':>5}{'null':>5}{'auto':>5}{'wrong':>6}"
        f"  {'precision':>9}  {'auto-rate':>9}  {'top3-cov':>8}  {'null-ok':>7}"
    )
    for g in groups:
        r = res[g]
        print(
            f"{g:<12}{r['n']:>4}{r.get('ans', 0):>5}{r.get('null', 0):>5}{r.get('auto', 0):>5}"
            f"{r.get('auto_wrong', 0):>6}  {pct(r['precision']):>9}  {pct(r['auto_rate']):>9}"
            f"  {pct(r['top3']):>8}  {pct(r['null_ok']):>7}"
        )
    ok = True
    overall = res["all"]
    for name, goal in GOALS.items():
        value = overall[name]
        if value is None:
            print(f"goal {name:<9} >= {goal:.2f}:    n/a  (no such queries)")
            continue
        met = value >= goal
        ok &= met
        print(f"goal {name:<9} >= {goal:.2f}: {pct(value)}  {'met' if met else 'NOT MET'}")
    for g in ("uz", "uz-cyrl", "ru", "ru-translit", "en"):
        if g in res and res[g]["top3"] is not None:
            met = res[g]["top3"] >= LANG_TOP3_GOAL
            ok &= met
            verdict = "met" if met else "NOT MET"
            print(f"goal top3 {g:<12}>= {LANG_TOP3_GOAL:.2f}: {pct(res[g]['top3'])}  {verdict}")
    return ok


async def run(args: argparse.Namespace, dsn: str) -> tuple[list[dict], dict, list[float]]:
    conn = await asyncpg.connect(dsn)
    await init_connection(conn)
    try:
        await migrate(conn)
        async with conn.transaction():
            report = await kb.import_json(conn, json.loads((DATA / "kb.json").read_text(encoding="utf-8")))
        print(f"knowledge base: {len(report.created)} entries imported")
        queries = [
            query
            for query in json.loads(Path(args.queries).read_text(encoding="utf-8"))
            if in_split(query["text"], args.split)
        ]
        preds: dict[str, tuple[str | None, list[str]]] = {}
        results = {}
        times = []
        for query in queries:
            language = BOT_LANGUAGE.get(query["lang"], query["lang"])
            start = time.perf_counter()
            result = await matching.match(conn, query["text"], language)
            times.append(time.perf_counter() - start)
            preds[query["text"]] = (
                result.auto.key if result.auto else None,
                [s.key for s in result.suggestions],
            )
            results[query["text"]] = result
        if args.show_misses:
            show_misses(queries, preds, results)
        return queries, preds, times
    finally:
        await conn.close()


def show_misses(queries: list[dict], preds: dict, results: dict) -> None:
    for query in queries:
        auto, suggest = preds[query["text"]]
        exp = query["expect"]
        wrong_auto = auto is not None and auto != exp
        missed = exp is not None and auto != exp and exp not in suggest
        no_auto = exp is not None and auto is None and not missed
        if not (wrong_auto or missed or (no_auto and query.get("_show_no_auto"))):
            continue
        kind = "WRONG AUTO" if wrong_auto else "MISSED"
        print(f"\n{kind} [{query['lang']}] expect {exp}: {query['text']}")
        print(f"   auto {auto} suggest {suggest}")
        for c in results[query["text"]].candidates[:4]:
            print(
                f"   {c.key} f={c.score:.2f} qc={c.query_coverage:.2f} pc={c.phrasing_coverage:.2f} "
                f"ec={c.entry_coverage:.2f} matched={c.matched} unmatched={c.unmatched}"
            )


def with_database(dsn: str, database: str) -> str:
    return urlunsplit(urlsplit(dsn)._replace(path=f"/{database}"))


async def in_new_database(args: argparse.Namespace, server_dsn: str) -> tuple[list[dict], dict, list[float]]:
    name = f"bozor_support_eval_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        return await run(args, with_database(server_dsn, name))
    finally:
        admin = await asyncpg.connect(server_dsn)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("queries", nargs="?", default=str(DATA / "dev.json"))
    parser.add_argument("--predictions", help="write one JSON line per query for score.py")
    parser.add_argument("--split", choices=("all", "design", "held-out"), default="all")
    parser.add_argument("--show-misses", action="store_true", help="print wrong auto-answers and misses")
    parser.add_argument("--database-url", help="a PostgreSQL server to create the database on")
    args = parser.parse_args()
    if args.database_url:
        queries, preds, times = asyncio.run(in_new_database(args, args.database_url))
    else:
        root = Path(tempfile.mkdtemp(prefix="bozor-bench-"))
        root.chmod(0o755)  # the embedded server runs as an unprivileged user when we are root
        pg = EmbeddedPostgres(root / "pg", fast=True, database="postgres")
        try:
            queries, preds, times = asyncio.run(in_new_database(args, pg.start()))
        finally:
            pg.stop()
            shutil.rmtree(root, ignore_errors=True)
    if args.predictions:
        with open(args.predictions, "w", encoding="utf-8") as f:
            for query in queries:
                auto, suggest = preds[query["text"]]
                f.write(
                    json.dumps({"text": query["text"], "auto": auto, "suggest": suggest}, ensure_ascii=False)
                )
                f.write("\n")
        print(f"predictions: {args.predictions}")
    times.sort()
    print(
        f"\n{len(queries)} queries of {Path(args.queries).name} (split: {args.split}); "
        f"match p50 {1000 * times[len(times) // 2]:.1f} ms, p95 {1000 * times[int(len(times) * 0.95)]:.1f} ms"
    )
    ok = print_table(figures(queries, preds))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
