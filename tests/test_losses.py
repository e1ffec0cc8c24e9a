"""Nothing lost: a failed re-post keeps the live post, media survive a storage switch, updates
are acknowledged only once journaled, and Bozor outlives its database and a bad token."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import random
import signal
import uuid
from datetime import UTC, datetime

import aiohttp
import asyncpg

from app.config import load_config
from app.db.embedded import _postmaster_pid
from app.db.queries.ads import MessageKind, live_messages
from app.domain.ads import run_reposts
from app.main import Bozor, free_port, webhook_secret
from tests.helpers.market import fill_wizard, open_market
from tests.helpers.polling import eventually, outbox_settled
from tests.helpers.servers import TEST_TOKEN


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
        assert await run_reposts(conn, datetime.now(UTC), random.Random(1), msgs) == 1
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
    try:
        async with aiohttp.ClientSession(config.base_url) as web:
            for key in keys:
                async with web.get(f"/media/{key}") as answer:
                    assert answer.status == 200 and answer.content_type == "image/jpeg"
        msgs = with_s3.dispatcher.workflow_data["ad_messages"]
        async with with_s3.pool.acquire() as conn, conn.transaction():
            assert await run_reposts(conn, datetime.now(UTC), random.Random(1), msgs) == 1
        await outbox_settled(with_s3.pool)
        async with with_s3.pool.acquire() as conn:
            failed = await conn.fetchval("SELECT count(*) FROM outbox WHERE status = 'failed'")
        messages = await _messages(market["channel"])
        reposted = [
            m for i, m in messages.items() if i > first["message_id"] and "Velosiped" in m.get("caption", "")
        ]
        assert failed == 0 and len(reposted) == 1 and messages[first["message_id"]].get("deleted")
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

        async def all_handled() -> bool:
            return bool(await db.fetchval("SELECT bool_and(handled) FROM update_journal"))

        # Handled marks are written in bulk a moment after each handler starts (app/bot/journal.py).
        assert await eventually(all_handled, what="every update marked handled")
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

            def logged() -> list[str]:
                return [r.getMessage() for r in caplog.records if r.name == "app.db.embedded"]

            async def restarted() -> bool:
                return "embedded PostgreSQL restarted" in logged()

            # /healthz answers as soon as the server does, a moment before pg_ctl returns.
            await eventually(restarted, what="the restart logged")
        assert "embedded PostgreSQL is not running; restarting it" in logged()
        assert not any("did not restart" in line for line in logged())  # first try, nothing refused
        assert _postmaster_pid(pg_root / "pg" / "data") not in (None, pid)
        nodir = await sandbox.user("Nodir", language_code="uz")
        await nodir.send("/start")
        await nodir.wait_for_bot("Assalomu alaykum", timeout=15)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(backend, signal.SIGKILL)  # were it left behind
        busy.terminate()
        await app.stop()


async def _health(base_url: str, status: int) -> bool:
    async with aiohttp.ClientSession() as http, http.get(f"{base_url}/healthz") as answer:
        return answer.status == status
