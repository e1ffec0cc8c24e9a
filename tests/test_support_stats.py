"""S6: the desk's statistics per local day match counts taken from the tickets themselves."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
from zoneinfo import ZoneInfo

import asyncpg

from app.domain import staff as staff_domain
from app.domain.staff import Role
from app.domain.support import kb, stats
from app.web.panel.screens import support_stats as stats_screen
from tests.helpers.market import buttons
from tests.helpers.panel import PASSWORD, Panel, login
from tests.helpers.support import sample_kb

TASHKENT = ZoneInfo("Asia/Tashkent")  # the desk's default time zone
FIRST, LAST = dt.date(2026, 11, 1), dt.date(2026, 11, 3)
BOT_KINDS = ("auto", "offered", "picked", "helpful", "unhelpful")  # the CSV's last columns


async def _desk_history(db: asyncpg.Connection, operators: list[int]) -> None:
    """Tickets over four local days (one outside the range), messages of every author, some
    close to midnight, where the local day and the UTC day differ."""
    rng = random.Random(13)
    start = dt.datetime(2026, 10, 31, 20, 0, tzinfo=TASHKENT)
    for n in range(24):
        user_id = 7000 + n
        await db.execute("INSERT INTO users (id, first_name) VALUES ($1, $2)", user_id, f"U{n}")
        opened = start + dt.timedelta(hours=n * 3.7)
        closed = opened + dt.timedelta(hours=rng.choice([1, 5, 30])) if n % 3 else None
        ticket = await db.fetchval(
            """INSERT INTO support_tickets
                      (user_id, status, language, subject, created_at, closed_at, closed_by)
               VALUES ($1, $2, 'uz', 'savol', $3, $4, $5) RETURNING id""",
            user_id,
            "closed" if closed else "open",
            opened,
            closed,
            rng.choice(operators) if closed else None,
        )
        at = opened
        for author in ["user", *rng.choices(["user", "operator", "note", "system"], k=rng.randint(0, 6))]:
            await db.execute(
                """INSERT INTO support_messages (ticket_id, author, staff_id, text, created_at)
                   VALUES ($1, $2, $3, 'x', $4)""",
                ticket,
                author,
                rng.choice(operators) if author in ("operator", "note") else None,
                at,
            )
            at += dt.timedelta(minutes=rng.randint(1, 400))
    # What the bot counted on its own (stored by Bozor.flush_desk_counts); one day out of range.
    await db.execute(
        """INSERT INTO support_daily (day, kind, count) VALUES
           ('2026-11-01', 'auto', 3), ('2026-11-01', 'helpful', 2), ('2026-11-02', 'offered', 4),
           ('2026-11-02', 'picked', 1), ('2026-11-03', 'unhelpful', 1), ('2026-11-04', 'auto', 9)"""
    )


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    xs = sorted(values)
    pos = q * (len(xs) - 1)
    low = int(pos)
    high = min(low + 1, len(xs) - 1)
    return xs[low] + (xs[high] - xs[low]) * (pos - low)


async def _expected(db: asyncpg.Connection) -> list[list[str]]:
    """The figures counted here, in Python, from the rows of the tickets tables."""
    bot = {(r["day"], r["kind"]): r["count"] for r in await db.fetch("SELECT * FROM support_daily")}
    tickets = await db.fetch("SELECT id, created_at, closed_at FROM support_tickets")
    messages = await db.fetch("SELECT ticket_id, author, created_at FROM support_messages")

    def local(at: dt.datetime) -> dt.date:
        return at.astimezone(TASHKENT).date()

    rows = []
    day = FIRST
    while day <= LAST:
        firsts = []
        for t in tickets:
            answers = [
                m["created_at"] for m in messages if m["ticket_id"] == t["id"] and m["author"] == "operator"
            ]
            if local(t["created_at"]) == day and answers:
                firsts.append((min(answers) - t["created_at"]).total_seconds())
        p50, p95 = _percentile(firsts, 0.5), _percentile(firsts, 0.95)
        resolutions = [
            (t["closed_at"] - t["created_at"]).total_seconds()
            for t in tickets
            if t["closed_at"] and local(t["closed_at"]) == day
        ]
        r50, r95 = _percentile(resolutions, 0.5), _percentile(resolutions, 0.95)
        rows.append(
            [
                day.isoformat(),
                str(sum(1 for m in messages if m["author"] == "user" and local(m["created_at"]) == day)),
                str(sum(1 for m in messages if m["author"] == "operator" and local(m["created_at"]) == day)),
                str(sum(1 for t in tickets if local(t["created_at"]) == day)),
                str(sum(1 for t in tickets if t["closed_at"] and local(t["closed_at"]) == day)),
                str(len(firsts)),
                "" if p50 is None else f"{p50:.0f}",
                "" if p95 is None else f"{p95:.0f}",
                *(str(bot.get((day, kind), 0)) for kind in BOT_KINDS),
                "" if r50 is None else f"{r50:.0f}",
                "" if r95 is None else f"{r95:.0f}",
            ]
        )
        day += dt.timedelta(days=1)
    return rows


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.0f}"


async def _expected_operators(db: asyncpg.Connection) -> dict[str, list[str]]:
    """Per operator over the range, as the CSV writes them: answers, tickets closed, first
    answers, first response p50/p95 (tickets opened in the range whose first answer was theirs),
    resolution p50/p95 (tickets they closed in the range) — counted here."""
    since = dt.datetime.combine(FIRST, dt.time(), TASHKENT)
    until = dt.datetime.combine(LAST + dt.timedelta(days=1), dt.time(), TASHKENT)
    names = {r["id"]: r["username"] for r in await db.fetch("SELECT id, username FROM staff")}
    counts = {name: [0, 0, 0] for name in names.values()}
    firsts: dict[str, list[float]] = {name: [] for name in names.values()}
    resolutions: dict[str, list[float]] = {name: [] for name in names.values()}
    tickets = await db.fetch("SELECT id, created_at, closed_at, closed_by FROM support_tickets")
    answers = await db.fetch(
        "SELECT ticket_id, staff_id, created_at FROM support_messages WHERE author = 'operator' ORDER BY id"
    )
    for m in answers:
        if since <= m["created_at"] < until:
            counts[names[m["staff_id"]]][0] += 1
    for t in tickets:
        if t["closed_at"] and since <= t["closed_at"] < until:
            counts[names[t["closed_by"]]][1] += 1
            resolutions[names[t["closed_by"]]].append((t["closed_at"] - t["created_at"]).total_seconds())
        mine = [m for m in answers if m["ticket_id"] == t["id"]]
        if mine and since <= t["created_at"] < until:
            earliest = min(mine, key=lambda m: m["created_at"])
            counts[names[earliest["staff_id"]]][2] += 1
            firsts[names[earliest["staff_id"]]].append(
                (earliest["created_at"] - t["created_at"]).total_seconds()
            )
    return {
        name: [
            *(str(n) for n in counts[name]),
            *(_seconds(_percentile(xs[name], q)) for xs in (firsts, resolutions) for q in (0.5, 0.95)),
        ]
        for name in names.values()
        if any(counts[name])
    }


async def test_the_figures_match_counts_taken_from_the_tickets(panel: Panel, db) -> None:
    await staff_domain.create_staff(db, "boss", PASSWORD, Role.ADMIN)
    operators = [
        (await staff_domain.create_staff(db, n, PASSWORD, Role.OPERATOR)).id for n in ("dilnoza", "rustam")
    ]
    await _desk_history(db, operators)
    await login(panel.client, "boss")
    expected = await _expected(db)
    assert any(int(r[1]) for r in expected) and any(r[6] for r in expected)  # the data says something

    answer = await panel.client.get(f"/panel/support/stats.csv?since={FIRST}&until={LAST}")
    assert answer.status == 200 and answer.headers["Content-Type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO((await answer.read()).decode("utf-8-sig"))))
    assert table[0][:3] == ["day", "messages_in", "messages_out"]
    assert table[1:] == expected

    page = await panel.client.get(f"/panel/support/stats?since={FIRST}&until={LAST}")
    text = await page.text()
    assert page.status == 200
    for row in expected:
        assert (
            f"<td>{row[0]}</td><td>{row[1]}</td><td>{row[2]}</td><td>{row[3]}</td><td>{row[4]}</td>" in text
        )
    # Per operator: on the page and in a second CSV, through the same audited export.
    operators = await _expected_operators(db)
    assert set(operators) == {"dilnoza", "rustam"} and all(o[5] for o in operators.values())
    ids = {r["username"]: str(r["id"]) for r in await db.fetch("SELECT id, username FROM staff")}
    answer = await panel.client.get(f"/panel/support/operators.csv?since={FIRST}&until={LAST}")
    assert answer.status == 200 and answer.headers["Content-Type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO((await answer.read()).decode("utf-8-sig"))))
    assert table[0] == [
        "staff_id",
        "operator",
        "answers",
        "tickets_closed",
        "first_answers",
        "first_response_p50_seconds",
        "first_response_p95_seconds",
        "resolution_p50_seconds",
        "resolution_p95_seconds",
    ]
    assert table[1:] == [[ids[name], name, *figures] for name, figures in sorted(operators.items())]
    audited = await db.fetch("SELECT after FROM audit_log WHERE target = 'export:support-operators'")
    assert [(a["after"]["rows"], a["after"]["complete"]) for a in audited] == [(2, True)]
    assert f'href="/panel/support/operators.csv?from={FIRST}&amp;to={LAST}"' in text
    for name, figures in operators.items():
        shown = [stats_screen.duration(None if not v else float(v)) for v in figures[3:]]
        cells = "".join(f"<td>{v}</td>" for v in [name, *figures[:3], *shown])
        assert cells in text, (name, cells)
    chart = json.loads(text.split('<script type="application/json" id="desk-data">')[1].split("</script>")[0])
    assert chart["days"] == [row[0] for row in expected]
    assert chart["series"][0]["data"] == [int(row[1]) for row in expected]  # messages in


async def test_a_bad_date_range_is_refused_clearly(panel: Panel, db) -> None:
    await staff_domain.create_staff(db, "boss", PASSWORD, Role.ADMIN)
    await login(panel.client, "boss")
    for query, message in (
        ("since=2026-11-05&until=2026-11-01", "The first day comes after the last one."),
        ("since=yesterday", "Dates are written as YYYY-MM-DD."),
        ("until=0001-01-05", "Choose days between 2000 and 2100."),
        ("since=9999-12-30&until=9999-12-31", "Choose days between 2000 and 2100."),
        ("since=2020-01-01&until=2026-01-01", "Choose at most 366 days."),
    ):
        page = await panel.client.get(f"/panel/support/stats?{query}")
        assert page.status == 400 and message in await page.text()
        download = await panel.client.get(f"/panel/support/stats.csv?{query}")
        assert download.status == 400 and message in await download.text()
    page = await panel.client.get("/panel/support/stats")  # the last 30 days by default
    assert page.status == 200 and (await page.text()).count("<tr><td>") == 30


async def test_the_bot_counts_its_own_answers_and_the_thumbs(bozor, sandbox, db) -> None:
    """Auto-answers, "Did you mean…?" shown and chosen, 👍 / 👎: counted in memory and stored by
    the flush (no write per reply)."""
    assert bozor.pool is not None
    async with bozor.pool.acquire() as conn, conn.transaction():
        await kb.import_json(conn, sample_kb())
    olga = await sandbox.user("Olga", language_code="en")
    for thumb in ("👍", "👎 Talk to a person"):
        await olga.send("how long until my ad gets approved? sent it this morning")
        await olga.wait_for_bot(lambda m: "👍" in buttons(m))
        await olga.press(thumb)
        await olga.wait_for_bot("" if thumb == "👍" else "is with an operator")
    aziz = await sandbox.user("Aziz", language_code="en")
    await aziz.send("20 ta rasm tashlasam bo'ladimi?")  # near: "Did you mean…?", then a choice
    offer = await aziz.wait_for_bot("Did you mean")
    await aziz.press(buttons(offer)[0])
    await aziz.wait_for_bot(lambda m: m["message_id"] == offer["message_id"] and "👍" in buttons(m))
    assert await db.fetchval("SELECT count(*) FROM support_daily") == 0  # nothing written meanwhile
    await bozor.flush_desk_counts()
    today = stats.today(bozor.running.desk, dt.datetime.now(dt.UTC))
    async with bozor.pool.acquire() as conn:
        [day] = await stats.daily(conn, today, today, bozor.running.desk)
    assert (day.auto_answered, day.helpful, day.unhelpful, day.opened) == (2, 1, 1, 1)
    assert (day.offered, day.picked) == (1, 1)
