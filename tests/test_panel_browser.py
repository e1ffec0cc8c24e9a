"""The moderation queue in headless Chromium against the whole app and the Telegram sandbox."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

import pytest

from app.domain import channels
from app.domain import staff as staff_domain
from app.domain.staff import Role
from tests.helpers.browser import CHROMIUM, CHROMIUM_ARGS, playwright_api
from tests.helpers.market import fill_wizard

expect = playwright_api.expect
pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM), reason=f"no {CHROMIUM}: apt-get install chromium"
)
expect.set_options(timeout=10000)
PASSWORD = "a password long enough"
XSS = "<script>alert(1)</script>"


@pytest.fixture
async def page(bozor, market) -> AsyncIterator[Any]:
    """A logged-in moderator's browser tab (admin staff: every channel)."""
    async with bozor.pool.acquire() as conn:
        await staff_domain.create_staff(conn, "chief", PASSWORD, Role.ADMIN)
    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        tab = await browser.new_page(locale="en-US")
        tab.dialogs = []
        tab.on("dialog", lambda d: (tab.dialogs.append(d.message), d.dismiss()))
        base = bozor.config.base_url
        await tab.goto(base + "/panel/login")
        await tab.fill("input[name=username]", "chief")
        await tab.fill("input[name=password]", PASSWORD)
        await tab.click("button[type=submit]")
        await tab.wait_for_url(base + "/panel")
        tab.base = base
        yield tab
        await browser.close()


async def test_decisions_in_the_panel_reach_the_channel_and_the_seller(bozor, market, sandbox, page) -> None:
    await sandbox.limits(private_per_second=50, private_burst=50)
    seller, channel = market["seller"], market["channel"]
    async with bozor.pool.acquire() as conn:
        await channels.add_reason(
            conn, market["channel_id"], {"uz": "Rasm yomon", "ru": "Плохое фото", "en": "Bad photo"}
        )
    for title in (XSS, "Velosiped Ikki", "Velosiped Uch"):
        await fill_wizard(seller, title)

    await page.goto(page.base + "/panel/moderation")
    await expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    first = page.locator("#ad-1")
    await expect(first.locator(".ad-title")).to_contain_text(XSS)  # shown as text, not run
    photo = first.locator(".ad-photos img").first
    await expect(photo).to_be_visible()
    assert await photo.evaluate("img => img.complete && img.naturalWidth > 0")  # from Storage
    await first.get_by_role("button", name="Approve").click()
    await expect(first.locator(".decided-note")).to_contain_text("Approved by chief")
    post = await channel.wait_for_post("alert(1)", timeout=10)
    assert XSS in post["caption"]
    await seller.wait_for_bot("chop etildi", timeout=10)

    second = page.locator("#ad-2")
    await second.locator("select[name=reason_id]").select_option(label="Bad photo")
    await second.get_by_role("button", name="Reject").click()
    await expect(second.locator(".decided-note")).to_contain_text("Rejected by chief")
    await seller.wait_for_bot("Rasm yomon", timeout=10)

    third = page.locator("#ad-3")
    await third.locator("input[name=reason]").fill("Narxi noto'g'ri")
    await third.get_by_role("button", name="Reject").click()
    await seller.wait_for_bot("Narxi noto'g'ri", timeout=10)
    await expect(page.locator(".ad-card")).to_have_count(0)  # decided cards leave the queue
    assert page.dialogs == []


async def test_the_queue_follows_the_bot_and_new_ads_without_a_reload(bozor, market, sandbox, page) -> None:
    await sandbox.limits(private_per_second=50, private_burst=50)
    seller, olga = market["seller"], market["olga"]
    await fill_wizard(seller, "Velosiped Stels")
    await page.goto(page.base + "/panel/moderation")
    await expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    await page.evaluate("window.notReloaded = true")

    await olga.wait_for_bot("Новое объявление #1", timeout=10)
    await olga.press("✅ Одобрить")
    await expect(page.locator("#ad-1 .decided-note")).to_contain_text("Approved by @olga_admin")

    await fill_wizard(seller, "Divan yumshoq")
    await expect(page.locator("#ad-2 .ad-title")).to_contain_text("Divan yumshoq")
    assert await page.evaluate("window.notReloaded === true")
