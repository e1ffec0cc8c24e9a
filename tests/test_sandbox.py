"""The Telegram sandbox, driven over real HTTP by the real aiogram client and the user driver."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
)
from aiogram.filters import CommandStart
from aiogram.types import (
    BotCommand,
    CallbackQuery,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from app.sandbox import spec
from app.sandbox.app import make_sandbox_app
from app.sandbox.driver import Persona, Sandbox, SandboxError
from app.sandbox.world import World
from tests.helpers import sandbox as kit
from tests.helpers.sandbox import (
    BOT_ID,
    NOT_MODIFIED,
    OTHER_TOKEN,
    TOKEN,
    keyboard,
    make_bot,
    next_updates,
    raw,
)

world, base, bot, sandbox, ali, http = kit.world, kit.base, kit.bot, kit.sandbox, kit.ali, kit.http


# ---------------------------------------------------------------- identity and updates


async def test_get_me_has_the_fields_telegram_returns(
    bot: Bot, base: str, http: aiohttp.ClientSession
) -> None:
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.username) == (BOT_ID, True, f"bozor{BOT_ID}_bot")
    assert me.first_name
    status, body = await raw(http, "GET", f"{base}/bot{TOKEN}/getMe")
    assert status == 200 and body["ok"] is True
    assert {"can_join_groups", "can_read_all_group_messages", "supports_inline_queries"} <= set(
        body["result"]
    )


async def test_user_text_reaches_get_updates_with_a_bot_command_entity(ali: Persona, bot: Bot) -> None:
    await ali.send("/start ref_42")
    await ali.send("/help@bozor7001_bot")
    first, second = await bot.get_updates(timeout=1)
    msg = first.message
    assert msg.text == "/start ref_42"
    assert [(e.type, e.offset, e.length) for e in msg.entities] == [("bot_command", 0, 6)]
    assert msg.from_user.id == ali.id and msg.from_user.language_code == "uz"
    assert msg.chat.id == ali.id and msg.chat.type == "private"
    assert abs(msg.date.timestamp() - time.time()) < 5  # seconds, not milliseconds
    assert [(e.type, e.length) for e in second.message.entities] == [("bot_command", 19)]


async def test_offset_confirms_every_update_below_it(ali: Persona, bot: Bot) -> None:
    for text in ("one", "two", "three"):
        await ali.send(text)
    updates = await bot.get_updates()
    assert [u.message.text for u in updates] == ["one", "two", "three"]
    ids = [u.update_id for u in updates]
    assert ids == sorted(ids) and len(set(ids)) == 3
    assert [u.message.text for u in await bot.get_updates(offset=ids[1])] == ["two", "three"]
    assert [u.message.text for u in await bot.get_updates()] == ["two", "three"]  # "one" is gone
    assert await bot.get_updates(offset=ids[2] + 1) == []
    await ali.send("four")
    await ali.send("five")
    assert [u.message.text for u in await bot.get_updates(offset=-1)] == ["five"]
    assert [u.message.text for u in await bot.get_updates(limit=5)] == ["five"]


async def test_long_poll_returns_as_soon_as_an_update_arrives(ali: Persona, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=20))
    await asyncio.sleep(0.2)
    assert not poll.done()
    started = time.monotonic()
    await ali.send("hello")
    updates = await asyncio.wait_for(poll, 5)
    assert time.monotonic() - started < 1.0
    assert [u.message.text for u in updates] == ["hello"]


async def test_long_poll_without_updates_waits_about_the_timeout(bot: Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == []
    assert 0.8 <= time.monotonic() - started < 3.0


async def test_a_second_get_updates_terminates_the_first(bot: Bot) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.2)
    assert await bot.get_updates() == []
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates request"):
        await asyncio.wait_for(first, 5)


async def test_allowed_updates_filters_later_updates(ali: Persona, bot: Bot) -> None:
    assert await bot.get_updates(allowed_updates=["callback_query"]) == []
    await ali.send("ignored")
    assert await bot.get_updates() == []
    await bot.get_updates(allowed_updates=["message"])
    await ali.send("seen")
    assert [u.message.text for u in await bot.get_updates()] == ["seen"]


# ---------------------------------------------------------------- messages and buttons


async def test_press_inline_button_gives_a_callback_query_and_its_answer_reaches_the_user(
    ali: Persona, bot: Bot
) -> None:
    await ali.send("/start")
    (start,) = await bot.get_updates()
    sent = await bot.send_message(ali.id, "Menu", reply_markup=keyboard(("Language", "lang:open")))
    assert (await ali.wait_for_bot("Menu"))["message_id"] == sent.message_id

    pressed = await ali.press("Language")
    (update,) = await next_updates(bot, start.update_id)
    query = update.callback_query
    assert query.id == pressed["callback_query_id"]
    assert query.data == "lang:open" and query.from_user.id == ali.id
    assert query.chat_instance and query.message.message_id == sent.message_id

    assert await bot.answer_callback_query(query.id, text="Choose a language", show_alert=True)
    answer = await ali.callback_answer(query.id)
    assert (answer["text"], answer["show_alert"]) == ("Choose a language", True)
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query.id)  # a query is answered once
    with pytest.raises(TelegramBadRequest, match="query ID is invalid"):
        await bot.answer_callback_query("123456789")


async def test_edit_text_and_markup_like_telegram(ali: Persona, bot: Bot) -> None:
    await ali.send("/start")
    sent = await bot.send_message(ali.id, "Price?", reply_markup=keyboard(("OK", "ok")))
    edited = await bot.edit_message_text(
        "Price: 100", chat_id=ali.id, message_id=sent.message_id, reply_markup=keyboard(("OK", "ok"))
    )
    assert edited.text == "Price: 100" and edited.edit_date is not None
    seen = await ali.wait_for_bot("Price: 100", since=0)
    assert seen["message_id"] == sent.message_id and "edit_date" in seen

    with pytest.raises(TelegramBadRequest, match=NOT_MODIFIED):
        await bot.edit_message_text(
            "Price: 100", chat_id=ali.id, message_id=sent.message_id, reply_markup=keyboard(("OK", "ok"))
        )
    # Telegram drops an inline keyboard that an edit does not repeat.
    bare = await bot.edit_message_text("Price: 100", chat_id=ali.id, message_id=sent.message_id)
    assert bare.reply_markup is None
    again = await bot.edit_message_reply_markup(
        chat_id=ali.id, message_id=sent.message_id, reply_markup=keyboard(("Buy", "buy"))
    )
    assert again.reply_markup.inline_keyboard[0][0].text == "Buy"
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=ali.id, message_id=999)
    with pytest.raises(TelegramBadRequest, match="message can't be edited"):
        await bot.edit_message_text("x", chat_id=ali.id, message_id=1)  # the user's /start


async def test_text_must_be_1_to_4096_characters(ali: Persona, bot: Bot) -> None:
    await ali.send("/start")
    for empty in ("", "   \n "):
        with pytest.raises(TelegramBadRequest, match="message text is empty"):
            await bot.send_message(ali.id, empty)
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(ali.id, "x" * 4097)
    assert len((await bot.send_message(ali.id, "я" * 4096)).text) == 4096


async def test_callback_data_must_be_1_to_64_bytes(ali: Persona, bot: Bot) -> None:
    await ali.send("/start")
    for data in ("x" * 65, "я" * 33):  # 33 Cyrillic letters are 66 bytes
        with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
            await bot.send_message(ali.id, "Menu", reply_markup=keyboard(("A", data)))
    assert await bot.send_message(ali.id, "Menu", reply_markup=keyboard(("A", "x" * 64)))


async def test_reply_keyboard_button_is_sent_as_text(ali: Persona, bot: Bot) -> None:
    await ali.send("/start")
    (start,) = await bot.get_updates()
    menu = ReplyKeyboardMarkup(keyboard=[[KeyboardButton(text="Sell"), KeyboardButton(text="Buy")]])
    sent = await bot.send_message(ali.id, "What now?", reply_markup=menu)
    assert sent.reply_markup is None  # a Message only ever carries an inline keyboard
    assert (await ali.last_bot_message())["keyboard"]["keyboard"][0][1]["text"] == "Buy"

    pressed = await ali.press("Sell")
    assert pressed["message"]["text"] == "Sell"
    (update,) = await next_updates(bot, start.update_id)
    assert update.message.text == "Sell"

    await bot.send_message(ali.id, "Removed", reply_markup=ReplyKeyboardRemove())
    with pytest.raises(SandboxError, match="no button"):
        await ali.press("Buy")


async def test_delete_message(ali: Persona, bot: Bot) -> None:
    await ali.send("/start")
    sent = await bot.send_message(ali.id, "Temporary")
    assert await bot.delete_message(ali.id, sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(ali.id, sent.message_id)
    (kept,) = [m for m in await ali.chat() if m["message_id"] == sent.message_id]
    assert kept["deleted"] is True and kept["text"] == "Temporary"
    assert await ali.bot_messages() == []


async def test_parse_modes(ali: Persona, bot: Bot) -> None:
    await ali.send("/start")
    html = await bot.send_message(
        ali.id, "<b>Narx:</b> 5 &lt; 7 <a href='https://t.me'>link</a>", parse_mode="HTML"
    )
    assert html.text == "Narx: 5 < 7 link"
    assert [(e.type, e.offset, e.length) for e in html.entities] == [("bold", 0, 5), ("text_link", 12, 4)]
    md = await bot.send_message(ali.id, "*Narx:* 5\\.00", parse_mode="MarkdownV2")
    assert md.text == "Narx: 5.00" and md.entities[0].type == "bold"
    with pytest.raises(TelegramBadRequest, match=r"can't parse entities: Character '\.' is reserved"):
        await bot.send_message(ali.id, "Narx: 5.00", parse_mode="MarkdownV2")
    with pytest.raises(TelegramBadRequest, match='Unsupported start tag "br"'):
        await bot.send_message(ali.id, "line<br>line", parse_mode="HTML")


async def test_chat_errors(sandbox: Sandbox, ali: Persona, bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(424242, "hi")
    with pytest.raises(TelegramForbiddenError, match="bot can't initiate conversation with a user"):
        await bot.send_message(ali.id, "hi")  # Ali never wrote to the bot
    await ali.send("/start")
    chat = await bot.get_chat(ali.id)
    assert (chat.id, chat.type, chat.first_name, chat.username) == (ali.id, "private", "Ali", "ali")
    assert await bot.send_chat_action(ali.id, "typing")
    assert (await ali.chat_state())["chat_action"] == "typing"


async def test_commands(bot: Bot) -> None:
    assert await bot.get_my_commands() == []
    commands = [
        BotCommand(command="start", description="Start"),
        BotCommand(command="sell", description="Sell"),
    ]
    assert await bot.set_my_commands(commands)
    assert [c.command for c in await bot.get_my_commands()] == ["start", "sell"]
    assert await bot.get_my_commands(language_code="uz") == []
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Bad Command", description="x")])
    assert await bot.delete_my_commands()
    assert await bot.get_my_commands() == []


async def test_block_and_unblock(ali: Persona, bot: Bot) -> None:
    await ali.send("/start")
    (start,) = await bot.get_updates()
    await ali.block()
    (update,) = await next_updates(bot, start.update_id)
    change = update.my_chat_member
    assert (change.old_chat_member.status, change.new_chat_member.status) == ("member", "kicked")
    assert change.from_user.id == ali.id and change.new_chat_member.user.id == BOT_ID
    with pytest.raises(TelegramForbiddenError, match="Forbidden: bot was blocked by the user"):
        await bot.send_message(ali.id, "Are you there?")
    with pytest.raises(SandboxError, match="blocked"):
        await ali.send("hello")

    await ali.unblock()
    (update,) = await next_updates(bot, update.update_id)
    assert update.my_chat_member.new_chat_member.status == "member"
    assert await bot.send_message(ali.id, "Welcome back")


# ---------------------------------------------------------------- raw HTTP


async def test_unknown_method_and_bad_token(base: str, bot: Bot, http: aiohttp.ClientSession) -> None:
    assert await raw(http, "POST", f"{base}/bot{TOKEN}/sendTelepathy") == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found"},
    )
    for token in ("not-a-token", "123:short", f"{BOT_ID}:AAH-a_different_secret_0123456789abcdef"):
        assert await raw(http, "GET", f"{base}/bot{token}/getMe") == (
            401,
            {"ok": False, "error_code": 401, "description": "Unauthorized"},
        )
    assert (await raw(http, "GET", f"{base}/file/bot{TOKEN}/photos/file_1.jpg"))[0] == 404


async def test_missing_or_ill_typed_parameters(base: str, bot: Bot, http: aiohttp.ClientSession) -> None:
    url = f"{base}/bot{TOKEN}"
    cases = [
        ("sendMessage", {"text": "hi"}, "Bad Request: chat_id is empty"),
        ("sendMessage", {"chat_id": 1}, "Bad Request: message text is empty"),
        ("setMyCommands", {}, 'Bad Request: parameter "commands" is required'),
        ("getUpdates", {"limit": "many"}, 'Bad Request: invalid parameter "limit": expected Integer'),
        (
            "sendMessage",
            {"chat_id": 1, "text": "x", "reply_markup": "{nope"},
            "Bad Request: can't parse reply keyboard markup",
        ),
    ]
    for name, params, description in cases:
        status, body = await raw(http, "POST", f"{url}/{name}", data=params)
        assert (status, body["ok"], body["error_code"]) == (400, False, 400), (name, body)
        assert body["description"].startswith(description), body


async def test_json_form_multipart_and_get_bodies_all_work(
    base: str, world: World, ali: Persona, bot: Bot, http: aiohttp.ClientSession
) -> None:
    world.limits.enabled = False  # four messages in a row to one user: not what this test is about
    await ali.send("/start")
    url = f"{base}/bot{TOKEN}"
    markup = '{"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}'
    form = aiohttp.FormData({"chat_id": str(ali.id), "text": "multipart", "reply_markup": markup})
    form.add_field("ignored_file", b"bytes", filename="x.bin")  # forces multipart/form-data
    requests = [
        (
            "POST",
            {
                "json": {
                    "chat_id": ali.id,
                    "text": "json",
                    "reply_markup": {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]},
                }
            },
        ),
        ("POST", {"data": {"chat_id": str(ali.id), "text": "form", "reply_markup": markup}}),
        ("POST", {"data": form}),
        ("GET", {"params": {"chat_id": str(ali.id), "text": "query"}}),
    ]
    for method, kw in requests:
        status, body = await raw(http, method, f"{url}/SENDMESSAGE", **kw)  # names are case-insensitive
        assert status == 200 and body["ok"], body
    texts = [m["text"] for m in await ali.bot_messages()]
    assert texts == ["json", "form", "multipart", "query"]
    assert all(
        m["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "a"
        for m in (await ali.bot_messages())[:3]
    )


# ---------------------------------------------------------------- webhooks


class Receiver:
    """A bot's webhook endpoint that fails first, then answers with a method to run."""

    def __init__(self, chat_id: int, failures: int = 1):
        self.chat_id = chat_id
        self.failures = failures
        self.calls: list[tuple[str | None, dict[str, Any]]] = []
        self.arrived = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        self.calls.append((request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json()))
        self.arrived.set()
        if len(self.calls) <= self.failures:
            return web.Response(status=500)
        return web.json_response({"method": "sendMessage", "chat_id": self.chat_id, "text": "pong"})


