"""LLM help in headless Chromium against the whole app, the sandbox and a small OpenAI-compatible
server of our own: a draft made on its own appears live in the open ticket, "Edit before
sending" puts it in the answer box, the operator's edit reaches the user; "Draft an answer"
fills the box without leaving the page, and a slow endpoint's note shows while the page works."""

from __future__ import annotations

import os

import pytest

from app.domain import staff as staff_domain
from app.domain.staff import Role
from tests.helpers.browser import CHROMIUM, CHROMIUM_ARGS, playwright_api
from tests.helpers.llm import llm_form, staff_session, submit
from tests.helpers.panel import PASSWORD

expect = playwright_api.expect
pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM), reason=f"no {CHROMIUM}: apt-get install chromium"
)
expect.set_options(timeout=10000)


async def test_an_operator_edits_a_live_draft_and_asks_for_another(bozor, sandbox, db, fake_llm) -> None:
    for name, role in (("boss", Role.ADMIN), ("nigora", Role.OPERATOR)):
        await staff_domain.create_staff(db, name, PASSWORD, role)
    async with staff_session(bozor, "boss") as boss:
        form = llm_form(fake_llm, auto=True)
        assert (await submit(boss, "/panel/settings", form, "/panel/settings"))[0] == 200
    user = await sandbox.user("Ivan", language_code="ru")
    fake_llm.mode = "slow"  # the first message's draft waits until released
    await user.send("Здравствуйте, вопрос по оплате")
    await user.wait_for_bot("передан оператору")
    ticket_id = int(await db.fetchval("SELECT id FROM support_tickets WHERE user_id = $1", user.id))

    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = await browser.new_page(locale="en-US")
        base = bozor.config.base_url
        await page.goto(base + "/panel/login")
        await page.fill("input[name=username]", "nigora")
        await page.fill("input[name=password]", PASSWORD)
        await page.click("button[type=submit]")
        await page.wait_for_url(base + "/panel")
        await page.goto(f"{base}/panel/support/tickets/{ticket_id}")
        await expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
        await expect(page.locator("#llm-draft")).to_contain_text("The LLM is drafting an answer")

        await page.evaluate("window.notReloaded = true")
        fake_llm.release.set()  # the LLM answers: the draft appears without a reload
        draft = page.locator("#llm-draft-text")
        await expect(draft).to_have_text(fake_llm.text)
        await page.set_viewport_size({"width": 360, "height": 740})  # on a phone: nothing wider
        assert await page.evaluate("document.documentElement.scrollWidth") <= 360
        await page.get_by_role("link", name="Edit before sending").click()
        await expect(page.locator("#reply-text")).to_have_value(fake_llm.text)
        await page.fill("#reply-text", "Оплата только наличными при встрече.")
        await page.get_by_role("button", name="Send", exact=True).click()
        await user.wait_for_bot("💬 Поддержка: Оплата только наличными при встрече.", timeout=10)
        await expect(page.locator("#llm-draft")).to_have_count(0)

        # "Draft an answer": the box fills in place; a slow endpoint's note, the page as before.
        fake_llm.text = "Да, можно оплатить картой продавцу."
        await page.evaluate("window.notReloaded = true")
        await page.get_by_role("button", name="Draft an answer").click()
        await expect(page.locator("#reply-text")).to_have_value(fake_llm.text)
        ready = "Draft ready: edit it in the answer box and send."
        await expect(page.locator("#draft-note")).to_have_text(ready)
        async with staff_session(bozor, "boss") as boss:
            slow = llm_form(fake_llm, auto=True, timeout="0.2")
            assert (await submit(boss, "/panel/settings", slow, "/panel/settings"))[0] == 200
        fake_llm.mode, fake_llm.release = "slow", type(fake_llm.release)()
        await page.get_by_role("button", name="Draft an answer").click()
        await expect(page.locator("#draft-note")).to_have_text(
            "The LLM did not answer within 0.2 s: no draft. Write the answer yourself."
        )
        await expect(page.locator("#reply-text")).to_have_value(fake_llm.text)  # nothing lost
        assert await page.evaluate("window.notReloaded === true")
        await browser.close()
