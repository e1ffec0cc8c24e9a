"""The broadcasts screen: compose with a preview and a count, a test to oneself, start, live
progress over the WebSocket, pause and resume; admins only."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from aiogram import Bot

from app.bot.dispatcher import create_bot
from app.bot.outbox import OutboxSender
from app.db.pool import create_pool
from app.domain import broadcasts
from app.domain import staff as staff_domain
from app.domain.staff import Role
from app.domain.users import Languages
from app.sandbox.driver import Sandbox
from tests.helpers.panel import PASSWORD, Panel, csrf, login, make_staff
from tests.helpers.polling import outbox_settled
from tests.helpers.servers import TEST_TOKEN, SandboxServer

RUSSIAN = {"Accept-Language": "ru"}
NOBODY = (777000111, 777000112)  # Telegram ids the bot never talked to: "chat not found"


@pytest.fixture
async def sender(database_url: str, sandbox_server: SandboxServer) -> AsyncIterator[OutboxSender]:
    """What app.main runs beside the panel: the outbox's sender, against the sandbox."""
    sandbox_server.world.add_bot(TEST_TOKEN)
    pool = await create_pool(database_url)
    bot: Bot = create_bot(TEST_TOKEN, sandbox_server.url, wait_on_flood=False)
    sender = OutboxSender(pool, bot, request_timeout=2.0, backoff=0.05, backoff_cap=0.2, tick=0.5)
    await sender.start()
    yield sender
    await sender.stop(drain=2.0)
    await bot.session.close()
    await pool.close()


async def post(panel: Panel, path: str, data: dict, page: str = "/panel/broadcasts"):
    token = await csrf(panel.client, page)
    return await panel.client.post(path, data={"csrf_token": token, **data}, allow_redirects=False)


async def pending(db: asyncpg.Connection) -> int:
    return await db.fetchval(
        "SELECT count(*) FROM outbox WHERE ref_kind = 'broadcast' AND status = 'pending'"
    )


async def test_an_admin_composes_previews_tests_starts_and_pauses_a_broadcast(
    panel: Panel, db: asyncpg.Connection
) -> None:
    await staff_domain.create_staff(db, "boss", PASSWORD, Role.ADMIN, telegram_user_id=777)
    for n, lang in enumerate(["uz", "uz", "ru", None], start=1):
        await db.execute("INSERT INTO users (id, first_name, language) VALUES ($1, 'u', $2)", n, lang)
    await db.execute("UPDATE users SET blocked_bot_at = now() WHERE id = 2")
    await login(panel.client, "boss")

    form = {
        "text_default": "Hello <b>all</b> <script>",
        "text_uz": "Salom",
        "buttons": "Shop | https://example.com",
        "languages": "uz",
    }
    preview = await post(panel, "/panel/broadcasts", {**form, "action": "preview"})
    page = await preview.text()
    assert preview.status == 200
    assert "Recipients now: 1" in page  # uz only, the blocked one never counts
    assert "Hello <b>all</b> &lt;script&gt;" in page  # the safe subset, the rest escaped
    bad = await post(panel, "/panel/broadcasts", {**form, "text_uz": "<i>open", "action": "save"})
    assert bad.status == 400 and "Tags must be closed in order" in await bad.text()
    assert await db.fetchval("SELECT count(*) FROM broadcasts") == 0

    saved = await post(panel, "/panel/broadcasts", {**form, "languages": "", "action": "save"})
    assert saved.status == 303
    url = saved.headers["Location"]
    detail = await panel.client.get(url)
    assert "Recipients now: 3" in await detail.text()

    past = await post(panel, f"{url}/schedule", {"start_at": "2020-01-01T10:00"}, url)
    assert past.status == 400 and "start it now instead" in await past.text()
    garbage = await post(panel, f"{url}/schedule", {"start_at": "soon"}, url)
    assert garbage.status == 400 and "a date and a time" in await garbage.text()
    timed = await post(panel, f"{url}/schedule", {"start_at": "2099-01-01T10:00"}, url)
    assert timed.status == 303
    assert 'value="2099-01-01T10:00"' in await (await panel.client.get(url)).text()

    test = await post(panel, f"{url}/test", {}, url)
    assert test.status == 200 and "Sent to your Telegram." in await test.text()
    assert await db.fetchval("SELECT params->>'text' FROM outbox WHERE chat_id = 777") == (
        "Hello <b>all</b> &lt;script&gt;"
    )

    async with panel.client.ws_connect(f"{url}/ws") as socket:
        assert (await socket.receive_json())["status"] == "draft"
        assert (await post(panel, f"{url}/start", {}, url)).status == 303
        state = await socket.receive_json(timeout=5)
        assert (state["status"], state["total"], state["left"]) == ("running", 3, 3)
    assert await pending(db) == 3

    assert (await post(panel, f"{url}/pause", {}, url)).status == 303
    assert await pending(db) == 0
    again = await post(panel, f"{url}/pause", {}, url)
    assert again.status == 400 and "cannot do that now" in await again.text()
    assert (await post(panel, f"{url}/resume", {}, url)).status == 303
    assert await pending(db) == 3
    actions = [r["action"] for r in await db.fetch("SELECT action FROM audit_log ORDER BY id")]
    assert actions[-5:] == [
        "broadcast.create",
        "broadcast.schedule",
        "broadcast.start",
        "broadcast.pause",
        "broadcast.resume",
    ]


