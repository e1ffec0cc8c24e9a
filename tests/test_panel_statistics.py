"""E2: the dashboard's charts for every area over a date range equal counts taken from the
base tables, whether the busy logs were rolled up into their per-day table or not yet."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re

import asyncpg

from app.db.migrations import SQL_DIR
from app.db.queries.stats import Metric
from app.domain import stats
from app.domain.daterange import DateRange
from app.domain.staff import Role
from app.web.panel.screens import dashboard as panel_dashboard
from tests.helpers.panel import Panel, login, make_staff
from tests.helpers.polling import eventually
from tests.helpers.stats import DAYS, UTC, at, history

DATA_RE = re.compile(r'<script type="application/json" id="dashboard-data">(.*?)</script>', re.S)


# What each metric is, counted here from the base tables (UTC days).
EXPECTED = {
    Metric.NEW_USERS: "SELECT first_seen AS at FROM users",
    Metric.BLOCKED_BOT: "SELECT blocked_bot_at AS at FROM users",
    Metric.BANNED: "SELECT banned_at AS at FROM users",
    Metric.UPDATES: "SELECT received_at AS at FROM update_journal",
    Metric.MESSAGES_IN: "SELECT received_at AS at FROM update_journal WHERE kind = 'message'",
    Metric.ACTIVE_USERS: "SELECT DISTINCT ON (received_at::date, user_id) received_at AS at "
    "FROM (SELECT received_at AT TIME ZONE 'UTC' AS received_at, user_id FROM update_journal) j",
    Metric.MESSAGES_OUT: "SELECT at FROM message_record WHERE direction = 'out'",
    Metric.BROADCAST_OUT: "SELECT created_at AS at FROM outbox WHERE ref_kind = 'broadcast'",
    Metric.TICKETS_OPENED: "SELECT created_at AS at FROM support_tickets",
    Metric.TICKETS_CLOSED: "SELECT closed_at AS at FROM support_tickets",
    Metric.SUPPORT_IN: "SELECT created_at AS at FROM support_messages WHERE author = 'user'",
    Metric.SUPPORT_OUT: "SELECT created_at AS at FROM support_messages WHERE author = 'operator'",
    Metric.CONVERSATIONS: "SELECT created_at AS at FROM chat_conversations",
    Metric.CHAT_MESSAGES: "SELECT created_at AS at FROM chat_messages",
    Metric.CHAT_REPORTS: "SELECT created_at AS at FROM chat_reports",
    Metric.COMPLETIONS: "SELECT created_at AS at FROM task_completions",
    Metric.CREDITED: "SELECT created_at AS at FROM task_completions WHERE status = 'credited'",
    Metric.PROMOTIONS_PAID: "SELECT paid_at AS at FROM promotions",
    Metric.WITHDRAWALS: "SELECT requested_at AS at FROM withdrawal_requests",
    Metric.BROADCASTS_STARTED: "SELECT started_at AS at FROM broadcasts",
}
AMOUNTS = {
    Metric.POINTS_REWARDED: "SELECT created_at AS at, amount FROM ledger_entries WHERE currency = 'points'",
    Metric.STARS_PAID: "SELECT created_at AS at, amount FROM ledger_entries WHERE kind = 'payment'",
}


def utc_day(value: dt.datetime) -> dt.date:
    return value.astimezone(UTC).date() if value.tzinfo else value.date()


async def expected(db: asyncpg.Connection, days: list[dt.date]) -> dict[str, list[int]]:
    figures = {}
    for metric, sql in [*EXPECTED.items(), *AMOUNTS.items()]:
        per_day = dict.fromkeys(days, 0)
        for row in await db.fetch(sql):
            if row["at"] is not None and utc_day(row["at"]) in per_day:
                per_day[utc_day(row["at"])] += row["amount"] if metric in AMOUNTS else 1
        figures[metric.value] = list(per_day.values())
    return figures


async def charts(panel: Panel, query: str) -> dict:
    panel_dashboard._series.clear()  # as a minute later
    response = await panel.client.get(f"/panel?{query}")
    assert response.status == 200, await response.text()
    return json.loads(DATA_RE.search(await response.text()).group(1))


def shown(data: dict) -> dict[str, list[int]]:
    return {s["metric"]: s["data"] for area in data["areas"] for s in area["series"]}


async def test_every_areas_chart_matches_its_base_tables_rolled_up_or_not(
    panel: Panel, db: asyncpg.Connection
) -> None:
    boss = await make_staff(db, "boss", Role.ADMIN)
    await history(db, boss.id)
    await login(panel.client, "boss")
    want = await expected(db, DAYS)
    assert [k for k, v in want.items() if not any(v)] == []  # each metric says something

    week = await charts(panel, "from=2026-11-01&to=2026-11-07")
    assert week["days"] == [d.strftime("%-d %b") for d in DAYS]
    assert shown(week) == want
    assert {area["id"] for area in week["areas"]} == {
        "users",
        "messages",
        "support",
        "chat",
        "tasks",
        "payments",
        "broadcasts",
    }

    # The same figures as typed records, for other readers (the staff API).
    totals: dict[str, int] = {}
    for row in await stats.daily(db, DateRange(DAYS[0], DAYS[-1])):
        totals[row.metric.value] = totals.get(row.metric.value, 0) + row.n
    assert totals == {metric: sum(values) for metric, values in want.items()}

    # The job counts the logs into their per-day table; the charts do not move.
    assert await db.fetchval("SELECT count(*) FROM stats_days") == 0
    assert await stats.roll_up(db) == 60 + 60 + 60 + 10
    assert await db.fetchval("SELECT count(*) FROM stats_days") > 0
    assert shown(await charts(panel, "from=2026-11-01&to=2026-11-07")) == want
    # New rows after the watermark (a user active again on a day already counted): still exact.
    await db.execute(
        """INSERT INTO update_journal (bot_id, update_id, kind, user_id, payload, received_at)
           VALUES (1, 1001, 'message', 900, '{}', $1), (1, 1002, 'message', 977, '{}', $1)""",
        at(3, 22),
    )
    await db.execute(
        """INSERT INTO message_record (at, user_id, chat_id, direction, kind, text)
           VALUES ($1, 900, 900, 'out', 'text', 'javob')""",
        at(3, 22),
    )
    again = shown(await charts(panel, "from=2026-11-01&to=2026-11-07"))
    assert again == await expected(db, DAYS)
    assert again["active_users"][3] == want["active_users"][3] + 1  # user 977 only
    assert again["messages_out"][3] == want["messages_out"][3] + 1
    assert await stats.roll_up(db) == 3 and await stats.roll_up(db) == 0  # each row counted once
    assert shown(await charts(panel, "from=2026-11-01&to=2026-11-07")) == again

    # A narrower range narrows every chart, the ads' too.
    await db.execute("UPDATE ads SET submitted_at = $1", at(4))
    middle = [DAYS[3], DAYS[4]]
    narrow = await charts(panel, "from=2026-11-04&to=2026-11-05")
    assert shown(narrow) == await expected(db, middle)
    assert sum(sum(s["data"]) for s in narrow["ads"]) == 2
    assert sum(sum(s["data"]) for s in (await charts(panel, "from=2026-11-01&to=2026-11-04"))["ads"]) == 0


async def test_the_dashboard_range_is_chosen_checked_and_said_in_the_readers_language(
    panel: Panel, db: asyncpg.Connection
) -> None:
    await make_staff(db, "boss", Role.ADMIN)
    await make_staff(db, "mod", Role.MODERATOR)
    await make_staff(db, "desk", Role.OPERATOR)
    await login(panel.client, "boss")
    data = await charts(panel, "")
    assert len(data["days"]) == 30  # the last 30 days by default
    assert len((await charts(panel, "days=90"))["days"]) == 90
    assert len((await charts(panel, "days=7"))["areas"][0]["series"][0]["data"]) == 7
    for query, message in (
        ("from=2026-11-05&to=2026-11-01", "The first day comes after the last one."),
        ("from=1.11.2026", "Dates are written as YYYY-MM-DD."),
        ("from=2024-01-01&to=2026-01-01", "Choose at most 366 days."),
    ):
        response = await panel.client.get(f"/panel?{query}")
        assert response.status == 400 and message in await response.text()
    await panel.client.get("/panel/lang/ru", allow_redirects=False)
    page = await (await panel.client.get("/panel?days=7")).text()
    assert "7 дней" in page and "Пользователи" in page

    # An operator sees the areas of their work; a moderator's dashboard is about their
    # channels: no site-wide areas.
    panel.client.session.cookie_jar.clear()
    await login(panel.client, "desk")
    desk = await charts(panel, "days=7")
    assert [area["id"] for area in desk["areas"]] == ["users", "messages", "support", "chat"]
    panel.client.session.cookie_jar.clear()
    await login(panel.client, "mod")
    assert (await charts(panel, "days=7"))["areas"] == []


async def test_the_dashboards_csv_has_a_row_a_day_equal_to_its_charts_and_is_audited(
    panel: Panel, db: asyncpg.Connection
) -> None:
    boss = await make_staff(db, "boss", Role.ADMIN)
    await history(db, boss.id)
    await make_staff(db, "desk", Role.OPERATOR)
    await login(panel.client, "boss")
    query = "from=2026-11-01&to=2026-11-07"
    week = await charts(panel, query)
    home = await (await panel.client.get(f"/panel?{query}")).text()
    assert 'href="/panel/stats.csv?from=2026-11-01&amp;to=2026-11-07"' in home

    response = await panel.client.get(f"/panel/stats.csv?{query}")
    assert response.status == 200 and response.headers["Content-Type"].startswith("text/csv")
    header, *rows = list(csv.reader(io.StringIO((await response.read()).decode("utf-8-sig"))))
    columns = {name: [int(row[i]) for row in rows] for i, name in enumerate(header) if name != "day"}
    assert [row[0] for row in rows] == [d.isoformat() for d in DAYS]
    assert columns == {
        **{f"ads_{s['status']}": s["data"] for s in week["ads"]},
        "reposts": week["reposts"]["data"],
        **shown(week),
    }
    assert shown(week) == await expected(db, DAYS)  # and those are the base tables' counts
    audit = await db.fetchrow("SELECT target, after FROM audit_log WHERE action = 'export.csv'")
    assert audit["target"] == "export:stats"
    assert audit["after"] == {
        "filters": {"from": "2026-11-01", "to": "2026-11-07"},
        "rows": 7,
        "complete": True,
    }

    bad = await panel.client.get("/panel/stats.csv?from=2026-11-05&to=2026-11-01")
    assert bad.status == 400 and "The first day comes after the last one." in await bad.text()
    # An operator's CSV holds what their dashboard shows: the areas of their work only.
    panel.client.session.cookie_jar.clear()
    await login(panel.client, "desk")
    desk = await (await panel.client.get(f"/panel/stats.csv?{query}")).read()
    desk_columns = next(csv.reader(io.StringIO(desk.decode("utf-8-sig"))))
    assert "support_in" in desk_columns and "completions" not in desk_columns


async def test_the_bots_direct_reply_counts_as_a_message_sent_by_bozor(
    bozor, sandbox, panel: Panel, db: asyncpg.Connection
) -> None:
    ivan = await sandbox.user("Иван", username="ivan_p", language_code="ru")
    await ivan.send("/start")
    await ivan.wait_for_bot("Здравствуйте, Иван!")

    async def replies_recorded() -> int:
        recorded = await db.fetchval("SELECT count(*) FROM message_record WHERE direction = 'out'")
        return recorded if recorded == len(await ivan.bot_messages()) else 0

    replies = await eventually(replies_recorded, what="the bot's replies on record")
    # A direct reply, not a queued message: the outbox has nothing, the dashboard still counts it.
    assert await db.fetchval("SELECT count(*) FROM outbox") == 0
    await make_staff(db, "boss", Role.ADMIN)
    await login(panel.client, "boss")
    assert sum(shown(await charts(panel, "days=7"))["messages_out"]) == replies
    await db.execute("UPDATE message_record SET at = at - interval '5 minutes'")  # settled
    assert await stats.roll_up(db) > 0
    assert await db.fetchval("SELECT sum(n) FROM stats_days WHERE metric = 'messages_out'") == replies
    assert sum(shown(await charts(panel, "days=7"))["messages_out"]) == replies


async def test_upgrading_recounts_messages_out_from_the_record(db: asyncpg.Connection) -> None:
    # The state sql/0092 left: outbox-based messages_out days, no watermark for the record.
    await db.execute(
        """DELETE FROM stats_rollup WHERE source = 'message_record';
           ALTER TABLE stats_rollup DROP CONSTRAINT stats_rollup_source_check;
           ALTER TABLE stats_rollup ADD CONSTRAINT stats_rollup_source_check
               CHECK (source IN ('update_journal', 'outbox', 'chat_messages'))"""
    )
    await db.execute(
        "INSERT INTO stats_days (day, metric, n) VALUES ($1, 'messages_out', 40), ($2, 'messages_out', 7)",
        DAYS[0],
        DAYS[6],
    )
    for n in range(20):
        await db.execute(
            """INSERT INTO message_record (at, user_id, chat_id, direction, kind, text)
               VALUES ($1, 900, 900, $2, 'text', 'salom')""",
            at(n % 3, n),
            "in" if n % 5 == 0 else "out",
        )
    await db.execute((SQL_DIR / "0093_stats_messages_out_from_record.sql").read_text())

    counted = await db.fetch("SELECT day, n FROM stats_days WHERE metric = 'messages_out' ORDER BY day")
    assert [(r["day"], r["n"]) for r in counted] == [(DAYS[0], 5), (DAYS[1], 6), (DAYS[2], 5)]
    assert await db.fetchval("SELECT last_id FROM stats_rollup WHERE source = 'message_record'") == (
        await db.fetchval("SELECT max(id) FROM message_record")
    )
    # Counted once: the roll-up goes on after them.
    assert await stats.roll_up(db) == 0
    figures = await stats.daily(db, DateRange(DAYS[0], DAYS[-1]))
    assert sorted((r.day, r.n) for r in figures if r.metric is Metric.MESSAGES_OUT) == [
        (DAYS[0], 5),
        (DAYS[1], 6),
        (DAYS[2], 5),
    ]
