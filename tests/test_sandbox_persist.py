"""The sandbox world on disk: chats, posts, files, ids and settings survive a restart or a crash."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot
from aiogram.types import BotCommand, BufferedInputFile
from aiohttp import web

from app.config import Config
from app.main import Bozor
from app.sandbox.app import make_sandbox_app
from app.sandbox.demo_world import DEMO_CHANNEL_ID, PERSONAS
from app.sandbox.driver import Sandbox
from app.sandbox.world import World
from tests.helpers.sandbox import BOT_ID, jpeg, keyboard, make_bot


class Running:
    """A standalone sandbox on a file, started and stopped like a process would be."""

    def __init__(self, aiohttp_server: Any, path: Path):
        self.aiohttp_server = aiohttp_server
        self.path = path
        self.server: Any = None
        self.world: World | None = None

    async def start(self) -> str:
        self.world = World(path=self.path)
        root = web.Application()
        root.add_subapp("/sandbox", make_sandbox_app(self.world, validate=True))
        self.server = await self.aiohttp_server(root)
        return str(self.server.make_url("/sandbox"))

    async def stop(self) -> None:
        await self.server.close()
        assert self.world is not None and self.world.spec_violations == []


@pytest.fixture
async def running(aiohttp_server: Any, tmp_path: Path) -> AsyncIterator[Running]:
    run = Running(aiohttp_server, tmp_path / "sandbox.sqlite3")
    yield run


async def test_chats_posts_files_ids_and_settings_survive_a_restart(running: Running) -> None:
    base = await running.start()
    bot = make_bot(base)
    await bot.get_me()
    async with Sandbox(base) as sandbox:
        ali = await sandbox.user("Ali", username="ali")
        channel = await sandbox.channel("Bozor", username="bozor_x", admins=[ali])
        await ali.send("/start")
        menu = await bot.send_message(ali.id, "Menu", reply_markup=keyboard(("Buy", "buy")))
        post = await bot.send_photo(
            channel.id, BufferedInputFile(jpeg(400, 300), "p.jpg"), caption="Velosiped"
        )
        await bot.set_my_commands([BotCommand(command="sell", description="Sell")])
        await ali.send("unread")  # an update the bot has not fetched yet
    await bot.session.close()
    await running.stop()

    base = await running.start()
    bot = make_bot(base)
    try:
        async with Sandbox(base) as sandbox:
            assert [c["username"] for c in await sandbox.chats()] == ["bozor_x"]
            ali = await sandbox.user("Ali", id=ali.id)
            assert [m["text"] for m in await ali.chat()][:2] == ["/start", "Menu"]
            pressed = await ali.press("Buy")  # the old message's button still works
            assert pressed["callback_query_id"]
            edited = await bot.edit_message_caption(
                chat_id=channel.id, message_id=post.message_id, caption="SOLD"
            )
            assert edited.caption == "SOLD" and edited.photo == post.photo
            newer = await bot.send_message(channel.id, "Next ad")
            assert newer.message_id == post.message_id + 1  # ids go on, never reused
            file = await bot.get_file(post.photo[-1].file_id)
            assert len((await bot.download_file(file.file_path)).read()) == post.photo[-1].file_size
            assert [c.command for c in await bot.get_my_commands()] == ["sell"]
            texts = [u.message.text for u in await bot.get_updates() if u.message]
            assert texts[:2] == ["/start", "unread"]  # nothing confirmed was lost
            again = await bot.send_message(ali.id, "Welcome back")
            assert again.message_id == menu.message_id + 2  # after "unread" and nothing else
    finally:
        await bot.session.close()
        await running.stop()


async def test_a_crash_loses_nothing_a_request_was_answered_for(running: Running) -> None:
    base = await running.start()
    bot = make_bot(base)
    try:
        await bot.get_me()
        async with Sandbox(base) as sandbox:
            ali = await sandbox.user("Ali")
            await ali.send("/start")
            sent = await bot.send_message(ali.id, "Saved at once")
        crashed = World(path=running.path)  # read while the first one still runs: no close, no final save
        dialog = crashed.dialogs[(BOT_ID, ali.id)]
        assert dialog.find(sent.message_id)["text"] == "Saved at once"
        assert dialog.next_message_id == sent.message_id + 1
        crashed.store.close()
    finally:
        await bot.session.close()
        await running.stop()


async def test_bozor_restarted_in_sandbox_mode_edits_a_post_made_before(
    make_config: Callable[..., Config], tmp_path: Path
) -> None:
    config = make_config()  # no BOT_TOKEN: sandbox mode, the world in DATA_DIR
    first = Bozor(config)
    await first.start()
    try:
        post = await first.bot.send_message(DEMO_CHANNEL_ID, "Velosiped, 500 000 so'm")
    finally:
        await first.stop()
    assert (config.data_dir / "sandbox.sqlite3").exists()

    second = Bozor(config)
    await second.start()
    try:
        bot: Bot = second.bot
        edited = await bot.edit_message_text(
            "SOTILDI — Velosiped", chat_id=DEMO_CHANNEL_ID, message_id=post.message_id
        )
        assert edited.message_id == post.message_id and edited.edit_date
        newer = await bot.send_message(DEMO_CHANNEL_ID, "Next")
        assert newer.message_id == post.message_id + 1
        async with Sandbox(f"{config.base_url}/sandbox") as sandbox:
            seller = await sandbox.user(PERSONAS[0].first_name, id=PERSONAS[0].id)
            greetings = [m for m in await seller.bot_messages() if "Sardor" in m.get("text", "")]
            assert len(greetings) == 1  # the demo's /start was not sent again
    finally:
        await second.stop()
