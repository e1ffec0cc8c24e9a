"""The sandbox's browser client in real headless Chromium, against a real aiogram bot.

One Chromium per module (Debian's, driven by Playwright); each test gets a fresh sandbox
served by pytest-aiohttp, mounted at /sandbox as Bozor's web server mounts it, with a small
aiogram bot long-polling it, and a fresh browser context.
"""

from __future__ import annotations

import asyncio
import os
import re
import struct
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.filters import CommandObject, CommandStart
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    KeyboardButton,
    Message,
    MessageReactionUpdated,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from aiohttp import web

from app.sandbox.app import make_sandbox_app
from app.sandbox.world import World

playwright_api = pytest.importorskip("playwright.async_api")
expect = playwright_api.expect

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
TOKEN = "7301:AAH-browser_test_token_0123456789abcdef"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
SCREENSHOT = "/tmp/sandbox-phone.png"

# The browser lives for the module, so every test shares the module's event loop with it.
pytestmark = [
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no {CHROMIUM}: apt-get install chromium"),
]
expect.set_options(timeout=5000)


class FastSession(AiohttpSession):
    """aiogram's session minus the 0.25 s grace sleep in close()."""

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


def shop_router() -> Router:
    """The bot under test: a menu, an edit, a deletion, a contact request and an echo."""
    router = Router()

    @router.message(CommandStart(deep_link=True))
    async def deep_link(message: Message, command: CommandObject) -> None:
        await message.answer(f"Deep link: {command.args}")

    @router.message(CommandStart())
    async def start(message: Message) -> None:
        menu = InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    InlineKeyboardButton(text="Menu A", callback_data="a"),
                    InlineKeyboardButton(text="Menu B", callback_data="b"),
                ]
            ]
        )
        await message.answer("Choose a menu", reply_markup=menu)
        phone = ReplyKeyboardMarkup(
            keyboard=[[KeyboardButton(text="Share my phone", request_contact=True)]],
            resize_keyboard=True,
            one_time_keyboard=True,
        )
        await message.answer("Share your phone to sign up", reply_markup=phone)

    @router.callback_query(F.data == "a")
    async def menu_a(query: CallbackQuery) -> None:
        await query.message.edit_text("You chose A")
        await query.answer("ok")

    @router.callback_query(F.data == "b")
    async def menu_b(query: CallbackQuery) -> None:
        await query.message.delete()
        await query.answer("Menu closed", show_alert=True)

    @router.edited_message(F.text)
    async def edited(message: Message) -> None:
        await message.answer(f"Edited to: {message.text}")

    @router.message_reaction()
    async def reacted(update: MessageReactionUpdated, bot: Bot) -> None:
        emoji = "".join(r.emoji for r in update.new_reaction if r.type == "emoji")
        await bot.send_message(update.chat.id, f"Reaction: {emoji or 'none'}")

    @router.message(F.contact)
    async def contact(message: Message) -> None:
        await message.answer(f"Thanks, {message.contact.phone_number}", reply_markup=ReplyKeyboardRemove())

    @router.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(f"You said: {message.text}")

    return router


@dataclass
class Env:
    url: str
    world: World
    bot: Bot
    page: Any
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Any]:
    async with playwright_api.async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        await chromium.close()


@dataclass
class Sandbox:
    url: str  # the page: the sandbox sub-app's root, /sandbox/
    world: World
    bot: Bot


@pytest_asyncio.fixture(loop_scope="module")
async def sandbox(aiohttp_server: Any) -> AsyncIterator[Sandbox]:
    """The sandbox with the client's routes, under /sandbox of a parent app, and a polling bot."""
    world = World()
    sandbox_app = make_sandbox_app(world, validate=True)
    root = web.Application()
    root.add_subapp("/sandbox", sandbox_app)
    server = await aiohttp_server(root)
    base = str(server.make_url("/sandbox"))

    bot = Bot(TOKEN, session=FastSession(api=TelegramAPIServer.from_base(base)))
    dp = Dispatcher()
    dp.include_router(shop_router())
    await bot.get_me()  # the bot exists from its first call on, as in Telegram
    polling = asyncio.create_task(dp.start_polling(bot, handle_signals=False, polling_timeout=1))
    try:
        yield Sandbox(base + "/", world, bot)
    finally:
        await dp.stop_polling()
        await asyncio.wait_for(polling, 5)
        await bot.session.close()
        # Closed here, on the module's loop that served it (aiohttp_server's own teardown
        # runs on the function loop and then finds it closed).
        await server.close()
    assert world.spec_violations == []


