"""The dashboard: counts and 30-day charts from the ads themselves, scoped for moderators."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from app.bot.ad_messages import BotAdMessages
from app.db.queries.schedule import record_repost
from app.domain import channels
from app.domain import staff as staff_domain
from app.domain.publishing import decide_ad, seller_marks_sold, submit_ad
from app.domain.staff import Role
from app.i18n import Translator
from tests.test_ads import draft
from tests.test_panel_auth import SECRET_KEY, Panel, build_panel, login, make_staff

SELLER, ADMIN = 1001, 2001
MSGS = BotAdMessages(Translator("en"), "bozor_test_bot")
DATA_RE = re.compile(r'<script type="application/json" id="dashboard-data">(.*?)</script>', re.S)
COUNT_RE = re.compile(r'data-count="(\w+)" data-value="(\d+)"')


@pytest.fixture
async def panel(aiohttp_client, make_config, database_url: str) -> AsyncIterator[Panel]:
    config = make_config(SECRET_KEY=SECRET_KEY, DEFAULT_LANGUAGE="en")
    async for built in build_panel(aiohttp_client, config, database_url):
        yield built


async def make_channel(db: asyncpg.Connection, title: str, chat_id: int) -> int:
    channel = await channels.create_channel(db, title=title, chat_ref=f"@{title.lower()}")
    await db.execute("UPDATE channels SET chat_id = $2 WHERE id = $1", channel["id"], chat_id)
    await channels.add_admin(db, channel["id"], ADMIN)
    return channel["id"]


async def submit(db: asyncpg.Connection, channel_id: int, title: str, n: int) -> int:
    ad = await submit_ad(db, draft(channel_id=channel_id, title=title), SELLER, MSGS, "en")
    return ad["id"]


async def decide(db: asyncpg.Connection, ad_id: int, approve: bool, minutes: int) -> None:
    """A decision `minutes` after the submit (the submit is moved back to make it so)."""
    await db.execute("UPDATE ads SET submitted_at = now() - make_interval(mins => $2) WHERE id = $1",
                     ad_id, minutes)
    decision = await decide_ad(db, ad_id, ADMIN, approve=approve, reason=None if approve else "No",
                               msgs=MSGS, default_language="en")
    assert decision.won


async def seed(db: asyncpg.Connection) -> tuple[int, int]:
    await db.executemany("INSERT INTO users (id, first_name, language) VALUES ($1, $2, 'en')",
                         [(SELLER, "Ali"), (ADMIN, "Olga"), (3001, "Spammer")])
    await db.execute("UPDATE users SET banned_at = now() WHERE id = 3001")
    cars, flats = await make_channel(db, "Cars", -1001), await make_channel(db, "Flats", -1002)
    for i in range(3):
        await submit(db, cars, f"Pending car {i}", i)
    published = await submit(db, cars, "Nexia", 10)
    await decide(db, published, True, 10)
    sold = await submit(db, cars, "Cobalt", 11)
    await decide(db, sold, True, 30)
    assert await seller_marks_sold(db, sold, SELLER, MSGS)
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


def today_of(data: dict, status: str) -> int:
    series = next(s for s in data["ads"] if s["status"] == status)
    assert len(series["data"]) == 30
    return series["data"][-1]


async def test_counts_and_charts_reflect_the_ads(panel: Panel, db: asyncpg.Connection) -> None:
    await seed(db)
    await make_staff(db, "boss", Role.ADMIN)
    counts, data, _html = await dashboard(panel, "boss")
    assert counts == {"pending": 4, "published": 2, "sold_today": 1, "users": 3, "uncertain": 1,
                      "blocked": 1}
    assert {s["status"]: today_of(data, s["status"]) for s in data["ads"]} == {
        "pending": 4, "published": 2, "rejected": 1, "sold": 1, "expired": 0, "withdrawn": 0}
    assert data["days"][-1] == datetime.now(UTC).strftime("%-d %b")  # English labels
    decisions = data["decisions"]
    assert decisions["channels"] == ["Cars", "Flats"]
    assert decisions["decided"] == [3, 1]
    assert decisions["p50"][0] == pytest.approx(30, abs=0.5)    # 10, 30, 50 minutes
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


async def test_a_moderator_sees_only_their_channels_numbers(panel: Panel, db: asyncpg.Connection
                                                           ) -> None:
    _cars, flats = await seed(db)
    admin = await make_staff(db, "boss", Role.ADMIN)
    moderator = await make_staff(db, "mod", Role.MODERATOR)
    await staff_domain.give_channel(db, moderator.id, flats, by=admin.id)
    counts, data, html = await dashboard(panel, "mod")
    assert counts == {"pending": 1, "published": 1, "sold_today": 0}  # no users or deliveries
    assert today_of(data, "pending") == 1 and today_of(data, "rejected") == 0
    assert data["decisions"]["channels"] == ["Flats"]
    assert sum(data["reposts"]["data"]) == 1
    assert "Cars" not in html


async def test_the_charts_come_from_our_own_static_files(panel: Panel, db: asyncpg.Connection
                                                         ) -> None:
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
