"""Screenshot review in headless Chromium against the whole app and the Telegram sandbox: a
screenshot sent in the bot appears live, is accepted, and the user is told and credited."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

import pytest

from app.domain import staff as staff_domain
from app.domain.staff import Role
from app.domain.tasks import Verification
from tests.helpers.browser import CHROMIUM, CHROMIUM_ARGS, playwright_api
from tests.helpers.images import png
from tests.helpers.tasks import entries, make_task, person

expect = playwright_api.expect
pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM), reason=f"no {CHROMIUM}: apt-get install chromium"
)
expect.set_options(timeout=10000)
PASSWORD = "a password long enough"


@pytest.fixture
async def page(bozor) -> AsyncIterator[Any]:
    async with bozor.pool.acquire() as conn:
        await staff_domain.create_staff(conn, "chief", PASSWORD, Role.ADMIN)
    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        tab = await browser.new_page(locale="en-US")
        base = bozor.config.base_url
        await tab.goto(base + "/panel/login")
        await tab.fill("input[name=username]", "chief")
        await tab.fill("input[name=password]", PASSWORD)
        await tab.click("button[type=submit]")
        await tab.wait_for_url(base + "/panel")
        tab.base = base
        yield tab
        await browser.close()


async def test_a_screenshot_reviewed_live_in_the_panel_credits_the_user_once(
    bozor, sandbox, db, page
) -> None:
    await sandbox.limits(private_per_second=50, private_burst=50)
    await make_task(db, None, verification=Verification.SCREENSHOT, leave_days=None, reward=35)
    await make_task(
        db, None, verification=Verification.SCREENSHOT, leave_days=None, reward=5, title="Ikkinchi"
    )
    ali, vali = await person(sandbox, "Ali"), await person(sandbox, "Vali")

    await page.goto(page.base + "/panel/tasks/review")
    await expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    await expect(page.locator("#queue-empty")).to_be_visible()

    for who in (ali, vali):
        await who.press("🎯 Tasks")
        await who.wait_for_bot("Join a chat")
        await who.press("📸 Screenshot 1")
        await who.wait_for_bot("send a screenshot")
        await who.send("here it is")  # not a photo: asked again, nothing queued
        await who.wait_for_bot("as a photo")
        await who.send_photo(png(rgb=(10, 200, 10)))
        await who.wait_for_bot("sent for review")

    cards = page.locator(".review-card")
    await expect(cards).to_have_count(2)  # arrived over the WebSocket, no reload
    first = cards.nth(0)
    await expect(first).to_contain_text("Ali")
    await expect(first.locator("img.review-shot")).to_have_js_property("naturalWidth", 8)

    await first.locator("button", has_text="Accept and credit").click()
    await expect(first.locator(".decided-note")).to_contain_text("Accepted by")
    told = await ali.wait_for_bot("is accepted: +35 points", timeout=10)
    assert "Your balance: 35 points" in told["text"]

    second = cards.nth(1)
    await second.locator("input[name=reason]").fill("The screenshot does not show the channel")
    await second.locator("button", has_text="Refuse").click()
    await expect(second.locator(".decided-note")).to_contain_text("Refused by")
    await vali.wait_for_bot("does not show the channel", timeout=10)

    await expect(page.locator(".review-card")).to_have_count(0)
    assert await entries(db, ali.id) == [("task_reward", 35)]
    assert await entries(db, vali.id) == []
    # Refused: the task is offered again, the screenshot may be sent anew.
    await vali.send("/start")
    await vali.wait_for_bot("")
    await vali.press("🎯 Tasks")
    again = await vali.wait_for_bot("Join a chat")
    assert "📸 Screenshot 1" in str(again["reply_markup"])

    # Both tasks are about one chat: its page adds them up, drawn on a phone without sideways scroll.
    await page.set_viewport_size({"width": 360, "height": 740})
    await page.goto(page.base + "/panel/tasks")
    await page.locator("a", has_text="t.me/+abcdef123").click()
    await expect(page.locator("tbody tr")).to_have_count(1)
    await expect(page.locator("tbody tr td").nth(1)).to_have_text("1")  # Ali's; Vali was refused
    await expect(page.locator("tbody tr td").nth(4)).to_have_text("35")
    drawn = "Chart.getChart(document.getElementById('chart-task')).data.datasets[0].data.at(-1)"
    assert await page.evaluate(drawn) == 1
    assert await page.evaluate("document.documentElement.scrollWidth") <= 360
