"""Nothing lost: a failed re-post keeps the live post, media survive a storage switch, updates
are acknowledged only once journaled, and Bozor outlives its database and a bad token."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import random
import signal
import uuid
from datetime import UTC, datetime, timedelta

import aiohttp
import asyncpg

from app.cli.media import copy_to_s3
from app.config import load_config
from app.db.embedded import _postmaster_pid
from app.db.pool import create_pool
from app.db.queries.ads import MessageKind, live_messages
from app.domain import staff as staff_domain
from app.domain.ads import run_reposts
from app.domain.staff import Role
from app.main import Bozor, free_port, webhook_secret
from app.storage import DiskStorage, S3Settings
from app.storage.s3 import open_s3
from tests.helpers import crash
from tests.helpers.market import fill_wizard, open_market
from tests.helpers.panel import PASSWORD, SECRET_KEY, TOKEN_RE
from tests.helpers.polling import eventually, outbox_settled
from tests.helpers.processes import run_bozor
from tests.helpers.servers import TEST_TOKEN


def DAY_LATER() -> datetime:
    """A moment the channel's next re-post slot is surely due (the scheduler may have filled
    the current one already), at the same time of day (the same side of quiet hours)."""
    return datetime.now(UTC) + timedelta(days=1)


async def _messages(channel) -> dict[int, dict]:
    return {m["message_id"]: m for m in await channel.messages()}


async def test_a_repost_whose_new_copy_failed_leaves_the_live_post_in_the_channel(bozor, market) -> None:
    seller, olga, channel = market["seller"], market["olga"], market["channel"]
    await fill_wizard(seller)
    await olga.wait_for_bot("Новое объявление #1", timeout=10)
    await olga.press("✅ Одобрить")
    post = await channel.wait_for_post("Velosiped Stels", timeout=10)
    async with bozor.pool.acquire() as conn:
        keys = [r["storage_key"] for r in await conn.fetch("SELECT storage_key FROM ad_photos")]
    for key in keys:  # e.g. media moved to another storage: the re-post cannot upload them
        await bozor.storage.delete(key)

    msgs = bozor.dispatcher.workflow_data["ad_messages"]
    async with bozor.pool.acquire() as conn, conn.transaction():
        assert await run_reposts(conn, DAY_LATER(), random.Random(1), msgs) == 1
    await outbox_settled(bozor.pool)
    async with bozor.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT method, status, error FROM outbox WHERE method <> 'sendMessage' "
            "AND method <> 'editMessageText' ORDER BY id"
        )
    new_copy, deletion = rows[-2], rows[-1]
    assert new_copy["status"] == "failed" and "no such file" in new_copy["error"]
    assert deletion["method"] == "deleteMessages" and deletion["status"] == "failed"
    assert "not called" in deletion["error"]
    assert not (await _messages(channel))[post["message_id"]].get("deleted"), "the live post stays"

    # The old copy is still the ad's (a later "sold" or re-post finds it).
    async with bozor.pool.acquire() as conn:
        [still] = await live_messages(conn, 1, MessageKind.POST)
        first = await conn.fetchval("SELECT min(id) FROM outbox WHERE chat_id = $1", channel.id)
    assert still.outbox_id == first


async def test_switching_media_to_s3_keeps_the_photos_already_on_disk_readable(
    bot_config, sandbox, s3_endpoint: str
) -> None:
    on_disk = Bozor(bot_config)
    await on_disk.start()
    try:
        market = await open_market(on_disk, sandbox)
        await fill_wizard(market["seller"])
        await market["olga"].wait_for_bot("Новое объявление #1", timeout=10)
        await market["olga"].press("✅ Одобрить")
        first = await market["channel"].wait_for_post("Velosiped Stels", timeout=10)
        async with on_disk.pool.acquire() as conn:
            keys = [r["storage_key"] for r in await conn.fetch("SELECT storage_key FROM ad_photos")]
    finally:
        await on_disk.stop()

    config = dataclasses.replace(
        bot_config,
        s3_bucket=f"bozor-{uuid.uuid4().hex[:16]}",
        s3_endpoint_url=s3_endpoint,
        s3_access_key="testing",
        s3_secret_key="testing",
        s3_region="us-east-1",
    )
    with_s3 = Bozor(config)
    await with_s3.start()
    # The re-post below is the test's own: the minutely re-post job, were it to run first on a
    # slow machine, would take the slot and leave this call nothing to post.
    assert with_s3.scheduler is not None
    with_s3.scheduler.pause()
    try:
        async with aiohttp.ClientSession(config.base_url) as web:
            for key in keys:
                async with web.get(f"/media/{key}") as answer:
                    assert answer.status == 200 and answer.content_type == "image/jpeg"
        msgs = with_s3.dispatcher.workflow_data["ad_messages"]
        async with with_s3.pool.acquire() as conn, conn.transaction():
            assert await run_reposts(conn, DAY_LATER(), random.Random(1), msgs) == 1
        await outbox_settled(with_s3.pool)
        async with with_s3.pool.acquire() as conn:
            failed = await conn.fetchval("SELECT count(*) FROM outbox WHERE status = 'failed'")
        messages = await _messages(market["channel"])
        reposted = [
            m for i, m in messages.items() if i > first["message_id"] and "Velosiped" in m.get("caption", "")
        ]
        assert failed == 0 and reposted and messages[first["message_id"]].get("deleted")
    finally:
        await with_s3.stop()


async def test_an_update_that_cannot_be_journaled_is_not_acknowledged_and_is_answered_later(
    bozor, sandbox, db
) -> None:
    aziz = await sandbox.user("Aziz", language_code="uz")
    await aziz.send("/start")
    await aziz.wait_for_bot("Assalomu alaykum")
    await db.execute("ALTER TABLE update_journal RENAME TO update_journal_away")  # as if PG were down
    try:
        await aziz.send("/help")
        wait = await aziz.wait_for_bot("Kechirasiz", timeout=10)
        assert "javob beramiz" in wait["text"]
    finally:
        await db.execute("ALTER TABLE update_journal_away RENAME TO update_journal")
    # Telegram kept it (the offset never passed it): it is journaled and answered once.
    await eventually(
        lambda: db.fetchval("SELECT count(*) = 2 AND bool_and(handled) FROM update_journal"),
        seconds=20,
        what="the /help update journaled and handled",
    )
    await eventually(lambda: _replies_after(aziz, wait["message_id"]), what="the help")
    assert [m["text"].split("\n")[0] for m in await _replies_after(aziz, wait["message_id"])] == [
        "Bozor kanalimiz orqali sotish va sotib olishga yordam beradi."
    ]


async def _replies_after(persona, message_id: int) -> list[dict]:
    return [m for m in await persona.bot_messages() if m["message_id"] > message_id]


async def test_an_update_delivered_twice_by_webhook_is_handled_once(
    make_config, sandbox_url, sandbox, db
) -> None:
    port = free_port()
    config = make_config(
        BOT_TOKEN=TEST_TOKEN,
        TELEGRAM_API_URL=sandbox_url,
        TELEGRAM_MODE="webhook",
        PORT=str(port),
        PUBLIC_URL=f"http://127.0.0.1:{port}",
    )
    app = Bozor(config)
    await app.start()
    try:
        zarina = await sandbox.user("Zarina", language_code="ru")
        await zarina.send("/start")
        greeting = await zarina.wait_for_bot("Здравствуйте, Zarina!")
        update = {
            "update_id": 777,
            "message": {
                "message_id": 9999,
                "date": 1,
                "chat": {"id": zarina.id, "type": "private", "first_name": "Zarina"},
                "from": {"id": zarina.id, "is_bot": False, "first_name": "Zarina", "language_code": "ru"},
                "text": "/start",
            },
        }
        headers = {"X-Telegram-Bot-Api-Secret-Token": webhook_secret(config)}
        async with aiohttp.ClientSession() as http:
            for _ in range(2):
                async with http.post(
                    f"{config.public_url}/telegram/webhook", json=update, headers=headers
                ) as r:
                    assert r.status == 200
        await eventually(lambda: _idle(app), what="the webhook's handlers to finish")
        greetings = [m for m in await zarina.bot_messages() if m["message_id"] > greeting["message_id"]]
        assert len([m for m in greetings if "Здравствуйте" in m.get("text", "")]) == 1
        assert await db.fetchval("SELECT count(*) FROM update_journal WHERE update_id = 777") == 1
    finally:
        await app.stop()


async def _idle(app: Bozor) -> bool:
    return app.in_flight.count == 0 and not app.webhook._tasks


async def test_an_update_acknowledged_but_never_handled_is_handled_by_the_sweep(
    bot_config, sandbox_server, sandbox, db
) -> None:
    sandbox_server.world.add_bot(TEST_TOKEN)
    ali = await sandbox.user("Ali", language_code="uz")
    await ali.send("/start")  # waits with Telegram until Bozor polls
    help_update = {
        "update_id": 10**6,
        "message": {
            "message_id": 9999,
            "date": 1,
            "chat": {"id": ali.id, "type": "private", "first_name": "Ali"},
            "from": {"id": ali.id, "is_bot": False, "first_name": "Ali", "language_code": "uz"},
            "text": "/help",
        },
    }
    bot_id = int(TEST_TOKEN.split(":")[0])
    await db.execute(  # journaled and acknowledged; the process stopped before handling it
        "INSERT INTO update_journal (bot_id, update_id, kind, payload, handled, received_at) "
        "VALUES ($1, $2, 'message', $3::jsonb, false, now() - interval '2 minutes')",
        bot_id,
        10**6,
        json.dumps(help_update),
    )
    app = Bozor(bot_config)
    await app.start()
    try:
        await ali.wait_for_bot("Bozor kanalimiz orqali", timeout=10)
        # Handlers that started are marked in bulk a moment later (off the reply's path).
        await eventually(lambda: db.fetchval("SELECT bool_and(handled) FROM update_journal"), what="marks")
        assert await db.fetchval("SELECT count(*) FROM update_journal WHERE update_id = $1", 10**6) == 1
    finally:
        await app.stop()


async def test_the_embedded_postgresql_is_restarted_when_it_dies_and_healthz_says_503_meanwhile(
    pg_root, sandbox_url, sandbox, caplog
) -> None:
    config = load_config(
        {
            "DATA_DIR": str(pg_root),
            "PORT": str(free_port()),
            "BOT_TOKEN": TEST_TOKEN,
            "TELEGRAM_API_URL": sandbox_url,
            "LOG_LEVEL": "INFO",
        },
        dotenv=pg_root / "no.env",
    )
    app = Bozor(config, embedded_fast=True)
    await app.start()
    assert app.pg is not None
    busy = await asyncpg.connect(app.pg.dsn())
    backend = await busy.fetchval("SELECT pg_backend_pid()")
    try:
        pid = _postmaster_pid(pg_root / "pg" / "data")
        assert pid is not None
        with caplog.at_level(logging.WARNING, logger="app.db.embedded"):
            # A server process slow to notice its postmaster died (a backend busy with a query)
            # still holds the old shared memory: the restart must not be refused for it.
            os.kill(backend, signal.SIGSTOP)
            os.kill(pid, signal.SIGKILL)
            assert await eventually(lambda: _health(config.base_url, 503), what="/healthz 503")
            assert await eventually(lambda: _health(config.base_url, 200), seconds=30, what="/healthz 200")

            async def logged() -> list[str]:
                return [r.getMessage() for r in caplog.records if r.name == "app.db.embedded"]

            said = await eventually(lambda: _said(logged, "embedded PostgreSQL restarted"))
        assert "embedded PostgreSQL is not running; restarting it" in said
        assert not any("did not restart" in line for line in said)  # first try, nothing refused
        assert _postmaster_pid(pg_root / "pg" / "data") not in (None, pid)
        nodir = await sandbox.user("Nodir", language_code="uz")
        await nodir.send("/start")
        await nodir.wait_for_bot("Assalomu alaykum", timeout=15)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(backend, signal.SIGKILL)  # were it left behind
        busy.terminate()
        await app.stop()


async def _said(logged, line: str) -> list[str] | None:
    lines = await logged()
    return lines if line in lines else None


async def _health(base_url: str, status: int) -> bool:
    async with aiohttp.ClientSession() as http, http.get(f"{base_url}/healthz") as answer:
        return answer.status == status


async def test_a_bot_token_is_checked_on_save_a_failing_one_leaves_the_panel_up_and_can_be_cleared(
    make_config, sandbox_server, sandbox_url, db, tmp_path
) -> None:
    config = make_config(TELEGRAM_API_URL=sandbox_url, SECRET_KEY=SECRET_KEY)
    boss = await staff_domain.create_staff(db, "boss", PASSWORD, Role.ADMIN)
    bot_id = TEST_TOKEN.split(":")[0]
    wrong = f"{bot_id}:ThisIsNotTheTokenOfThatBotAtAll_000000"
    sandbox_server.world.add_bot(TEST_TOKEN)  # the bot exists in Telegram
    await staff_domain.set_secret(db, "bot_token", wrong, boss.id, secret_key=SECRET_KEY)

    app = Bozor(config)
    await app.start()  # before: StartupError, and the panel went down with it
    try:
        assert app.config.sandbox and app.running.bot_problem
        async with aiohttp.ClientSession(config.base_url, cookie_jar=aiohttp.CookieJar(unsafe=True)) as web:
            async with web.get("/panel/lang/en", allow_redirects=False):
                pass
            async with web.get("/panel/login") as page:
                csrf_token = TOKEN_RE.search(await page.text()).group(1)
            form = {"csrf_token": csrf_token, "username": "boss", "password": PASSWORD}
            async with web.post("/panel/login", data=form, allow_redirects=False) as answer:
                assert answer.status == 303
            async with web.get("/panel") as page:
                assert "did not work at the last start, so the bot runs in the sandbox" in await page.text()

            async def save(token: str) -> tuple[int, str]:
                async with web.get("/panel/settings") as page:
                    csrf_token = TOKEN_RE.search(await page.text()).group(1)
                form = {"csrf_token": csrf_token, "section": "bot", "bot_token": token}
                async with web.post("/panel/settings", data=form, allow_redirects=False) as answer:
                    return answer.status, await answer.text()

            status, page = await save(f"{bot_id}:AnotherWrongTokenForThatSameBot_1111111")
            assert status == 400 and "Telegram does not accept this token" in page
            assert await staff_domain.get_secret(db, "bot_token", secret_key=SECRET_KEY) == wrong
            assert (await save(TEST_TOKEN))[0] == 303
            assert await staff_domain.get_secret(db, "bot_token", secret_key=SECRET_KEY) == TEST_TOKEN
    finally:
        await app.stop()

    env = {"DATABASE_URL": config.database_url, "DATA_DIR": str(tmp_path / "cli")}
    cleared = await asyncio.to_thread(run_bozor, env, "settings", "clear")
    assert cleared.returncode == 0, cleared.stderr
    assert "cleared: bot" in cleared.stdout
    assert not await staff_domain.secret_is_set(db, "bot_token")


async def test_kill_9_during_publication_leaves_every_approved_ad_in_its_channel_exactly_once(
    sandbox_server, database_url
) -> None:
    """3 channels at Telegram's real limits, 30 approvals, the sending process killed 3 times."""
    pool = await create_pool(database_url)
    try:
        report = await crash.run(
            pool,
            sandbox_server.world,
            sandbox_server.url,
            database_url,
            TEST_TOKEN,
            channels_n=3,
            ads_n=30,
            kills=3,
            seed=17,
        )
    finally:
        await pool.close()
    assert (report.kills, report.ads) == (3, 30), report.line()
    assert (report.losses, report.duplicates) == (0, 0), report.line()


