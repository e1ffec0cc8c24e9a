"""The dashboard: counts and 30-day charts from the ads themselves, scoped for moderators."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from app.bot.ad_messages import BotAdMessages
from app.db.migrations import SQL_DIR, migrate
from app.db.pool import init_connection
from app.db.queries.schedule import record_repost
from app.domain import ads, channels
from app.domain import staff as staff_domain
from app.domain.actors import TelegramUser
from app.domain.ads import AdStatus
from app.domain.staff import Role
from app.domain.users import Languages
from app.i18n import Translator
from app.web.panel.screens import dashboard as panel_dashboard
from tests.helpers.ads import draft
from tests.helpers.panel import SECRET_KEY, Panel, build_panel, login, make_staff
from tests.helpers.servers import with_database

SELLER, ADMIN = 1001, 2001
MSGS = BotAdMessages(Translator("en"), "bozor_test_bot")
LANGS = Languages(default="en")
DATA_RE = re.compile(r'<script type="application/json" id="dashboard-data">(.*?)</script>', re.S)
COUNT_RE = re.compile(r'data-count="(\w+)" data-value="(\d+)"')


async def make_channel(db: asyncpg.Connection, title: str, chat_id: int) -> int:
    channel = await channels.create_channel(db, title=title, chat_ref=f"@{title.lower()}")
    await db.execute("UPDATE channels SET chat_id = $2 WHERE id = $1", channel.id, chat_id)
    await channels.add_admin(db, channel.id, ADMIN)
    return channel.id


async def submit(db: asyncpg.Connection, channel_id: int, title: str, n: int) -> int:
    ad = await ads.submit(db, draft(channel_id=channel_id, title=title), SELLER, MSGS, LANGS)
    return ad.id


async def decide(db: asyncpg.Connection, ad_id: int, approve: bool, minutes: int) -> None:
    """A decision `minutes` after the submit (the submit is moved back to make it so)."""
    await db.execute(
        "UPDATE ads SET submitted_at = now() - make_interval(mins => $2) WHERE id = $1", ad_id, minutes
    )
    decision = await ads.decide(
        db,
        ad_id,
        TelegramUser(ADMIN),
        approve=approve,
        reason=None if approve else "No",
        msgs=MSGS,
        languages=LANGS,
    )
    assert decision.won


async def seed(db: asyncpg.Connection) -> tuple[int, int]:
    await db.executemany(
        "INSERT INTO users (id, first_name, language) VALUES ($1, $2, 'en')",
        [(SELLER, "Ali"), (ADMIN, "Olga"), (3001, "Spammer")],
    )
    await db.execute("UPDATE users SET banned_at = now() WHERE id = 3001")
    cars, flats = await make_channel(db, "Cars", -1001), await make_channel(db, "Flats", -1002)
    for i in range(3):
        await submit(db, cars, f"Pending car {i}", i)
    published = await submit(db, cars, "Nexia", 10)
    await decide(db, published, True, 10)
    sold = await submit(db, cars, "Cobalt", 11)
    await decide(db, sold, True, 30)
    assert await ads.mark_sold(db, sold, SELLER, MSGS)
    rejected = await submit(db, cars, "Spark", 12)
    await decide(db, rejected, False, 50)
    flat = await submit(db, flats, "Flat in Yunusobod", 13)
    await decide(db, flat, True, 120)
    await submit(db, flats, "Pending flat", 14)
    now = datetime.now(UTC)
    await record_repost(db, cars, published, now, now + timedelta(hours=1))  # the scheduler's call
    await record_repost(db, flats, flat, now, now + timedelta(hours=1))
    await db.execute("UPDATE outbox SET status = 'uncertain' WHERE id = (SELECT min(id) FROM outbox)")
    return cars, flats


async def dashboard(panel: Panel, username: str) -> tuple[dict, dict, str]:
    await login(panel.client, username)
    response = await panel.client.get("/panel")
    assert response.status == 200
    html = await response.text()
    counts = {key: int(value) for key, value in COUNT_RE.findall(html)}
    return counts, json.loads(DATA_RE.search(html).group(1)), html


def in_window(data: dict, status: str) -> int:
    """Ads of a status over the 30 days (the seed moves submits back up to two hours: near
    midnight UTC some land on yesterday's bar)."""
    series = next(s for s in data["ads"] if s["status"] == status)
    assert len(series["data"]) == 30
    return sum(series["data"])


async def test_counts_and_charts_reflect_the_ads(panel: Panel, db: asyncpg.Connection) -> None:
    await seed(db)
    await make_staff(db, "boss", Role.ADMIN)
    counts, data, _html = await dashboard(panel, "boss")
    assert counts == {"pending": 4, "published": 2, "sold_today": 1, "users": 3, "uncertain": 1, "blocked": 1}
    assert {s["status"]: in_window(data, s["status"]) for s in data["ads"]} == {
        "pending": 4,
        "published": 2,
        "rejected": 1,
        "sold": 1,
        "expired": 0,
        "withdrawn": 0,
    }
    assert data["days"][-1] == datetime.now(UTC).strftime("%-d %b")  # English labels
    decisions = data["decisions"]
    assert decisions["channels"] == ["Cars", "Flats"]
    assert decisions["decided"] == [3, 1]
    assert decisions["p50"][0] == pytest.approx(30, abs=0.5)  # 10, 30, 50 minutes
    assert decisions["p95"][0] == pytest.approx(48, abs=0.5)
    assert decisions["p50"][1] == pytest.approx(120, abs=0.5)
    assert data["reposts"]["data"][-1] == 2 and sum(data["reposts"]["data"]) == 2


async def test_labels_follow_the_panels_language(panel: Panel, db: asyncpg.Connection) -> None:
    await seed(db)
    await make_staff(db, "boss", Role.ADMIN)
    await login(panel.client, "boss")
    await panel.client.get("/panel/lang/ru", allow_redirects=False)
    html = await (await panel.client.get("/panel")).text()
    data = json.loads(DATA_RE.search(html).group(1))
    months = ["янв", "февр", "мар", "апр", "мая", "июн", "июл", "авг", "сент", "окт", "нояб", "дек"]
    assert any(m in data["days"][-1] for m in months)


async def test_a_moderator_sees_only_their_channels_numbers(panel: Panel, db: asyncpg.Connection) -> None:
    _cars, flats = await seed(db)
    admin = await make_staff(db, "boss", Role.ADMIN)
    moderator = await make_staff(db, "mod", Role.MODERATOR)
    await staff_domain.give_channel(db, moderator.id, flats, by=admin.id)
    counts, data, html = await dashboard(panel, "mod")
    assert counts == {"pending": 1, "published": 1, "sold_today": 0}  # no users or deliveries
    assert in_window(data, "pending") == 1 and in_window(data, "rejected") == 0
    assert data["decisions"]["channels"] == ["Flats"]
    assert sum(data["reposts"]["data"]) == 1
    assert "Cars" not in html


async def test_the_charts_come_from_our_own_static_files(panel: Panel, db: asyncpg.Connection) -> None:
    await make_staff(db, "boss", Role.ADMIN)
    counts, data, html = await dashboard(panel, "boss")  # an empty database draws empty charts
    assert counts["pending"] == 0 and data["decisions"]["channels"] == []
    scripts = re.findall(r'<script[^>]*src="([^"]+)"', html)
    assert "/static/vendor/chart.umd.min.js" in scripts and "/static/dashboard.js" in scripts
    assert all(src.startswith("/static/") for src in scripts)
    assert "cdn" not in html.lower() and "https://" not in html
    for src in ("/static/vendor/chart.umd.min.js", "/static/dashboard.js"):
        assert (await panel.client.get(src)).status == 200
    # The only inline <script> is the JSON data block, which the browser never executes.
    inline = re.findall(r"<script(?![^>]*src=)([^>]*)>", html)
    assert inline == [' type="application/json" id="dashboard-data"']


async def live_charts(db: asyncpg.Connection) -> dict:
    """What the charts must show, counted from the ads themselves as before the summaries."""
    since = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=29)
    days = [since.date() + timedelta(days=i) for i in range(30)]
    ads = {status.value: [0] * 30 for status in AdStatus}
    for row in await db.fetch(
        "SELECT (submitted_at AT TIME ZONE 'UTC')::date AS day, status, count(*) AS n FROM ads "
        "WHERE submitted_at >= $1 GROUP BY 1, 2",
        since,
    ):
        ads[row["status"]][days.index(row["day"])] = row["n"]
    decisions = await db.fetch(
        "SELECT c.title, count(*) AS decided, percentile_cont(array[0.5, 0.95]) WITHIN GROUP "
        "(ORDER BY extract(epoch FROM a.decided_at - a.submitted_at)::float8 / 60) AS p "
        "FROM ads a JOIN channels c ON c.id = a.channel_id WHERE a.decided_at >= $1 "
        "GROUP BY c.id, c.title ORDER BY c.title, c.id",
        since,
    )
    reposts = [0] * 30
    for row in await db.fetch(
        "SELECT (at AT TIME ZONE 'UTC')::date AS day, count(*) AS n "
        "FROM ad_reposts WHERE at >= $1 GROUP BY 1",
        since,
    ):
        reposts[days.index(row["day"])] = row["n"]
    return {
        "ads": ads,
        "channels": [r["title"] for r in decisions],
        "decided": [r["decided"] for r in decisions],
        "p50": [pytest.approx(r["p"][0], abs=0.1) for r in decisions],
        "p95": [pytest.approx(r["p"][1], abs=0.1) for r in decisions],
        "reposts": reposts,
    }


