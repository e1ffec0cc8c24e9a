"""An update PostgreSQL refuses holds back nobody: the others in its batch are journaled and
answered, it is journaled as far as it goes (and not handled), and the bot goes on."""

from __future__ import annotations

import json
import random
from typing import Any

import aiohttp

from app.domain import record
from app.domain.record import Direction, Kind
from app.main import Bozor, free_port, webhook_secret
from tests.helpers.polling import eventually
from tests.helpers.servers import TEST_TOKEN

BOT_ID = int(TEST_TOKEN.split(":")[0])
# Over btree's limit for an index row (users_username_idx), and not compressible below it.
HUGE_USERNAME = "".join(random.Random(17).choices("0123456789abcdef", k=8000))
OUT_OF_RANGE = 2**63  # one more than bigint holds


def _message(update_id: int | None, user_id: int, text: str, **sender: Any) -> dict[str, Any]:
    message = {
        "message_id": 9000 + (update_id or 0) % 1000,
        "date": 1,
        "chat": {"id": user_id, "type": "private", "first_name": "Mallory"},
        "from": {"id": user_id, "is_bot": False, "first_name": "Mallory", **sender},
        "text": text,
    }
    return message if update_id is None else {"update_id": update_id, "message": message}


async def test_a_batch_with_updates_postgresql_refuses_is_journaled_and_the_others_are_answered(
    bot_config, sandbox_server, sandbox, db
) -> None:
    telegram_bot = sandbox_server.world.add_bot(TEST_TOKEN)
    aziz = await sandbox.user("Aziz", language_code="uz")
    ali = await sandbox.user("Ali", language_code="uz")
    # All four wait with Telegram until Bozor polls, so they come in one getUpdates batch.
    await aziz.send("/start")
    huge = telegram_bot.push_update("message", _message(None, 777_001, "/start", username=HUGE_USERNAME))
    out_of_range = telegram_bot.push_update("message", _message(None, OUT_OF_RANGE, "/start"))
    await ali.send("/start")
    app = Bozor(bot_config)
    await app.start()
    try:
        for persona in (aziz, ali):
            await persona.wait_for_bot("Assalomu alaykum", timeout=15)
        rows = {
            r["update_id"]: r
            for r in await db.fetch(
                "SELECT update_id, user_id, handled, error, payload FROM update_journal ORDER BY update_id"
            )
        }
        assert len(rows) == 4, "every update of the batch is journaled"
        refused = {huge["update_id"], out_of_range["update_id"]}
        for update_id, row in rows.items():
            if update_id in refused:
                assert row["handled"] and row["error"].startswith("not journaled as received"), row
            else:
                assert row["error"] is None
        # The whole update is kept; only what PostgreSQL cannot hold is left out.
        kept = rows[huge["update_id"]]["payload"]
        assert kept["message"]["from"]["username"] == HUGE_USERNAME
        assert rows[huge["update_id"]]["user_id"] == 777_001
        assert rows[out_of_range["update_id"]]["payload"]["message"]["from"]["id"] == OUT_OF_RANGE
        assert rows[out_of_range["update_id"]]["user_id"] is None
        users = {r["id"] for r in await db.fetch("SELECT id FROM users")}
        assert {aziz.id, ali.id} <= users and 777_001 not in users
        # Nobody is apologised to (nothing waits to be retried) and polling goes on.
        assert not [m for m in await aziz.bot_messages() if "Kechirasiz" in m.get("text", "")]
        await aziz.send("/help")
        await aziz.wait_for_bot("Bozor kanalimiz orqali", timeout=10)
    finally:
        await app.stop()


async def test_a_webhook_update_postgresql_refuses_is_acknowledged_and_the_next_ones_are_answered(
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
        await zarina.wait_for_bot("Здравствуйте, Zarina!")
        headers = {"X-Telegram-Bot-Api-Secret-Token": webhook_secret(config)}
        # JSON as a forged delivery may write it: a lone surrogate escaped in the text.
        surrogate = json.dumps(_message(501, zarina.id, "/start", language_code="ru"))
        surrogate = surrogate.replace('"/start"', '"salom \\ud800"')
        async with aiohttp.ClientSession(headers=headers) as http:
            url = f"{config.public_url}/telegram/webhook"
            async with http.post(url, json=_message(500, 777_002, "/start", username=HUGE_USERNAME)) as r:
                assert r.status == 200, "acknowledged: Telegram would deliver a refusal again forever"
            async with http.post(url, data=surrogate, headers={"Content-Type": "application/json"}) as r:
                assert r.status == 200
        await zarina.wait_for_bot("символ, который нельзя использовать", timeout=10)
        rows = await db.fetch(
            "SELECT update_id, handled, error, payload FROM update_journal WHERE update_id >= 500 ORDER BY 1"
        )
        assert [r["update_id"] for r in rows] == [500, 501]
        assert rows[0]["error"].startswith("not journaled as received") and rows[0]["handled"]
        assert rows[1]["payload"]["message"]["text"] == "salom \ufffd"
        assert await db.fetchval("SELECT count(*) FROM users WHERE id = 777002") == 0
        await zarina.send("/help")  # the next update is answered as ever
        await zarina.wait_for_bot("Bozor помогает продавать", timeout=10)
        heard = ["/start", "salom \ufffd", "/help"]  # on record too, the surrogate as U+FFFD
        await eventually(lambda: _on_record(db, zarina.id, heard), what="what Zarina sent, on record")
    finally:
        await app.stop()


async def _on_record(db, user_id: int, texts: list[str]) -> bool:
    rows = await db.fetch(
        "SELECT text FROM message_record WHERE user_id = $1 AND direction = 'in' ORDER BY id", user_id
    )
    return [r["text"] for r in rows] == texts


async def test_a_message_the_record_refuses_keeps_nobody_elses_off_it(db) -> None:
    refused = record.entry(OUT_OF_RANGE, OUT_OF_RANGE, Direction.IN, Kind.TEXT, "forged")
    fine = [record.entry(42, 42, Direction.IN, Kind.TEXT, text) for text in ("one", "two")]
    await record.record(db, [fine[0], refused, fine[1]])
    assert await _on_record(db, 42, ["one", "two"])
    assert await db.fetchval("SELECT count(*) FROM message_record") == 2