async def test_the_photos_on_disk_can_be_copied_into_s3_and_the_copy_resumes(
    database_url, tmp_path, s3_endpoint: str, capsys
) -> None:
    media = DiskStorage(tmp_path / "media", "http://127.0.0.1/media")
    for key in ("ads/1/a.jpg", "ads/1/b.jpg", "ads/2/c.jpg"):
        await media.put(key, key.encode(), "image/jpeg")
    bucket = f"bozor-{uuid.uuid4().hex[:16]}"
    env = {
        "DATABASE_URL": database_url,
        "DATA_DIR": str(tmp_path),
        "S3_BUCKET": bucket,
        "S3_ENDPOINT_URL": s3_endpoint,
        "S3_ACCESS_KEY": "testing",
        "S3_SECRET_KEY": "testing",
        "S3_REGION": "us-east-1",
    }
    config = load_config(env, dotenv=tmp_path / "no.env")  # as `run.py media copy-to-s3` has it
    assert await copy_to_s3(config) == 0
    assert "3/3 checked, 3 copied" in capsys.readouterr().out
    await media.put("ads/3/d.jpg", b"d", "image/jpeg")  # e.g. the first run was cut short
    assert await copy_to_s3(config) == 0
    again = capsys.readouterr().out
    assert "4/4 checked, 1 copied" in again and "3 were there already" in again
    s3 = S3Settings(bucket, s3_endpoint, "testing", "testing", "us-east-1")
    async with contextlib.AsyncExitStack() as stack:
        storage = await open_s3(stack, s3)
        copied = await storage.get("ads/2/c.jpg")
    assert (copied.data, copied.content_type) == (b"ads/2/c.jpg", "image/jpeg")