async def test_webhook_blocks_get_updates(bot: Bot) -> None:
    assert await bot.set_webhook("https://bot.example/hook")
    with pytest.raises(TelegramConflictError, match="can't use getUpdates method while webhook is active"):
        await bot.get_updates()
    assert (await bot.get_webhook_info()).url == "https://bot.example/hook"
    assert await bot.delete_webhook()
    assert await bot.get_updates() == []


async def test_webhook_delivery_retries_and_runs_the_method_in_the_reply(
    aiohttp_server: Any, ali: Persona, bot: Bot
) -> None:
    receiver = Receiver(ali.id)
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    server = await aiohttp_server(app)
    await bot.set_webhook(str(server.make_url("/hook")), secret_token="s3cret-Token_1")

    await ali.send("ping")
    reply = await ali.wait_for_bot("pong", timeout=5)
    assert reply["text"] == "pong"
    assert len(receiver.calls) == 2  # a 500, then the same update again
    (h1, first), (h2, second) = receiver.calls
    assert h1 == h2 == "s3cret-Token_1"
    assert first == second and first["message"]["text"] == "ping"
    info = await bot.get_webhook_info()
    assert info.pending_update_count == 0 and "500" in info.last_error_message
    await bot.delete_webhook()


async def test_webhook_to_a_real_aiogram_dispatcher(aiohttp_server: Any, ali: Persona, bot: Bot) -> None:
    """aiogram answers a webhook with a multipart method body; the sandbox executes it."""
    router = Router()

    @router.message(CommandStart())
    async def start(message: Message) -> Any:
        return message.answer("Welcome to Bozor")  # returned, not awaited: the webhook reply

    dp = Dispatcher()
    dp.include_router(router)
    app = web.Application()
    SimpleRequestHandler(dp, bot, secret_token="hook-secret").register(app, path="/tg")
    server = await aiohttp_server(app)
    await bot.set_webhook(str(server.make_url("/tg")), secret_token="hook-secret")
    await ali.send("/start")
    assert (await ali.wait_for_bot("Welcome"))["text"] == "Welcome to Bozor"
    await bot.delete_webhook()