async def open_page(browser: Any, sandbox: Sandbox, viewport: dict[str, int]) -> Env:
    context = await browser.new_context(viewport=viewport)
    page = await context.new_page()
    env = Env(sandbox.url, sandbox.world, sandbox.bot, page)

    async def on_dialog(dialog: Any) -> None:
        env.dialogs.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda error: env.errors.append(str(error)))
    await page.goto(sandbox.url)
    return env


@pytest_asyncio.fixture(loop_scope="module")
async def desktop(browser: Any, sandbox: Sandbox) -> AsyncIterator[Env]:
    env = await open_page(browser, sandbox, DESKTOP)
    yield env
    await env.page.context.close()
    assert env.errors == [], "the page threw"


@pytest_asyncio.fixture(loop_scope="module")
async def phone(browser: Any, sandbox: Sandbox) -> AsyncIterator[Env]:
    env = await open_page(browser, sandbox, PHONE)
    yield env
    await env.page.context.close()
    assert env.errors == [], "the page threw"


async def create_persona(page: Any, first_name: str, language: str = "uz", username: str = "") -> None:
    form = page.locator("#persona-form")
    await form.locator("input[name=first_name]").fill(first_name)
    await form.locator("input[name=username]").fill(username)
    await form.locator("select[name=language_code]").select_option(language)
    await form.get_by_role("button", name="Create").click()
    await expect(page.locator("#head-sub")).to_contain_text(first_name)


async def send(page: Any, text: str) -> None:
    box = page.locator("#text")
    await expect(box).to_be_enabled()
    await box.fill(text)
    await box.press("Enter")


def bot_message(page: Any, text: str) -> Any:
    return page.locator("#messages .msg.in", has_text=text)


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A real one-colour PNG."""
    raw = zlib.compress((b"\x00" + bytes(rgb) * width) * height)

    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


async def call(env: Env, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    """The sandbox's user API, as the page sees it (path relative to the page)."""
    async with aiohttp.ClientSession() as http, http.request(method, env.url + path, **kwargs) as resp:
        return resp.status, await resp.json(content_type=None) if resp.content_type.endswith("json") else None


async def photos_loaded(locator: Any) -> list[int]:
    """naturalWidth of each image: 0 for one the browser could not load."""
    return await locator.evaluate_all("imgs => imgs.map(i => i.complete ? i.naturalWidth : 0)")


# ---------------------------------------------------------------- the tests


async def test_start_menu_press_and_live_edit(desktop: Env) -> None:
    page = desktop.page
    await create_persona(page, "Ali", "uz", "ali_uz")
    await send(page, "/start")
    menu = bot_message(page, "Choose a menu")
    await expect(menu).to_be_visible()
    await expect(page.locator("#messages .msg.out", has_text="/start")).to_be_visible()
    # The reply keyboard sits above the input.
    await expect(page.locator("#reply-keyboard").get_by_role("button", name="Share my phone")).to_be_visible()
    element = await menu.element_handle()
    message_id = await element.get_attribute("data-mid")

    await menu.get_by_role("button", name="Menu A").click()
    await expect(page.locator("#toast")).to_have_text("ok")  # the callback answer, as a toast
    await page.wait_for_function("el => el.textContent.includes('You chose A')", arg=element)
    # The very element on screen changed: no reload, no re-render of the chat.
    assert await element.evaluate("el => el.isConnected")
    assert await element.get_attribute("data-mid") == message_id
    await expect(bot_message(page, "You chose A")).to_contain_text("edited")
    await expect(page.locator("#messages").get_by_role("button", name="Menu A")).to_have_count(0)
    assert await page.locator("#messages .msg", has_text="Choose a menu").count() == 0


