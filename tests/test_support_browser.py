"""The support desk in headless Chromium against the whole app and the Telegram sandbox: a
question nobody answered becomes a ticket, the operator answers in the panel, the user answers
back and it appears live, the operator closes and the user rates."""

from __future__ import annotations

import os

import pytest

from app.domain import staff as staff_domain
from app.domain.staff import Role
from tests.helpers.browser import CHROMIUM, CHROMIUM_ARGS, playwright_api
from tests.helpers.images import png

expect = playwright_api.expect
pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM), reason=f"no {CHROMIUM}: apt-get install chromium"
)
expect.set_options(timeout=10000)
PASSWORD = "a password long enough"
XSS = "<script>alert(1)</script> можно рассрочку?"


async def test_an_operator_answers_in_the_panel_and_the_desk_follows_live(bozor, sandbox, db) -> None:
    assert bozor.pool is not None
    async with bozor.pool.acquire() as conn:
        await staff_domain.create_staff(conn, "nigora", PASSWORD, Role.OPERATOR)
    user = await sandbox.user("Ivan", language_code="ru")
    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = await browser.new_page(locale="en-US")
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        base = bozor.config.base_url
        await page.goto(base + "/panel/login")
        await page.fill("input[name=username]", "nigora")
        await page.fill("input[name=password]", PASSWORD)
        await page.click("button[type=submit]")
        await page.wait_for_url(base + "/panel")

        await page.goto(base + "/panel/support")
        await expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
        await user.send(XSS)  # nothing in the knowledge base: a ticket, which appears without reload
        await user.wait_for_bot("передан оператору")
        row = page.locator("#desk-queue tr[data-ticket]")
        await expect(row).to_contain_text("можно рассрочку")
        await expect(row).to_contain_text("<script>")  # shown as text, never run
        await row.locator("a").first.click()

        await expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
        await page.fill("#reply-text", "Рассрочки нет, но можно договориться с продавцом.")
        await page.get_by_role("button", name="Send", exact=True).click()
        await user.wait_for_bot("💬 Поддержка: Рассрочки нет", timeout=10)
        await expect(page.locator("#conversation li.msg-operator .delivery")).to_have_text("delivered")

        await page.evaluate("window.notReloaded = true")
        await user.send("Спасибо, вот фото товара")
        await user.send_photo(png(rgb=(0, 120, 0)))
        await user.send_document(b"%PDF-1.4 the receipt", "receipt.pdf")
        await expect(page.locator("#conversation li.msg-user")).to_have_count(4)
        await expect(page.locator("#conversation")).to_contain_text("Спасибо, вот фото товара")
        photo = page.locator("#conversation li.msg-user img")
        await expect(photo).to_be_visible()
        assert await photo.evaluate("img => img.complete && img.naturalWidth > 0")
        assert await page.evaluate("window.notReloaded === true")
        document = page.get_by_role("link", name="receipt.pdf")
        downloaded = await page.request.get(base + str(await document.get_attribute("href")))
        assert await downloaded.body() == b"%PDF-1.4 the receipt"  # fetched from Telegram on demand
        assert downloaded.headers["content-disposition"].startswith("attachment")

        await page.get_by_role("button", name="Close the ticket").click()
        closed = await user.wait_for_bot("закрыто", timeout=10)
        await page.evaluate("window.notReloaded = true")
        await user.press("⭐⭐⭐⭐⭐", message_id=closed["message_id"])
        await expect(page.locator("#ticket-rating")).to_have_text("⭐⭐⭐⭐⭐")
        assert await page.evaluate("window.notReloaded === true")
        assert dialogs == []
        await browser.close()