# ---------------------------------------------------------------- end to end with polling


async def test_polling_bot_end_to_end(sandbox: Sandbox, base: str) -> None:
    """A real aiogram Dispatcher polls the sandbox; a persona chats with it."""
    router = Router()

    @router.message(CommandStart())
    async def start(message: Message) -> None:
        await message.answer("Menu", reply_markup=keyboard(("Language", "lang")))

    @router.callback_query(F.data == "lang")
    async def language(query: CallbackQuery) -> None:
        await query.message.edit_text("Tilni tanlang", reply_markup=keyboard(("O'zbek", "uz")))
        await query.answer()

    dp = Dispatcher()
    dp.include_router(router)
    polling_bot = make_bot(base, OTHER_TOKEN)
    task = asyncio.create_task(dp.start_polling(polling_bot, handle_signals=False, polling_timeout=1))
    try:
        await polling_bot.get_me()
        seller = await sandbox.user("Vali", bot_id=7002)
        await seller.send("/start")
        menu = await seller.wait_for_bot(lambda m: "Menu" in m.get("text", ""), timeout=5)
        await seller.press("Language")
        edited = await seller.wait_for_bot("Tilni", timeout=5)
        assert edited["message_id"] == menu["message_id"]
        pressed = await seller.press("O'zbek")
        assert pressed["callback_query_id"]
        with pytest.raises(AssertionError, match="Tilni tanlang"):  # the transcript lists the chat
            await seller.wait_for_bot("never sent", timeout=0.3)
    finally:
        await dp.stop_polling()
        await asyncio.wait_for(task, 5)
        await polling_bot.session.close()