async def test_switching_persona_shows_that_personas_chat(desktop: Env) -> None:
    page = desktop.page
    await create_persona(page, "Oʻlmas", "uz")
    await send(page, "Salom, qalaysiz? Oʻzbekiston")
    await expect(bot_message(page, "You said: Salom, qalaysiz? Oʻzbekiston")).to_be_visible()

    await create_persona(page, "Борис", "ru")
    await expect(page.locator("#messages")).not_to_contain_text("Salom")
    await send(page, "Привет, как дела?")
    await expect(bot_message(page, "You said: Привет, как дела?")).to_be_visible()

    await page.locator("#persona-list button", has_text="Oʻlmas").click()
    await expect(bot_message(page, "You said: Salom, qalaysiz? Oʻzbekiston")).to_be_visible()
    await expect(page.locator("#messages")).not_to_contain_text("Привет")

    await page.locator("#persona-list button", has_text="Борис").click()
    await expect(bot_message(page, "You said: Привет, как дела?")).to_be_visible()
    await expect(page.locator("#messages")).not_to_contain_text("Salom")


async def test_phone_screen_chat_and_input_are_usable(phone: Env) -> None:
    page = phone.page
    await create_persona(page, "Dilnoza", "uz", "dilnoza")
    send_button = page.get_by_role("button", name="Send")
    await expect(send_button).to_be_visible()
    box = await send_button.bounding_box()
    assert box is not None
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"]

    await send(page, "/start")
    await expect(bot_message(page, "Choose a menu")).to_be_visible()
    await expect(page.locator("#reply-keyboard").get_by_role("button", name="Share my phone")).to_be_visible()
    await send(page, "Bugun bozorda nima bor? Uzun xabar: " + "olma, anor, uzum, " * 12)
    await expect(bot_message(page, "Bugun bozorda")).to_be_visible()
    widths = await page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
    assert widths[0] <= widths[1], f"horizontal scroll on a phone: {widths}"
    await expect(send_button).to_be_in_viewport()
    await page.screenshot(path=SCREENSHOT)

    # The back button leads to the persona list, which fits the screen too.
    await page.get_by_role("button", name="Back to the list").click()
    await expect(page.locator("#persona-list")).to_contain_text("Dilnoza")
    await expect(page.locator("#send")).to_be_hidden()


async def test_markup_in_a_message_is_shown_as_text(desktop: Env) -> None:
    page = desktop.page
    evil = "<script>alert(1)</script>"
    await create_persona(page, "<b>Mallory</b>", "en")
    await send(page, evil)
    await expect(page.locator("#messages .msg.out .text", has_text=evil)).to_be_visible()
    await expect(bot_message(page, f"You said: {evil}")).to_be_visible()
    await expect(page.locator("#persona-list")).to_contain_text("<b>Mallory</b>")
    assert await page.locator("#messages script, #messages b, #persona-list b").count() == 0
    await page.wait_for_timeout(200)  # give an injected script its chance to run
    assert desktop.dialogs == []


async def test_a_deletion_by_the_bot_disappears_live(desktop: Env) -> None:
    page = desktop.page
    await create_persona(page, "Kamola", "uz")
    await send(page, "/start")
    menu = bot_message(page, "Choose a menu")
    await expect(menu).to_be_visible()
    element = await menu.element_handle()

    await menu.get_by_role("button", name="Menu B").click()  # the bot deletes the menu
    await page.wait_for_function("el => !el.isConnected", arg=element)
    await expect(page.locator("#messages")).not_to_contain_text("Choose a menu")
    await expect(bot_message(page, "Share your phone")).to_be_visible()
    # show_alert answers come as a modal, not as a browser alert().
    await expect(page.locator("#modal")).to_be_visible()
    await expect(page.locator("#modal-text")).to_have_text("Menu closed")
    await page.get_by_role("button", name="OK").click()
    await expect(page.locator("#modal")).to_be_hidden()
    assert desktop.dialogs == []


