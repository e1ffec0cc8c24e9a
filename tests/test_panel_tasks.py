"""The panel's Tasks screens against the sandbox: the check of what the bot sees on save, the
figures and their CSV, and the screenshot review decided first-wins."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from app.bot.dispatcher import create_bot
from app.bot.task_messages import BotTaskMessages
from app.domain import tasks
from app.domain.actors import TelegramUser
from app.domain.staff import Role
from app.domain.users import Languages
from app.i18n import Translator
from app.web import keys
from tests.helpers.ledger import make_user
from tests.helpers.panel import SECRET_KEY, Panel, build_panel, csrf, login, make_staff, post_json
from tests.helpers.servers import TEST_TOKEN
from tests.helpers.tasks import entries, make_task

EN = Languages(default="en")
FORM = {
    "chat": "@tech_news_uz",
    "invite_link": "",
    "title_uz": "Kanalga obuna bo'ling",
    "title_ru": "Подпишитесь на канал",
    "title_en": "",
    "description_uz": "",
    "description_ru": "",
    "description_en": "",
    "reward": "40",
    "max_completions": "100",
    "starts_at": "",
    "ends_at": "",
    "verification": "auto",
    "leave_days": "7",
    "active": "on",
}


@pytest.fixture
async def panel_bot(aiohttp_client, make_config, database_url: str, sandbox_url: str) -> AsyncIterator[Panel]:
    """The panel with a bot talking to the sandbox and the task messages, as app/main.py wires it."""
    bot = create_bot(TEST_TOKEN, sandbox_url)
    await bot.get_me()

    def wire(app) -> None:
        app[keys.BOT] = bot
        app[keys.BOT_PARTS].task_messages = BotTaskMessages(Translator("en"))

    config = make_config(SECRET_KEY=SECRET_KEY, DEFAULT_LANGUAGE="en")
    try:
        async for built in build_panel(aiohttp_client, config, database_url, extra=wire):
            yield built
    finally:
        await bot.session.close()


async def post(panel: Panel, path: str, data: dict, page: str = "/panel/tasks/new"):
    token = await csrf(panel.client, page)
    return await panel.client.post(path, data={"csrf_token": token, **data}, allow_redirects=False)


async def test_saving_a_task_says_what_the_bot_cannot_see(
    panel_bot: Panel, sandbox, db: asyncpg.Connection
) -> None:
    await make_staff(db, "boss", Role.ADMIN)
    await login(panel_bot.client, "boss")
    owner = await sandbox.user("Owner")

    nowhere = await post(panel_bot, "/panel/tasks/new", {**FORM, "chat": "@nowhere_chan"})
    assert nowhere.status == 400 and "Telegram cannot open the chat @nowhere_chan" in await nowhere.text()

    channel = await sandbox.channel("Tech News", username="tech_news_uz", admins=[owner], bot_admin=False)
    await channel.set_member((await sandbox.bots())[0]["id"], "member")
    not_admin = await post(panel_bot, "/panel/tasks/new", FORM)
    text = await not_admin.text()
    assert not_admin.status == 400 and "The bot is not an administrator of Tech News" in text
    assert await db.fetchval("SELECT count(*) FROM tasks") == 0

    # Screenshots need no sight of the members: saved, with the warning shown.
    shot = await post(panel_bot, "/panel/tasks/new", {**FORM, "verification": "screenshot", "leave_days": ""})
    assert shot.status == 200 and "Saved." in (body := await shot.text())
    assert "The bot is not an administrator of Tech News" in body

    await channel.set_member((await sandbox.bots())[0]["id"], "administrator", can_post_messages=True)
    ok = await post(panel_bot, "/panel/tasks/new", FORM)
    assert ok.status == 200 and "Saved." in await ok.text()
    row = await db.fetchrow("SELECT * FROM tasks ORDER BY id DESC LIMIT 1")
    assert (row["chat_id"], row["chat_title"], row["join_url"]) == (
        channel.id,
        "Tech News",
        "https://t.me/tech_news_uz",
    )
    assert row["reward"] == 40 and row["leave_days"] == 7 and row["max_completions"] == 100
    assert await db.fetchval("SELECT count(*) FROM audit_log WHERE action = 'task.create'") == 2

    bad = await post(
        panel_bot, f"/panel/tasks/{row['id']}", {**FORM, "reward": "-3"}, page=f"/panel/tasks/{row['id']}"
    )
    assert bad.status == 400 and "The reward is a whole number of points." in await bad.text()
    assert await db.fetchval("SELECT reward FROM tasks WHERE id = $1", row["id"]) == 40

    listing = await panel_bot.client.get("/panel/tasks")
    assert "Kanalga obuna" in await listing.text()


async def test_the_first_review_decision_wins_and_the_user_is_told(
    panel_bot: Panel, db: asyncpg.Connection
) -> None:
    await make_staff(db, "boss", Role.ADMIN)
    await login(panel_bot.client, "boss")
    await make_user(db, 5101)
    task = await make_task(db, None, verification=tasks.Verification.SCREENSHOT, leave_days=None, reward=15)
    done = await tasks.submit_screenshot(db, task.id, TelegramUser(5101), "file-abc", datetime.now(UTC))
    page = await panel_bot.client.get("/panel/tasks/review")
    assert (
        "Join the channel" in await page.text()
        and f"/panel/tasks/review/{done.id}/screenshot" in await page.text()
    )

    status, answer = await post_json(
        panel_bot, f"/panel/tasks/review/{done.id}/reject", {"reason": ""}, page="/panel/tasks/review"
    )
    assert status == 400 and "Give a reason" in answer["message"]
    status, answer = await post_json(
        panel_bot, f"/panel/tasks/review/{done.id}/approve", {}, page="/panel/tasks/review"
    )
    assert (status, answer["ok"], answer["decided"]) == (200, True, "Accepted by boss")
    status, late = await post_json(
        panel_bot, f"/panel/tasks/review/{done.id}/reject", {"reason": "blurry"}, page="/panel/tasks/review"
    )
    assert status == 200 and not late["ok"] and "Already decided: Accepted by boss" in late["message"]
    assert await entries(db, 5101) == [("task_reward", 15)]
    told = await db.fetchval("SELECT params->>'text' FROM outbox WHERE chat_id = 5101")
    assert "is accepted: +15 points" in told

    page = await (await panel_bot.client.get(f"/panel/tasks/{task.id}?days=7")).text()
    assert 'aria-current="true" data-days-preset>7 days' in page and 'id="task-data"' in page
    listing = await (await panel_bot.client.get("/panel/tasks")).text()
    assert "By chat" in listing
    csv = await panel_bot.client.get(f"/panel/tasks/{task.id}/stats.csv?days=7")
    body = (await csv.read()).decode("utf-8-sig")  # the panel's export: UTF-8 with a BOM, audited
    assert csv.status == 200 and body.splitlines()[0] == "day,completions,taken_back,net_members,points"
    assert body.splitlines()[-1].endswith(",1,0,1,15") and len(body.splitlines()) == 1 + 7


async def test_a_chats_figures_over_time_add_up_all_its_tasks(
    panel_bot: Panel, db: asyncpg.Connection
) -> None:
    boss = await make_staff(db, "boss", Role.ADMIN)
    await login(panel_bot.client, "boss")
    first = await make_task(db, None, verification=tasks.Verification.SCREENSHOT, leave_days=None, reward=15)
    second = await make_task(db, None, verification=tasks.Verification.SCREENSHOT, leave_days=None, reward=5)
    for user_id, task in ((5201, first), (5202, second), (5203, second)):
        await make_user(db, user_id)
        done = await tasks.submit_screenshot(db, task.id, TelegramUser(user_id), "file", datetime.now(UTC))
        await tasks.approve_screenshot(
            db, done.id, boss, msgs=BotTaskMessages(Translator("en")), languages=EN, now=datetime.now(UTC)
        )

    listing = await (await panel_bot.client.get("/panel/tasks")).text()
    link = "/panel/task-chat?key=https%3A//t.me/%2Babcdef123"
    assert f'href="{link}"' in listing
    page = await panel_bot.client.get(link + "&days=7")
    text = await page.text()
    assert page.status == 200 and 'aria-current="true" data-days-preset>7 days' in text
    assert f'href="/panel/tasks/{first.id}"' in text and f'href="/panel/tasks/{second.id}"' in text
    assert "<td>3</td><td>0</td><td>3</td><td>25</td>" in text  # today: both tasks together
    csv = await panel_bot.client.get("/panel/task-chat.csv?key=https%3A//t.me/%2Babcdef123&days=7")
    lines = (await csv.read()).decode("utf-8-sig").splitlines()
    assert csv.status == 200 and lines[-1].endswith(",3,0,3,25") and len(lines) == 1 + 7
    audited = await db.fetchval(
        "SELECT after->'filters' FROM audit_log WHERE action = 'export.csv' ORDER BY id DESC LIMIT 1"
    )
    today = datetime.now(UTC).date()
    week = {"from": (today - timedelta(days=6)).isoformat(), "to": today.isoformat()}
    assert audited == week | {"chat": "https://t.me/+abcdef123"}

    # The panel's own date range: from/to days (yesterday alone: nothing), or a clear refusal.
    yesterday = (today - timedelta(days=1)).isoformat()
    page = await panel_bot.client.get(f"{link}&from={yesterday}&to={yesterday}")
    text = await page.text()
    assert page.status == 200 and "Nobody did a task about this chat in these days." in text
    assert f'value="{yesterday}"' in text
    page = await panel_bot.client.get(f"{link}&from=2026-13-01")
    assert page.status == 400 and "Dates are written as YYYY-MM-DD." in await page.text()
    refused = await panel_bot.client.get("/panel/task-chat.csv?key=https%3A//t.me/%2Babcdef123&from=x")
    assert refused.status == 400 and "YYYY-MM-DD" in await refused.text()
    for path in ("/panel/task-chat?key=@nobody", "/panel/task-chat.csv?key=@nobody", "/panel/task-chat"):
        assert (await panel_bot.client.get(path)).status == 404


async def test_promotion_prices_are_set_per_channel_and_audited(
    panel_bot: Panel, db: asyncpg.Connection
) -> None:
    from tests.helpers.ads import market_channel

    await make_staff(db, "boss", Role.ADMIN)
    await login(panel_bot.client, "boss")
    channel_id = await market_channel(db)
    page = "/panel/promotions"
    ok = await post(
        panel_bot, f"{page}/{channel_id}/option", {"kind": "pin", "price_stars": "50", "active": "on"}, page
    )
    assert ok.status == 200 and "Saved." in await ok.text()
    bad = await post(
        panel_bot,
        f"{page}/{channel_id}/option",
        {"kind": "reposts", "reposts": "99", "price_stars": "5"},
        page,
    )
    assert bad.status == 400 and "Extra re-posts are 1 to 20." in await bad.text()
    again = await post(
        panel_bot, f"{page}/{channel_id}/option", {"kind": "pin", "price_stars": "70", "active": "on"}, page
    )
    assert again.status == 200
    rows = await db.fetch("SELECT kind, price_stars, price_points, active FROM promotion_options")
    assert [tuple(r) for r in rows] == [("pin", 70, None, True)]  # one pin option, its price changed
    points = await post(panel_bot, f"{page}/{channel_id}/points", {"accept_points": "on"}, page)
    assert points.status == 200
    assert await db.fetchval("SELECT accept_points FROM promotion_channel_settings") is True
    assert await db.fetchval("SELECT count(*) FROM audit_log WHERE action LIKE 'promotion.%'") == 3