# ---------------------------------------------------------------- user API and in-process use


async def test_user_api_errors_are_clear(
    sandbox: Sandbox, ali: Persona, base: str, http: aiohttp.ClientSession
) -> None:
    with pytest.raises(SandboxError, match="no button with text 'Nope'") as e:
        await ali.press("Nope")
    assert e.value.status == 404
    with pytest.raises(SandboxError, match="no user with id 5") as e:
        await sandbox.request("POST", "/users/5/send", json={"text": "hi"})
    assert e.value.status == 404
    status, body = await raw(http, "POST", f"{base}/api/users", data=b"[not json")
    assert status == 400 and "error" in body
    await sandbox.add_bot(OTHER_TOKEN)
    with pytest.raises(SandboxError, match="bot_id is required: 2 bots exist") as e:
        await ali.send("hi")
    assert e.value.status == 400
    assert {b["id"] for b in await sandbox.bots()} == {BOT_ID, 7002}


async def test_chat_long_poll_wakes_on_a_bot_message(ali: Persona, bot: Bot) -> None:
    await ali.send("/start")
    state = await ali.chat_state()
    waiting = asyncio.create_task(ali.chat_state(after_event=state["event"], wait=10))
    await asyncio.sleep(0.1)
    await bot.send_message(ali.id, "Hi")
    newer = await asyncio.wait_for(waiting, 2)
    assert newer["event"] > state["event"] and newer["messages"][-1]["text"] == "Hi"