async def test_contact_button_shares_a_phone_number(desktop: Env) -> None:
    page = desktop.page
    await create_persona(page, "Shahlo", "uz")
    await send(page, "/start")
    await page.locator("#reply-keyboard").get_by_role("button", name="Share my phone").click()
    await expect(page.locator("#messages .msg.out", has_text="+99890")).to_be_visible()
    await expect(bot_message(page, "Thanks, +99890")).to_be_visible()
    await expect(page.locator("#reply-keyboard")).to_be_hidden()  # ReplyKeyboardRemove


async def test_a_user_edits_a_message_and_reacts_in_the_client(desktop: Env) -> None:
    page = desktop.page
    await create_persona(page, "Nodira", "uz")
    await send(page, "Salom")
    await expect(bot_message(page, "You said: Salom")).to_be_visible()
    mine = page.locator("#messages .msg.out", has_text="Salom")
    await mine.hover()
    await mine.get_by_role("button", name="Edit").click()
    await expect(page.locator("#edit-bar")).to_be_visible()
    await page.locator("#text").fill("Salom, dunyo")
    await page.locator("#text").press("Enter")
    await expect(bot_message(page, "Edited to: Salom, dunyo")).to_be_visible()  # edited_message
    await expect(page.locator("#messages .msg.out", has_text="Salom, dunyo")).to_contain_text("edited")

    answer = bot_message(page, "You said: Salom")
    await answer.hover()
    await answer.get_by_role("button", name="React", exact=True).click()
    await answer.get_by_role("button", name="React 👍").click()
    await expect(answer.locator(".chip.mine")).to_have_text("👍 1")
    await expect(bot_message(page, "Reaction: 👍")).to_be_visible()  # message_reaction reached the bot


async def test_a_one_time_keyboard_folds_away_after_use(desktop: Env) -> None:
    page = desktop.page
    desktop.world.limits.enabled = False  # /start's two answers, ours and the echo: a burst
    await create_persona(page, "Sevara", "uz")
    await send(page, "/start")
    # /start's own reply keyboard first: arriving after ours, it would replace it (as in Telegram)
    await expect(bot_message(page, "Share your phone to sign up")).to_be_visible()
    user_id = next(u for u in desktop.world.users.values() if u.first_name == "Sevara").id
    once = ReplyKeyboardMarkup(keyboard=[[KeyboardButton(text="Ha")]], one_time_keyboard=True)
    await desktop.bot.send_message(user_id, "Rozimisiz?", reply_markup=once)
    keyboard = page.locator("#reply-keyboard")
    await keyboard.get_by_role("button", name="Ha").click()
    await expect(bot_message(page, "You said: Ha")).to_be_visible()
    await expect(keyboard).to_be_hidden()
    await page.reload()  # the server remembers it was used: it stays folded
    await page.locator("#persona-list button", has_text="Sevara").click()
    await expect(bot_message(page, "You said: Ha")).to_be_visible()
    await expect(keyboard).to_be_hidden()
    await page.locator("#kb-toggle").click()  # and the user can reopen it, as in Telegram
    await expect(keyboard.get_by_role("button", name="Ha")).to_be_visible()


async def test_photos_from_the_file_picker_one_and_an_album(desktop: Env) -> None:
    page = desktop.page
    await create_persona(page, "Jasur", "uz")
    await send(page, "/start")
    await expect(bot_message(page, "Choose a menu")).to_be_visible()
    pictures = [
        {"name": f"{i}.png", "mimeType": "image/png", "buffer": png(60, 40, rgb)}
        for i, rgb in enumerate([(220, 80, 60), (60, 120, 220), (90, 180, 90)])
    ]
    await page.set_input_files("#file-input", pictures)
    await expect(page.locator("#attach-preview")).to_contain_text("3 photos")
    await send(page, "Uchta rasm — три фото")
    album = page.locator("#messages .msg.out.album")
    await expect(album).to_contain_text("Uchta rasm — три фото")
    await expect(album.locator("img.photo")).to_have_count(3)
    await page.set_input_files("#file-input", pictures[:1])
    await page.get_by_role("button", name="Send").click()
    single = page.locator("#messages .msg.out:not(.album) img.photo")
    await expect(single).to_have_count(1)
    await page.wait_for_function(
        "() => [...document.querySelectorAll('#messages img.photo')].every(i => i.complete && i.naturalWidth)"
    )
    assert all(await photos_loaded(page.locator("#messages img.photo")))


