"""The web chat in headless Chromium: two people chat in real time, a message is never HTML,
and after a server restart the page reconnects with nothing lost and nothing shown twice."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp import web

from app.config import Config
from app.db.pool import create_pool
from app.db.queries.chat import Via
from app.domain.chat import accounts, conversations
from app.domain.users import Languages
from app.main import free_port
from app.storage.disk import DiskStorage
from app.web import keys
from app.web.app import create_web_app
from tests.helpers.ads import SELLER
from tests.helpers.browser import CHROMIUM, CHROMIUM_ARGS, playwright_api
from tests.helpers.chat import ad_for_sale
from tests.helpers.panel import SECRET_KEY, with_ad_messages

expect = playwright_api.expect
pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM), reason=f"no {CHROMIUM}: apt-get install chromium"
)
expect.set_options(timeout=10000)
XSS = "<img src=x onerror=\"document.title='pwned'\"><script>document.title='pwned'</script>"


class Server:
    """The web app on a fixed port, stopped and started again like a restarted process."""

    def __init__(self, config: Config, database_url: str, media: Path) -> None:
        self.config, self.database_url, self.media = config, database_url, media
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.runner: web.AppRunner | None = None
        self.pool: Any = None

    async def start(self) -> None:
        self.pool = await create_pool(self.database_url, min_size=1, max_size=6)
        app = create_web_app(self.config, services={keys.POOL: self.pool})
        app[keys.STORAGE] = DiskStorage(self.media, "/media")
        with_ad_messages(app)  # the bot's username, for the sign-in deep link
        self.runner = web.AppRunner(app, shutdown_timeout=1)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None
        if self.pool is not None:
            await self.pool.close()
            self.pool = None


@pytest.fixture
async def server(make_config, database_url: str, tmp_path: Path) -> Any:
    s = Server(make_config(SECRET_KEY=SECRET_KEY, DEFAULT_LANGUAGE="en"), database_url, tmp_path / "media")
    await s.start()
    yield s
    await s.stop()


async def test_two_people_chat_live_and_the_page_survives_a_restart(
    server: Server, db: asyncpg.Connection
) -> None:
    ad_id = await ad_for_sale(db, "Velosiped Stels")
    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            buyer = await (
                await browser.new_context(locale="en-US", viewport={"width": 375, "height": 740})
            ).new_page()
            seller = await (await browser.new_context(locale="en-US")).new_page()

            # Signing in with Telegram: the deep link, and its QR code for a phone.
            await buyer.goto(server.base + "/chat/login")
            await buyer.click("#with-telegram")
            await expect(buyer.locator("#deep-link")).to_have_attribute("href", re.compile(r"start=login_"))
            await expect(buyer.locator("#deep-link-qr")).to_be_visible()
            assert (await buyer.locator("#deep-link-qr").get_attribute("src")).startswith("data:image/")

            await buyer.goto(server.base + "/chat/register")
            await buyer.fill("input[name=display_name]", "Aziza")
            await buyer.fill("input[name=username]", "aziza")
            await buyer.fill("input[name=password]", "correct horse battery")
            await buyer.fill("input[name=repeat]", "correct horse battery")
            await buyer.click("button[type=submit]")
            await expect(buyer.locator("#no-conversations")).to_be_visible()
            await buyer.goto(f"{server.base}/chat/ads/{ad_id}")
            await buyer.click("#write")
            await expect(buyer.locator("#ad-card")).to_contain_text("Velosiped Stels")
            conversation_path = buyer.url.removeprefix(server.base)

            token = await accounts.web_link(db, SELLER, conversation_path)  # "Open the web chat" in the bot
            await seller.goto(f"{server.base}/chat/login/once/{token}")
            await seller.click("button[type=submit]")
            await expect(seller.locator("#conversation")).to_have_attribute("data-connected", "yes")
            await expect(buyer.locator("#conversation")).to_have_attribute("data-connected", "yes")

            await buyer.fill("#body", "Salom! Hali sotuvdami?")
            await buyer.press("#body", "Enter")
            await expect(seller.locator(".msg", has_text="Hali sotuvdami?")).to_be_visible()
            # The seller's open page read it: the buyer sees the receipt.
            await expect(buyer.locator(".msg.mine .receipt")).to_have_text(" · read")
            await seller.fill("#body", XSS)
            await seller.press("#body", "Enter")
            shown = buyer.locator(".msg:not(.mine) .text")
            await expect(shown).to_have_text(XSS)  # as text: no element, no script ran
            assert await buyer.locator(".msg img[src='x']").count() == 0
            assert await buyer.title() != "pwned" and await seller.title() != "pwned"

            # The server restarts; meanwhile the seller writes from Telegram (another process).
            await server.stop()
            await expect(buyer.locator("#connection-state")).to_be_visible()
            conversation_id = int(conversation_path.rsplit("/", 1)[1])
            ali = await accounts.telegram_account(db, SELLER)
            assert ali is not None
            for n in (1, 2):
                async with db.transaction():
                    await conversations.send(
                        db,
                        ali,
                        conversation_id,
                        body=f"Ha, sotuvda {n}",
                        via=Via.TELEGRAM,
                        msgs=None,
                        languages=Languages(),
                    )
            await server.start()
            await expect(buyer.locator(".msg", has_text="Ha, sotuvda 2")).to_be_visible(timeout=15000)
            await expect(buyer.locator("#connection-state")).to_be_hidden()
            for text in ("Ha, sotuvda 1", "Ha, sotuvda 2", "Hali sotuvdami?"):
                assert await buyer.locator(".msg", has_text=text).count() == 1, text
            await buyer.fill("#body", "Ertaga kelaman")
            await buyer.press("#body", "Enter")
            await expect(seller.locator(".msg", has_text="Ertaga kelaman")).to_have_count(1)
            assert await db.fetchval("SELECT count(*) FROM chat_messages") == 5
        finally:
            await browser.close()