async def test_in_process_world_and_listener(world: World, ali: Persona, bot: Bot) -> None:
    seen: list[tuple[str, int, int, str]] = []
    world.listeners.append(
        lambda event, bot_id, chat_id, msg: seen.append((event, bot_id, chat_id, msg["text"]))
    )
    world.user_sends_text(BOT_ID, ali.id, "/start")
    (update,) = await bot.get_updates()
    sent = await bot.send_message(update.message.chat.id, "Salom")
    await bot.edit_message_text("Salom!", chat_id=ali.id, message_id=sent.message_id)
    assert seen == [("send", BOT_ID, ali.id, "Salom"), ("edit", BOT_ID, ali.id, "Salom!")]


async def test_standalone_at_root(aiohttp_server: Any) -> None:
    world = World()
    server = await aiohttp_server(make_sandbox_app(world, validate=True))
    b = make_bot(str(server.make_url("")))
    try:
        assert (await b.get_me()).id == BOT_ID
    finally:
        await b.session.close()
    assert world.spec_violations == []


# ---------------------------------------------------------------- the spec checker itself


def test_check_object_catches_what_aiogram_would_let_through() -> None:
    user = {"id": 1, "is_bot": False, "first_name": "A"}
    chat = {"id": 1, "type": "private"}
    good = {"message_id": 1, "date": 1_700_000_000, "chat": chat, "from": user, "text": "x"}
    assert spec.check_object("Message", good) == []
    assert spec.check_object("Message", {**good, "date": 1.7e12})  # a float date
    assert spec.check_object("Message", {**good, "from": {**user, "is_bot": 0}})  # int, not bool
    assert spec.check_object("Message", {**good, "mood": "happy"})  # unknown field
    assert spec.check_object("Message", {k: v for k, v in good.items() if k != "chat"})
    assert spec.check_object("Update", {"update_id": 1, "message": good}) == []
    banned = {"status": "kicked", "user": user}
    assert "until_date" in spec.check_object("ChatMember", banned)[0]
    assert spec.check_object("ChatMember", {**banned, "until_date": 0}) == []
    assert spec.check_result("editMessageText", True) == []
    assert spec.check_result("editMessageText", good) == []
    assert spec.check_object("Array of BotCommand", [{"command": "start"}])


def test_check_params_accepts_form_strings_and_decoded_objects() -> None:
    markup = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    assert spec.check_params("sendMessage", {"chat_id": "12", "text": "x", "reply_markup": markup}) is None
    assert (
        spec.check_params("sendMessage", {"chat_id": 12, "text": "x", "disable_notification": "true"}) is None
    )
    assert spec.check_params("sendMessage", {"chat_id": "@channel", "text": "x"}) is None
    typed, error = spec.coerce_params("getUpdates", {"offset": "-3", "allowed_updates": '["message"]'})
    assert error is None and typed == {"offset": -3, "allowed_updates": ["message"]}
    bad_button = {"inline_keyboard": [[{"callback_data": "a"}]]}
    assert "text" in spec.check_params("sendMessage", {"chat_id": 1, "text": "x", "reply_markup": bad_button})
    assert spec.check_params("sendMessage", {"chat_id": 1, "text": "x", "disable_notification": "maybe"})