def shown(data: dict) -> dict:
    """The same numbers as the page's charts carry them."""
    return {
        "ads": {s["status"]: s["data"] for s in data["ads"]},
        "channels": data["decisions"]["channels"],
        "decided": data["decisions"]["decided"],
        "p50": data["decisions"]["p50"],
        "p95": data["decisions"]["p95"],
        "reposts": data["reposts"]["data"],
    }


async def fresh_dashboard(panel: Panel) -> tuple[dict, dict]:
    """The dashboard a minute later, when its chart series are read again."""
    panel_dashboard._series.clear()
    response = await panel.client.get("/panel")
    assert response.status == 200
    html = await response.text()
    return (
        {key: int(value) for key, value in COUNT_RE.findall(html)},
        json.loads(DATA_RE.search(html).group(1)),
    )


async def test_the_charts_follow_an_ad_through_its_life(panel: Panel, db: asyncpg.Connection) -> None:
    await db.executemany(
        "INSERT INTO users (id, first_name, language) VALUES ($1, $2, 'en')",
        [(SELLER, "Ali"), (ADMIN, "Olga")],
    )
    cars = await make_channel(db, "Cars", -1001)
    await make_staff(db, "boss", Role.ADMIN)
    await login(panel.client, "boss")

    async def check(pending: int, published: int, /, **in_window_now: int) -> dict:
        """The counts now, then ads per status over the 30 days, then everything vs the ads."""
        counts, data = await fresh_dashboard(panel)
        assert (counts["pending"], counts["published"]) == (pending, published)
        assert {s: in_window(data, s) for s in in_window_now} == in_window_now
        assert shown(data) == await live_charts(db)
        return data

    ad = await submit(db, cars, "Nexia", 0)
    await check(1, 0, pending=1, published=0)
    await decide(db, ad, True, 10)  # approved 10 minutes after the submit
    data = await check(0, 1, pending=0, published=1)
    assert data["decisions"]["decided"] == [1] and data["decisions"]["p50"] == [10.0]
    # The seller edits it: back to moderation, so it is undecided again...
    await ads.edit(db, ad, SELLER, draft(channel_id=cars, title="Nexia 3"), MSGS, LANGS)
    data = await check(1, 0, pending=1, published=0)
    assert data["decisions"]["channels"] == []
    # ...and this time it is rejected: the same ad, on the same day, now a rejected one.
    decision = await ads.decide(
        db, ad, TelegramUser(ADMIN), approve=False, reason="No", msgs=MSGS, languages=LANGS
    )
    assert decision.won
    data = await check(0, 0, pending=0, published=0, rejected=1)
    assert data["decisions"]["decided"] == [1] and data["decisions"]["p50"][0] >= 10.0

    # An ad submitted three days ago and sold today moves on its own day's bar.
    old = await submit(db, cars, "Cobalt", 1)
    await db.execute("UPDATE ads SET submitted_at = now() - interval '3 days' WHERE id = $1", old)
    decision = await ads.decide(
        db, old, TelegramUser(ADMIN), approve=True, reason=None, msgs=MSGS, languages=LANGS
    )
    assert decision.won
    data = await check(0, 1, published=1, sold=0, rejected=1)
    day = (
        29
        - (
            datetime.now(UTC).date()
            - await db.fetchval("SELECT (submitted_at AT TIME ZONE 'UTC')::date FROM ads WHERE id = $1", old)
        ).days
    )
    assert next(s for s in data["ads"] if s["status"] == "published")["data"][day] == 1
    assert await ads.mark_sold(db, old, SELLER, MSGS)
    await record_repost(db, cars, ad, datetime.now(UTC), datetime.now(UTC) + timedelta(hours=1))
    data = await check(0, 0, published=0, sold=1, rejected=1)
    assert next(s for s in data["ads"] if s["status"] == "sold")["data"][day] == 1
    assert data["decisions"]["decided"] == [2] and sum(data["reposts"]["data"]) == 1