async def test_only_admins_see_broadcasts(panel: Panel, db: asyncpg.Connection) -> None:
    await make_staff(db, "mod", Role.MODERATOR)
    await login(panel.client, "mod")
    page = await panel.client.get("/panel/broadcasts", allow_redirects=False)
    assert page.status == 403
    assert "/panel/broadcasts" not in await (await panel.client.get("/panel")).text()


async def test_a_finished_broadcast_shows_its_status_in_the_readers_language_and_a_final_report(
    panel: Panel, db: asyncpg.Connection, sandbox: Sandbox, sender: OutboxSender
) -> None:
    await staff_domain.create_staff(db, "boss", PASSWORD, Role.ADMIN)
    people = [await sandbox.user(name) for name in ("Aziz", "Olga", "Quiet")]
    for person in people:
        await person.send("/start")
    await people[2].block()  # blocked in Telegram, not yet known to us
    for user_id in [p.id for p in people] + list(NOBODY):
        await db.execute("INSERT INTO users (id, first_name) VALUES ($1, 'u')", user_id)
    await login(panel.client, "boss")
    saved = await post(panel, "/panel/broadcasts", {"text_default": "Sale", "action": "save"})
    url = saved.headers["Location"]

    async with panel.client.ws_connect(f"{url}/ws", headers=RUSSIAN) as socket:
        assert (await socket.receive_json())["label"] == "Черновик"
        assert (await post(panel, f"{url}/start", {}, url)).status == 303
        assert (await socket.receive_json(timeout=5))["label"] == "Отправляется"
    await outbox_settled(db)
    await broadcasts.feed_running(db, Languages())  # the scheduler's tick closes it

    page = await (await panel.client.get(url, headers=RUSSIAN)).text()
    status_line = page.split('id="progress"', 1)[1].split("<p>", 1)[1].split("</p>", 1)[0]
    assert "Статус:" in status_line and ">Завершена<" in status_line and "done" not in status_line
    report = page.split('id="report"', 1)[1]
    started, finished = await db.fetchrow("SELECT started_at, finished_at FROM broadcasts")
    assert started.strftime("%Y-%m-%d %H:%M:%S") in report and finished.strftime("%H:%M:%S") in report
    seconds = int((finished - started).total_seconds())
    assert f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" in report
    figures = {
        name: report.split(f'data-report="{name}">', 1)[1].split("<", 1)[0]
        for name in ("sent", "failed", "blocked")
    }
    assert figures == {"sent": "2", "failed": "2", "blocked": "1"}
    reasons = [row.split("</td>")[:2] for row in report.split("<tr data-reason>")[1:]]
    assert [(error.removeprefix("<td>"), count.rsplit(">", 1)[1]) for error, count in reasons] == [
        ("Bad Request: chat not found", "2")
    ]
    listing = await (await panel.client.get("/panel/broadcasts", headers=RUSSIAN)).text()
    assert "<td>Завершена</td>" in listing