async def test_channel_posts_albums_edits_deletions_and_members(desktop: Env) -> None:
    page, bot = desktop.page, desktop.bot
    status, channel = await call(
        desktop,
        "POST",
        "api/chats",
        json={"type": "channel", "title": "Bozor eʼlonlari — Объявления", "username": "bozor_ads"},
    )
    assert status == 200, channel
    rights = {"can_post_messages": True, "can_edit_messages": True, "can_delete_messages": True}
    status, member = await call(
        desktop,
        "POST",
        f"api/chats/{channel['id']}/members",
        json={"member_id": bot.id, "status": "administrator", **rights},
    )
    assert status == 200, member
    chat_id = channel["id"]
    await bot.send_message(chat_id, "<b>Welcome</b> &lt;script&gt;", parse_mode="HTML")
    album = await bot.send_media_group(
        chat_id,
        [
            InputMediaPhoto(media=BufferedInputFile(png(64, 48, rgb), f"{i}.png"), caption=caption)
            for i, (rgb, caption) in enumerate(
                [((200, 60, 40), "iPhone 13 — 6 500 000 soʻm"), ((40, 120, 200), None), ((60, 160, 60), None)]
            )
        ],
    )
    price = await bot.send_message(chat_id, "Price: 7 000 000")

    await page.get_by_role("tab", name="Channels").click()
    await page.locator("#channel-list button", has_text="Объявления").click()
    await expect(page.locator("#head-title")).to_have_text("Bozor eʼlonlari — Объявления")
    await expect(page.locator("#composer")).to_be_hidden()  # a channel is read here, not written
    welcome = page.locator("#messages .msg", has_text="Welcome")
    await expect(welcome.locator("strong")).to_have_text("Welcome")
    await expect(welcome).to_contain_text("<script>")
    photos = page.locator("#messages .msg.album img.photo")
    await expect(photos).to_have_count(3)
    await expect(page.locator("#messages .msg.album")).to_contain_text("6 500 000 soʻm")
    post = page.locator("#messages .msg", has_text="Price: 7 000 000")
    element = await post.element_handle()

    await bot.edit_message_text("Sold!", chat_id=chat_id, message_id=price.message_id)
    await bot.edit_message_caption(chat_id=chat_id, message_id=album[0].message_id, caption="SOLD")
    await bot.delete_message(chat_id, album[2].message_id)
    await page.wait_for_function("el => el.textContent.includes('Sold!')", arg=element)
    await expect(page.locator("#messages .msg", has_text="Sold!")).to_contain_text("edited")
    await expect(photos).to_have_count(2)
    await expect(page.locator("#messages .msg.album")).to_contain_text("SOLD")
    await bot.delete_message(chat_id, price.message_id)
    await page.wait_for_function("el => !el.isConnected", arg=element)
    assert all(await photos_loaded(photos))

    await page.get_by_role("button", name="Members").click()
    bot_row = page.locator("#members li", has_text=(await bot.me()).first_name)
    await expect(bot_row).to_contain_text("administrator")


