"""The Messages screen (S5) on 1,000,000 recorded messages: p95 of real HTTP GETs, each < 100 ms.

Seeds a year of messages from 50,000 users in SQL: texts drawn from 20,000 distinct messages
made of a vocabulary in the three languages (Russian in Cyrillic and in Latin letters, Uzbek in
Latin and in Cyrillic, English), words with Zipf-like frequencies, each stored as the bot stores
it (its canonical form computed by app.domain.record). Then runs the real panel web app
(create_web_app) behind an aiohttp test server with a logged-in admin session and times GETs of
the screen, one after another: common, rare and absent words, a Russian word typed in Latin
letters, filters by user, dates, direction and kind, and a page deep in the results.
Baseline: GET /healthz in the same run; each search is also given as a ratio to it.
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import uvloop
from aiohttp.test_utils import TestClient, TestServer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.config import load_config  # noqa: E402
from app.db.embedded import EmbeddedPostgres  # noqa: E402
from app.db.migrations import migrate  # noqa: E402
from app.db.pool import create_pool  # noqa: E402
from app.domain import staff as staff_domain  # noqa: E402
from app.domain.record import searchable  # noqa: E402
from app.domain.staff import Role  # noqa: E402
from app.main import free_port  # noqa: E402
from app.web import keys  # noqa: E402
from app.web.app import create_web_app  # noqa: E402

PASSWORD = "bench password long enough"
TARGET_MS = 100.0
USERS = 50_000
DISTINCT_TEXTS = 20_000
TOKEN_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
OLDER_RE = re.compile(r'href="([^"]*before=[^"]*)"')

# What people write to a marketplace bot and what it answers, word by word; earlier words are
# drawn more often (Zipf), so the first few are in a tenth of all messages and the last in few.
VOCABULARY = {
    "ru": "здравствуйте спасибо объявление цена доставка когда почему где как можно продать "
    "купить телефон машина квартира велосипед диван холодильник ноутбук район фото опубликовать "
    "отклонили изменить удалить оплата звёзды канал модератор ответ вопрос срочно скидка торг "
    "новый состояние гарантия самовывоз ташкент чиланзар юнусабад сергели номер звонить",
    "ru-latin": "zdravstvuyte spasibo obyavlenie tsena dostavka kogda pochemu gde kak mozhno prodat "
    "kupit telefon mashina kvartira velosiped divan holodilnik noutbuk rayon foto srochno skidka",
    "uz": "salom rahmat e'lon narx qachon nega qayerda qanday sotish sotib olish telefon mashina "
    "uy velosiped divan muzlatgich noutbuk tuman rasm chiqadi rad etildi o'zgartirish o'chirish "
    "to'lov kanal moderator javob savol shoshilinch chegirma yangi holati kafolat yetkazib berish",
    "uz-cyrillic": "салом раҳмат эълон нарх қачон нега қаерда қандай сотиш сотиб олиш уй тўлов "
    "жавоб савол янги ҳолати кафолат етказиб бериш ўзгартириш ўчириш",
    "en": "hello thanks listing price delivery when why where how sell buy phone car flat bike "
    "sofa fridge laptop district photo published rejected change delete payment stars channel "
    "answer question urgent discount new condition warranty pickup number call",
}


def texts(rng: random.Random) -> list[tuple[str, str]]:
    """DISTINCT_TEXTS messages (text, canonical form), each of one language, 3 to 14 words."""
    out = []
    languages = list(VOCABULARY)
    words = {lang: VOCABULARY[lang].split() for lang in languages}
    for n in range(DISTINCT_TEXTS):
        vocab = words[languages[n % len(languages)]]
        weights = [1 / (i + 1) for i in range(len(vocab))]
        chosen = rng.choices(vocab, weights, k=rng.randint(3, 14))
        if n % 10 == 0:  # an ad's number: a word only this text has (~50 messages at 1,000,000)
            chosen.insert(rng.randrange(len(chosen) + 1), f"#A{n}")
        text = " ".join(chosen).capitalize() + rng.choice(("?", ".", "!", ""))
        out.append((text, searchable(text)))
    return out


USERS_SQL = """
INSERT INTO users (id, first_name, username, language, first_seen, last_seen)
SELECT 100000000 + g, (ARRAY['Ali','Dilnoza','Olga','Sardor','Ivan','Madina'])[1 + g % 6],
       CASE WHEN g % 2 = 0 THEN 'user' || g END, (ARRAY['uz','ru','en'])[1 + g % 3],
       now() - interval '400 days', now()
  FROM generate_series(1, $1) g"""

# A year of messages, oldest first; 45 % in (text, button presses, commands, photos), 55 % out.
MESSAGES_SQL = """
INSERT INTO message_record (at, user_id, chat_id, direction, kind, text, search)
SELECT now() - make_interval(secs => ($1 - g) * (365 * 86400.0 / $1)),
       100000000 + 1 + (g * 7919) % $2, 100000000 + 1 + (g * 7919) % $2,
       CASE WHEN g % 20 < 9 THEN 'in' ELSE 'out' END,
       CASE WHEN g % 20 < 6 THEN 'text' WHEN g % 20 < 8 THEN 'button' WHEN g % 20 = 8 THEN 'command'
            WHEN g % 20 < 18 THEN 'text' ELSE 'edit' END,
       p.text, to_tsvector('simple', p.search)
  FROM generate_series(1::bigint, $1) g
  JOIN bench_texts p ON p.n = (hashint8(g) & 2147483647) % $3"""


async def seed(conn: asyncpg.Connection, messages: int, rng: random.Random) -> float:
    started = time.perf_counter()
    await conn.execute(
        "SET work_mem = '256MB'; SET maintenance_work_mem = '512MB'; SET synchronous_commit = off"
    )
    await conn.execute("INSERT INTO users (id, first_name) VALUES (1, 'Bench admin')")
    await conn.execute(USERS_SQL, USERS)
    await conn.execute("CREATE TEMP TABLE bench_texts (n int PRIMARY KEY, text text, search text)")
    await conn.copy_records_to_table(
        "bench_texts",
        records=[(n, t, s) for n, (t, s) in enumerate(texts(rng))],
        columns=["n", "text", "search"],
    )
    # Building the indexes once after the load is far faster than keeping them up per row.
    indexes = await conn.fetch(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'message_record' "
        "AND indexname NOT IN (SELECT conname FROM pg_constraint)"
    )
    for row in indexes:
        await conn.execute(f'DROP INDEX "{row["indexname"]}"')
    at = time.perf_counter()
    await conn.execute(MESSAGES_SQL, messages, USERS, DISTINCT_TEXTS)
    print(f"  seeded {messages:,} messages: {time.perf_counter() - at:.1f} s", file=sys.stderr)
    at = time.perf_counter()
    for row in indexes:
        await conn.execute(row["indexdef"])
    await conn.execute("VACUUM ANALYZE message_record")  # what autovacuum would have done
    await conn.execute("VACUUM ANALYZE users")
    print(f"  indexes and vacuum: {time.perf_counter() - at:.1f} s", file=sys.stderr)
    await conn.execute("RESET work_mem; RESET maintenance_work_mem")
    return time.perf_counter() - started


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


async def login(client: TestClient, username: str) -> None:
    page = await client.get("/panel/login")
    token = TOKEN_RE.search(await page.text()).group(1)
    response = await client.post(
        "/panel/login",
        allow_redirects=False,
        data={"csrf_token": token, "username": username, "password": PASSWORD, "next": ""},
    )
    if response.status not in (302, 303):
        raise SystemExit(f"benchmark: login failed with {response.status}")


async def timed_get(client: TestClient, url: str, runs: int) -> tuple[list[float], str]:
    """Milliseconds per GET (body read), and the page (for its rows and its "Older" link)."""
    first = await client.get(url, allow_redirects=False)
    page = await first.text()
    if first.status != 200:
        raise SystemExit(f"benchmark: GET {url} answered {first.status}")
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        response = await client.get(url, allow_redirects=False)
        await response.read()
        samples.append((time.perf_counter() - started) * 1000)
    return samples, page


async def deep_page(client: TestClient, url: str, pages: int) -> str:
    """Follow the "Older" link `pages` times."""
    for _ in range(pages):
        found = OLDER_RE.search(await (await client.get(url)).text())
        if not found:
            break
        url = found.group(1).replace("&amp;", "&")
    return url


async def measure(
    database_url: str, root: Path, args: argparse.Namespace
) -> list[tuple[str, str, list[float], int]]:
    config = load_config(
        {
            "DATABASE_URL": database_url,
            "DATA_DIR": str(root / "data"),
            "PORT": str(free_port()),
            "SECRET_KEY": "bench-secret-key-0123456789abcdef",
            "DEFAULT_LANGUAGE": "en",
            "LOG_LEVEL": "WARNING",
        },
        dotenv=root / "no.env",
    )
    pool = await create_pool(database_url, min_size=2, max_size=10)
    try:
        async with pool.acquire() as conn:
            await staff_domain.create_staff(conn, "bench", PASSWORD, Role.ADMIN, telegram_user_id=1)
            month_ago = await conn.fetchval("SELECT (now() - interval '30 days')::date::text")
            week_later = await conn.fetchval("SELECT (now() - interval '23 days')::date::text")
        app = create_web_app(config, services={keys.POOL: pool})
        async with TestClient(TestServer(app)) as client:
            await login(client, "bench")
            user = 100000000 + 1 + (args.messages // 2 * 7919) % USERS  # one with ~20 messages
            pages = [
                ("baseline", "/healthz"),
                ("no filter, first page", "/panel/messages"),
                ("common word (uz)", "/panel/messages?q=salom"),
                ("common word (ru)", "/panel/messages?q=здравствуйте"),
                ("Russian typed in Latin", "/panel/messages?q=dostavka"),
                ("Uzbek Cyrillic for Latin", "/panel/messages?q=нарх"),
                ("rare word", "/panel/messages?q=a12340"),
                ("less common word (en)", "/panel/messages?q=warranty"),
                ("two less common words", "/panel/messages?q=pickup+call"),
                ("no match", "/panel/messages?q=qwzyxv"),
                ("user", f"/panel/messages?user={user}"),
                ("user and word", f"/panel/messages?user={user}&q=salom"),
                ("@username", "/panel/messages?user=%40user8642"),
                ("a week a month ago + word", f"/panel/messages?q=narx&from={month_ago}&to={week_later}"),
                ("button presses", "/panel/messages?direction=in&kind=button"),
                ("a kind nobody sent (payment)", "/panel/messages?kind=payment"),
                ("word, outgoing edits", "/panel/messages?q=warranty&direction=out&kind=edit"),
                ("rare word, button presses", "/panel/messages?q=a12340&kind=button"),
                ("no match, a user", f"/panel/messages?q=qwzyxv&user={user}"),
                ("common word, page 20", await deep_page(client, "/panel/messages?q=salom", 19)),
                ("less common word, page 5", await deep_page(client, "/panel/messages?q=warranty", 4)),
            ]
            results = []
            for name, url in pages:
                samples, page = await timed_get(client, url, args.runs)
                results.append((name, url, samples, page.count('class="message-row"')))
            return results
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
        seconds = await seed(conn, args.messages, random.Random(5))
        size = await conn.fetchval("SELECT pg_size_pretty(pg_total_relation_size('message_record'))")
        await conn.close()
        results = await measure(database_url, root, args)
    finally:
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)
    print(
        f"\nMessages screen on {args.messages:,} messages from {USERS:,} users (table and indexes "
        f"{size}, seeded in {seconds:.1f} s; {args.runs} GETs each; target p95 < {TARGET_MS:.0f} ms)"
    )
    base = statistics.median(results[0][2])
    worst = 0.0
    for name, url, samples, rows in results:
        p50, p95 = statistics.median(samples), percentile(samples, 0.95)
        if name != "baseline":
            worst = max(worst, p95)
        verdict = "PASS" if p95 < TARGET_MS else "FAIL"
        print(
            f"  {name:28}: p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  ratio p50/baseline {p50 / base:5.1f}  "
            f"{rows:2d} rows  {verdict}  {url}"
        )
    print(
        f"worst search p95 {worst:.1f} ms (target < {TARGET_MS:.0f} ms), "
        f"{worst / base:.1f}x the baseline's p50"
    )
    if worst >= TARGET_MS:
        raise SystemExit(1)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=50)
    uvloop.run(main(parser.parse_args()))