@pytest.fixture
async def database_at_0010(pg_admin_dsn: str, tmp_path: Path) -> AsyncIterator[str]:
    """A database without the dashboard's summaries (0011): every other migration is applied,
    since today's code, which seeds the old site, reads the columns later ones add."""
    name = f"bozor_test_{os.getpid()}_before_summaries"
    folder = tmp_path / "sql"
    folder.mkdir()
    for path in SQL_DIR.glob("*.sql"):
        if int(path.name[:4]) != 11:
            shutil.copy(path, folder / path.name)
    admin = await asyncpg.connect(pg_admin_dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = with_database(pg_admin_dsn, name)
        conn = await asyncpg.connect(url)
        try:
            await migrate(conn, folder)
        finally:
            await conn.close()
        yield url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def seed_at_0010(db: asyncpg.Connection) -> int:
    """`seed`'s ads, decisions and re-posts written as the schema of 0010 takes them (today's
    queries name columns later migrations added). Returns the Flats channel's id."""
    await db.executemany(
        "INSERT INTO users (id, first_name, language) VALUES ($1, $2, 'en')",
        [(SELLER, "Ali"), (ADMIN, "Olga"), (3001, "Spammer")],
    )
    await db.execute("UPDATE users SET banned_at = now() WHERE id = 3001")
    insert = "INSERT INTO channels (title, chat_id) VALUES ($1, $2) RETURNING id"
    cars, flats = await db.fetchval(insert, "Cars", -1001), await db.fetchval(insert, "Flats", -1002)
    # (channel, title, status, minutes from submit to decision: None = not decided)
    rows = [(cars, f"Pending car {i}", "pending", None) for i in range(3)] + [
        (cars, "Nexia", "published", 10),
        (cars, "Cobalt", "sold", 30),
        (cars, "Spark", "rejected", 50),
        (flats, "Flat in Yunusobod", "published", 120),
        (flats, "Pending flat", "pending", None),
    ]
    for channel, title, status, minutes in rows:
        await db.execute(
            "INSERT INTO ads (seller_id, channel_id, title, description, negotiable, district, contact, "
            "status, text_key, decided_by, decided_at, submitted_at, published_at) "
            "SELECT $1, $2, $3, 'Good', true, 'Chilonzor', '+998901234567', $4, lower($3), "
            "CASE WHEN $5::int IS NULL THEN NULL ELSE $6::bigint END, "
            "CASE WHEN $5::int IS NULL THEN NULL ELSE now() END, "
            "now() - make_interval(mins => coalesce($5::int, 0)), "
            "CASE WHEN $4 IN ('published', 'sold') THEN now() END",
            SELLER,
            channel,
            title,
            status,
            minutes,
            ADMIN,
        )
    await db.execute(
        "INSERT INTO ad_events (ad_id, actor_id, kind) SELECT id, $1, 'sold' FROM ads WHERE status = 'sold'",
        SELLER,
    )
    await db.execute(  # the scheduler's re-posts, logged by 0010's trigger
        "UPDATE ads SET shown_count = shown_count + 1, last_shown_at = now() WHERE status = 'published'"
    )
    return flats


async def test_the_summaries_migration_counts_the_ads_already_there(
    aiohttp_client, make_config, database_at_0010: str
) -> None:
    db = await asyncpg.connect(database_at_0010)
    try:
        await init_connection(db)
        assert await db.fetchval("SELECT to_regclass('dashboard_ad_days')") is None
        flats = await seed_at_0010(db)  # a site with ads, decisions and re-posts before 0011
        await db.execute(
            "UPDATE ads SET submitted_at = submitted_at - interval '40 days' WHERE title = 'Pending flat'"
        )  # outside the charts' 30 days
        await migrate(db)
        assert await db.fetchval("SELECT sum(n) FROM dashboard_ad_days") == 8
        await make_staff(db, "boss", Role.ADMIN)
        config = make_config(SECRET_KEY=SECRET_KEY, DEFAULT_LANGUAGE="en")
        async for panel in build_panel(aiohttp_client, config, database_at_0010):
            await login(panel.client, "boss")
            counts, data = await fresh_dashboard(panel)
            assert (counts["pending"], counts["published"], counts["sold_today"]) == (4, 2, 1)
            assert {s["status"]: in_window(data, s["status"]) for s in data["ads"]} == {
                "pending": 3,
                "published": 2,
                "rejected": 1,
                "sold": 1,
                "expired": 0,
                "withdrawn": 0,
            }
            assert data["decisions"]["decided"] == [3, 1]
            assert data["decisions"]["p50"][0] == pytest.approx(30, abs=0.1)  # 10, 30, 50 min
            assert data["decisions"]["p95"][0] == pytest.approx(48, abs=0.1)
            assert sum(data["reposts"]["data"]) == 2
            assert shown(data) == await live_charts(db)
            # and the triggers keep the backfilled rows going
            await db.execute(
                "UPDATE ads SET status = 'withdrawn' WHERE channel_id = $1 AND status = 'published'", flats
            )
            counts, data = await fresh_dashboard(panel)
            assert counts["published"] == 1 and in_window(data, "withdrawn") == 1
            assert shown(data) == await live_charts(db)
    finally:
        await db.close()