async def test_a_deep_link_in_a_channel_post_opens_the_bots_chat_and_sends_start(desktop: Env) -> None:
    """ "Write to the seller" in a demo ad: a plain-text t.me link, clickable as in Telegram."""
    page, bot = desktop.page, desktop.bot
    username = (await bot.me()).username
    status, channel = await call(desktop, "POST", "api/chats", json={"type": "channel", "title": "E'lonlar"})
    assert status == 200, channel
    rights = {"member_id": bot.id, "status": "administrator", "can_post_messages": True}
    assert (await call(desktop, "POST", f"api/chats/{channel['id']}/members", json=rights))[0] == 200
    await create_persona(page, "Malika", "uz")
    post = f"📢 Velosiped #sport\n✍️ Sotuvchiga yozish: https://t.me/{username}?start=ad_42"
    sent = await bot.send_message(channel["id"], post)
    assert [e.type for e in sent.entities] == ["hashtag", "url"]  # found in plain text

    await page.get_by_role("tab", name="Channels").click()
    await page.locator("#channel-list button", has_text="E'lonlar").click()
    link = page.locator("#messages .msg a", has_text=f"t.me/{username}?start=ad_42")
    await expect(link).to_be_visible()
    await link.click()
    await expect(page.locator("#head-title")).to_have_text((await bot.me()).first_name)
    await expect(page.locator("#messages .msg.out", has_text="/start ad_42")).to_be_visible()
    await expect(bot_message(page, "Deep link: ad_42")).to_be_visible()  # the bot got the payload

    # A URL button to the bot does the same.
    button = InlineKeyboardButton(text="Yozish", url=f"https://t.me/{username}?start=btn_7")
    user_id = next(u for u in desktop.world.users.values() if u.first_name == "Malika").id
    await bot.send_message(user_id, "Sotuvchi", reply_markup=InlineKeyboardMarkup(inline_keyboard=[[button]]))
    await page.locator("#messages .ikb-btn", has_text="Yozish").click()
    await expect(bot_message(page, "Deep link: btn_7")).to_be_visible()


def persona_id(env: Env, first_name: str) -> int:
    return next(u for u in env.world.users.values() if u.first_name == first_name).id


async def start_bot(env: Env) -> None:
    """A bot writes only to someone who started it, as in Telegram. Telegram's 1 message/s per
    chat is not these tests' subject."""
    env.world.limits.enabled = False
    page = env.page
    await send(page, "/start")
    await expect(bot_message(page, "Choose a menu")).to_be_visible()


async def test_a_command_in_a_bots_message_is_sent_as_the_user_by_a_click(desktop: Env) -> None:
    page, bot = desktop.page, desktop.bot
    await create_persona(page, "Jasur", "uz")
    await start_bot(desktop)
    sent = await bot.send_message(persona_id(desktop, "Jasur"), "Yordam kerakmi? /help ni bosing")
    assert [e.type for e in sent.entities] == ["bot_command"]
    await bot_message(page, "Yordam kerakmi?").locator(".command", has_text="/help").click()
    await expect(page.locator("#messages .msg.out", has_text="/help")).to_be_visible()
    await expect(bot_message(page, "You said: /help")).to_be_visible()  # the bot got it from Jasur


async def test_a_mention_opens_the_bot_or_channel_it_names_and_says_who_a_person_is(desktop: Env) -> None:
    page, bot = desktop.page, desktop.bot
    me = await bot.me()
    ads = {"type": "channel", "title": "Bozor e'lonlari", "username": "bozor_ads"}
    status, channel = await call(desktop, "POST", "api/chats", json=ads)
    assert status == 200, channel
    rights = {"member_id": bot.id, "status": "administrator", "can_post_messages": True}
    assert (await call(desktop, "POST", f"api/chats/{channel['id']}/members", json=rights))[0] == 200
    await create_persona(page, "Kamola", "uz", "kamola_uz")
    await create_persona(page, "Malika", "uz")
    await start_bot(desktop)
    text = "Kanal: @bozor_ads, sotuvchi: @kamola_uz, yo'q: @nobody_here_x"
    sent = await bot.send_message(persona_id(desktop, "Malika"), text)
    assert [e.type for e in sent.entities] == ["mention"] * 3
    await bot.send_message(channel["id"], f"Buyurtma berish: @{me.username}")
    message = bot_message(page, "Kanal:")

    await message.locator("a.mention", has_text="@kamola_uz").click()
    await expect(page.locator("#toast")).to_have_text("@kamola_uz is Kamola")
    await message.locator("a.mention", has_text="@nobody_here_x").click()
    await expect(page.locator("#toast")).to_have_text("@nobody_here_x is not in this sandbox")

    await message.locator("a.mention", has_text="@bozor_ads").click()
    await expect(page.locator("#head-title")).to_have_text("Bozor e'lonlari")
    await expect(page.locator("#composer")).to_be_hidden()
    await page.locator("#messages .msg a.mention", has_text=f"@{me.username}").click()
    await expect(page.locator("#head-title")).to_have_text(me.first_name)
    # As in Telegram, a mention opens the chat without sending /start (a t.me?start link does).
    await send(page, "Salom")
    await expect(bot_message(page, "You said: Salom")).to_be_visible()
    await expect(page.locator("#messages .msg.out")).to_have_text([re.compile("/start"), re.compile("Salom")])


