"""The bot skeleton end to end: real aiogram polling the sandbox over HTTP, real PostgreSQL."""

from __future__ import annotations

import asyncio
import contextvars

import asyncpg
from aiogram.fsm.storage.base import StorageKey

from app.bot.fsm import PostgresStorage, flush_pending, storage_key
from app.config import Config
from app.db.pool import create_pool
from app.main import Bozor
from tests.helpers.polling import eventually


def button_texts(message: dict) -> list[str]:
    markup = message.get("reply_markup") or {}
    return [b["text"] for row in markup.get("inline_keyboard", []) for b in row]


async def test_start_greets_in_russian_and_stores_the_user(bozor, sandbox, db) -> None:
    ivan = await sandbox.user("Иван", last_name="Петров", username="ivan_p", language_code="ru")
    await ivan.send("/start")
    reply = await ivan.wait_for_bot("Здравствуйте, Иван!")
    assert "📢 Подать объявление" in button_texts(reply)
    assert "🌐 Язык" in button_texts(reply)

    user = await db.fetchrow("SELECT * FROM users WHERE id = $1", ivan.id)
    assert (user["first_name"], user["last_name"], user["username"]) == ("Иван", "Петров", "ivan_p")
    assert user["language_code"] == "ru" and user["blocked_bot_at"] is None
    assert user["first_seen"] <= user["last_seen"]


async def test_an_unknown_language_gets_uzbek(bozor, sandbox) -> None:
    hans = await sandbox.user("Hans", language_code="de")
    await hans.send("/start")
    reply = await hans.wait_for_bot("Assalomu alaykum, Hans!")
    assert "📢 E'lon berish" in button_texts(reply)


async def test_a_second_contact_updates_last_seen_only(bozor, sandbox, db) -> None:
    aziz = await sandbox.user("Aziz", language_code="uz")
    await aziz.send("/start")
    await aziz.wait_for_bot("Assalomu alaykum")
    first = await db.fetchrow("SELECT first_seen, last_seen FROM users WHERE id = $1", aziz.id)
    await asyncio.sleep(0.05)
    await aziz.send("/help")
    await aziz.wait_for_bot("/language")
    second = await db.fetchrow("SELECT first_seen, last_seen FROM users WHERE id = $1", aziz.id)
    assert second["first_seen"] == first["first_seen"]
    assert second["last_seen"] > first["last_seen"]


async def test_every_update_is_journaled(bozor, sandbox, db) -> None:
    nodira = await sandbox.user("Nodira", language_code="uz")
    for text in ("/start", "salom", "/help"):
        await nodira.send(text)
    await eventually(lambda: _count_bot_messages(nodira, 3))
    rows = await db.fetch(
        "SELECT kind, payload FROM update_journal WHERE user_id = $1 ORDER BY update_id", nodira.id
    )
    assert [r["payload"]["message"]["text"] for r in rows] == ["/start", "salom", "/help"]
    assert {r["kind"] for r in rows} == {"message"}


async def _count_bot_messages(persona, count: int) -> bool:
    return len(await persona.bot_messages()) >= count


async def test_a_message_the_bot_does_not_understand_gets_the_menu(bozor, sandbox) -> None:
    # Free text is a question for the support desk (tests/test_support_bot.py); a location is not.
    olga = await sandbox.user("Olga", language_code="ru")
    await olga.send_location(41.3, 69.2)
    reply = await olga.wait_for_bot("Я не понял")
    assert "📋 Мои объявления" in button_texts(reply)


async def test_menu_buttons_edit_the_message_in_place(bozor, sandbox) -> None:
    aziz = await sandbox.user("Aziz", language_code="uz")
    await aziz.send("/start")
    menu = await aziz.wait_for_bot("Assalomu alaykum")
    await aziz.press("🌐 Til")
    edited = await aziz.wait_for_bot(
        lambda m: m["message_id"] == menu["message_id"] and m.get("text") == "Tilni tanlang:"
    )
    assert {"O'zbekcha", "Русский", "English", "⬅️ Orqaga"} <= set(button_texts(edited))
    await aziz.press("⬅️ Orqaga")
    back = await aziz.wait_for_bot(
        lambda m: m["message_id"] == menu["message_id"] and m.get("text", "").startswith("Assalomu alaykum")
    )
    assert back.get("edit_date")


async def test_language_choice_is_remembered_across_a_restart(bot_config: Config, sandbox) -> None:
    first = Bozor(bot_config)
    await first.start()
    try:
        ivan = await sandbox.user("Ivan", language_code="ru")
        await ivan.send("/language")
        await ivan.wait_for_bot("Выберите язык:")
        await ivan.press("English")
        await ivan.wait_for_bot("I will speak English")
    finally:
        await first.stop()

    second = Bozor(bot_config)
    await second.start()
    try:
        await ivan.send("/start")
        reply = await ivan.wait_for_bot("Hello, Ivan!")
        assert "📢 Post an ad" in button_texts(reply)
    finally:
        await second.stop()