async def test_a_hashtag_shows_only_this_chats_messages_that_carry_it(desktop: Env) -> None:
    page, bot = desktop.page, desktop.bot
    await create_persona(page, "Aziz", "uz")
    await start_bot(desktop)
    user_id = persona_id(desktop, "Aziz")
    for text in ("Velosiped Stels #sport", "Eski divan #uy", "Futbol to'pi #Sport"):
        await bot.send_message(user_id, text)
    divan = bot_message(page, "Eski divan")
    await expect(divan).to_be_visible()

    await bot_message(page, "Futbol").locator("a.hashtag", has_text="#Sport").click()
    await expect(page.locator("#filter-text")).to_have_text("2 messages with #sport")  # in any case
    await expect(divan).to_be_hidden()
    await expect(bot_message(page, "Velosiped")).to_be_visible()
    await page.get_by_role("button", name="Show all").click()
    await expect(page.locator("#filter-bar")).to_be_hidden()
    await expect(divan).to_be_visible()


async def test_other_kinds_show_as_labelled_cards_and_polls_take_votes(desktop: Env) -> None:
    page, bot = desktop.page, desktop.bot
    desktop.world.limits.enabled = False
    await create_persona(page, "Farhod", "uz")
    await send(page, "/start")
    await expect(bot_message(page, "Choose a menu")).to_be_visible()
    user_id = next(u for u in desktop.world.users.values() if u.first_name == "Farhod").id
    await bot.send_video(user_id, BufferedInputFile(b"mp4", "clip.mp4"), duration=7)
    await bot.send_venue(user_id, 41.3, 69.2, "Chorsu bozori", "Toshkent")
    await bot.send_poll(user_id, "Narx qanday?", ["Arzon", "Qimmat"], is_anonymous=False)
    await expect(bot_message(page, "🎬 Video: clip.mp4 · 7 s")).to_be_visible()
    await expect(bot_message(page, "📍 Chorsu bozori")).to_be_visible()
    poll = bot_message(page, "📊 Narx qanday?")
    await poll.get_by_role("button", name="Arzon — 0").click()
    await expect(poll.get_by_role("button", name="Arzon — 1")).to_be_visible()


async def test_the_mount_point_without_a_slash_leads_to_the_page(sandbox: Sandbox) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.get(sandbox.url.rstrip("/"), allow_redirects=False) as resp,
    ):
        assert resp.status == 302
        assert resp.headers["Location"] == "/sandbox/"


async def test_the_page_works_standalone_at_the_root(aiohttp_server: Any) -> None:
    """`python -m app.sandbox` serves the sandbox at /: the page's URLs follow."""
    app = make_sandbox_app(World())
    server = await aiohttp_server(app)
    async with aiohttp.ClientSession() as http:
        async with http.get(server.make_url("/")) as resp:
            assert resp.status == 200
            html = await resp.text()
        assert 'data-base="/"' in html and "/sandbox" not in html
        for asset in ("/static/client.css", "/static/client.js"):
            assert f'"{asset}?v=' in html
            async with http.get(server.make_url(asset)) as resp:
                assert resp.status == 200
        async with http.get(server.make_url("/client/users")) as resp:
            assert await resp.json() == []
    await server.close()