async def test_blocking_the_bot_marks_the_user_and_a_new_message_clears_it(bozor, sandbox, db) -> None:
    ali = await sandbox.user("Ali", language_code="uz")
    await ali.send("/start")
    await ali.wait_for_bot("Assalomu alaykum")
    await ali.block()
    blocked = await eventually(lambda: db.fetchval("SELECT blocked_bot_at FROM users WHERE id = $1", ali.id))
    assert blocked is not None

    await ali.unblock()
    await ali.send("/start")
    await ali.wait_for_bot(lambda m: m.get("text", "").startswith("Assalomu") and m["message_id"] > 2)
    assert await db.fetchval("SELECT blocked_bot_at FROM users WHERE id = $1", ali.id) is None


async def test_conversation_state_survives_a_restart(database_url: str) -> None:
    key = StorageKey(bot_id=1, chat_id=77, user_id=77)
    pool = await create_pool(database_url)
    await PostgresStorage(pool).set_state(key, "ad:title")
    await PostgresStorage(pool).set_data(key, {"title": "Velosiped", "photos": ["a", "b"]})
    await pool.close()

    pool = await create_pool(database_url)
    storage = PostgresStorage(pool)
    assert await storage.get_state(key) == "ad:title"
    assert await storage.get_data(key) == {"title": "Velosiped", "photos": ["a", "b"]}
    await storage.set_state(key, None)
    assert await storage.get_state(key) is None
    await pool.close()


async def test_a_state_read_while_it_was_being_written_is_not_trusted(database_url: str) -> None:
    """The journal reads each update's state with the update; a Cancel's write still under way
    then may not be in it, and the user's next message must not be taken by the step left."""
    key = StorageKey(bot_id=1, chat_id=78, user_id=78)
    pool = await create_pool(database_url)
    try:
        storage = PostgresStorage(pool)
        await storage.set_state(key, "ad:district")
        writing = asyncio.create_task(storage.set_state(key, None))
        await asyncio.sleep(0)  # the write is under way
        version = storage.version(storage_key(key))
        await writing
        storage.prefetched(storage_key(key), "ad:district", "{}", version)  # read before it landed
        assert await storage.get_state(key) is None
    finally:
        await pool.close()


async def test_a_conversation_read_with_the_update_is_used_and_kept_true(database_url: str) -> None:
    """The journal's read of the state and data serves the handler (clearing a conversation
    that has none writes nothing), the handler's own writes keep it true and are stored in one
    statement; another update's write of the same key since the read makes the handler ask the
    database again."""
    key = StorageKey(bot_id=1, chat_id=79, user_id=79)
    text_key = storage_key(key)
    pool = await create_pool(database_url)
    try:
        storage = PostgresStorage(pool)
        storage.prefetched(text_key, None, None, storage.version(text_key))
        await storage.set_state(key, None)
        await storage.set_data(key, {})
        assert await pool.fetchval("SELECT count(*) FROM fsm_state WHERE key = $1", text_key) == 0

        # The handler's writes are kept, then stored together before its next call to Telegram.
        await storage.set_state(key, "ad:title")
        await storage.set_data(key, {"draft": {"title": "Velosiped"}})
        assert await storage.get_state(key) == "ad:title"
        assert await storage.get_data(key) == {"draft": {"title": "Velosiped"}}
        assert await pool.fetchval("SELECT count(*) FROM fsm_state WHERE key = $1", text_key) == 0
        await flush_pending()
        row = await pool.fetchrow("SELECT state, data FROM fsm_state WHERE key = $1", text_key)
        assert (row["state"], row["data"]) == ("ad:title", {"draft": {"title": "Velosiped"}})

        # What was read is stale once another update wrote the key: the database answers.
        storage.prefetched(text_key, "ad:title", '{"draft": {}}', storage.version(text_key))
        another_update = contextvars.Context()  # as another update's task: it sees no prefetch
        write = storage.set_data(key, {"draft": {"title": "Stels"}})
        await asyncio.create_task(write, context=another_update)
        assert await storage.get_data(key) == {"draft": {"title": "Stels"}}
        assert await storage.get_state(key) == "ad:title"

        # A change kept, then another write of the key: the kept change lands first, and the
        # handler's later write is not overwritten by it.
        storage.prefetched(text_key, "ad:title", "{}", storage.version(text_key))
        await storage.set_state(key, "ad:description")  # kept
        await asyncio.create_task(storage.set_data(key, {"n": 1}), context=contextvars.Context())
        await storage.set_state(key, "ad:price")
        await flush_pending()
        row = await pool.fetchrow("SELECT state, data FROM fsm_state WHERE key = $1", text_key)
        assert (row["state"], row["data"]) == ("ad:price", {"n": 1})
    finally:
        await pool.close()


async def test_the_command_menu_is_set_in_each_language(bozor, sandbox_server) -> None:
    commands = await bozor.bot.get_my_commands(language_code="ru")
    assert [c.command for c in commands] == ["start", "language", "help"]
    assert commands[0].description == "Главное меню"
    assert isinstance(bozor.pool, asyncpg.Pool)
