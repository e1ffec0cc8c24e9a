"""Every list screen of the panel, and the detail pages of every area (a ticket, a task, a chat's
figures, a balance, a broadcast), on a 360 px phone in uz, ru and en, each with realistic rows:
no cell or button is narrower than its longest word (words never break letter by letter), and
nothing makes the page scroll sideways."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote, unquote

import asyncpg
import pytest

from app.domain import staff as staff_domain
from app.domain import staff_tokens
from app.domain.staff import Role
from tests.helpers.ads import realistic_market
from tests.helpers.areas import fill_every_area
from tests.helpers.browser import CHROMIUM, CHROMIUM_ARGS, playwright_api
from tests.helpers.panel import PASSWORD, SECRET_KEY, build_panel, make_staff

pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM), reason=f"no {CHROMIUM}: apt-get install chromium"
)
PHONE = 360  # px: the narrowest phones in common use

# For each visible cell, button, badge and list item: the width of its longest word (measured in
# the element's own font) against the width its content gets. Words of more than 40 characters
# (a pasted URL) may break; no realistic word is that long. A hyphen is a break anyway.
NARROW_CELLS = """() => {
  const found = [];
  const probe = document.createElement("span");
  probe.style.cssText = "position:absolute;visibility:hidden;white-space:nowrap;left:-9999px";
  const kinds = ["td", "th", ".btn", "button", ".badge", "li", "dd", "dt", "h1"];
  for (const el of document.querySelectorAll(kinds.map(kind => "main " + kind).join(", "))) {
    if (!el.getClientRects().length || getComputedStyle(el).visibility === "hidden") continue;
    // A line may break after a hyphen ("95-persentil"): the parts are the words then.
    const words = el.innerText.split(/\\s+|(?<=-)/).filter(w => w && w.length <= 40);
    if (!words.length) continue;
    const style = getComputedStyle(el);
    const room = el.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    el.appendChild(probe);
    for (const word of words) {
      probe.textContent = word;
      const need = probe.getBoundingClientRect().width;
      if (need > room + 1) {
        const where = `${el.tagName.toLowerCase()}.${el.className}`;
        found.push(`${where} "${word}" needs ${Math.round(need)} px, has ${Math.round(room)}`);
        break;
      }
    }
    probe.remove();
  }
  return found;
}"""


@pytest.fixture
async def phone(aiohttp_client, make_config, database_url: str, db: asyncpg.Connection) -> AsyncIterator[Any]:
    """The panel's web app, a realistic market, staff, and a logged-in 360 px phone tab."""
    config = make_config(SECRET_KEY=SECRET_KEY, DEFAULT_LANGUAGE="uz")
    market = await realistic_market(db)
    boss = await make_staff(db, "boss", Role.ADMIN)
    for name in ("Hisobotlar skripti (har kuni)", "Moderatsiya boti"):
        await staff_tokens.create_token(db, boss, name)
    await staff_domain.create_staff(
        db, "nodira.karimova", PASSWORD, Role.MODERATOR, display_name="Nodira Karimova", by=boss.id
    )
    await staff_domain.create_staff(db, "operator_sanjar", PASSWORD, Role.OPERATOR, by=boss.id)
    await staff_domain.give_channel(db, boss.id + 1, market["channel_id"], by=boss.id)
    market["pages"] = await fill_every_area(db, boss, market)
    async for panel in build_panel(aiohttp_client, config, database_url):
        base = str(panel.client.make_url("")).rstrip("/")
        async with playwright_api.async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            try:
                context = await browser.new_context(
                    viewport={"width": PHONE, "height": 740}, is_mobile=True, has_touch=True
                )
                tab = await context.new_page()
                await tab.goto(base + "/panel/login")
                await tab.fill("input[name=username]", "boss")
                await tab.fill("input[name=password]", PASSWORD)
                async with tab.expect_navigation():
                    await tab.click("button[type=submit]")
                tab.base, tab.market = base, market
                yield tab
            finally:
                await browser.close()


def screen_path(screen: str, market: dict[str, Any]) -> str:
    if screen in market["pages"]:  # a detail page of the other areas' rows
        return str(market["pages"][screen])
    return {
        "ads": "/panel/ads",
        "ad-deliveries": f"/panel/ads/{market['ad_ids'][0]}",
        "users": "/panel/users",
        "user": f"/panel/users/{market['seller_id']}",
        "moderation": "/panel/moderation",
        "channels": "/panel/channels",
        "staff": "/panel/staff",
        "audit": "/panel/audit",
        "dashboard": "/panel",
        "support": "/panel/support",
        "knowledge-base": "/panel/support/kb",
        "tasks": "/panel/tasks",
        "screenshots": "/panel/tasks/review",
        "promotion": "/panel/promotions",
        "reported-chats": "/panel/chat/reports",
        "bot-menu": "/panel/menu",
        "account": "/panel/account",
        "broadcasts": "/panel/broadcasts",
        "messages": "/panel/messages",
        "withdrawals": "/panel/withdrawals",
        "canned-replies": "/panel/support/canned",
        "support-stats": "/panel/support/stats",
    }[screen]


# What a row is: a table's, a list's, a card (an ad, a screenshot to review, a withdrawal), a
# message of a conversation.
ROWS = ", ".join(
    "main " + row
    for row in (
        *("tbody tr", ".list-group-item", ".ad-card"),
        *(".review-card", "[id^=withdrawal-]", ".conversation > li"),
    )
)

SCREENS = [
    *("ads", "ad-deliveries", "users", "user", "moderation", "channels", "staff", "audit", "bot-menu"),
    "account",  # with its staff API tokens
    *("support", "support-ticket", "canned-replies", "knowledge-base", "tasks", "task", "task-chat"),
    *("screenshots", "promotion", "reported-chats", "broadcasts", "broadcast", "messages"),
    *("withdrawals", "balance", "support-stats", "dashboard"),
]


async def test_every_list_screen_is_readable_on_a_phone_in_every_language(phone: Any, subtests: Any) -> None:
    """One browser and one market for all the screens (a fresh one each took ~8 s); each screen
    is its own subtest, so a failure names the screen and the others still run."""
    for screen in SCREENS:
        with subtests.test(screen=screen):
            await check_screen(phone, screen)


async def check_screen(phone: Any, screen: str) -> None:
    path = screen_path(screen, phone.market)
    for lang in ("uz", "ru", "en"):
        response = await phone.goto(f"{phone.base}/panel/lang/{lang}?next={quote(path, safe='/')}")
        assert response.status == 200 and unquote(phone.url).endswith(unquote(path)), (lang, phone.url)
        assert await phone.get_attribute("html", "lang") == lang
        rows = await phone.locator(ROWS).count()
        assert rows, f"{screen} shows no rows: the test would prove nothing"
        narrow = await phone.evaluate(NARROW_CELLS)
        assert not narrow, f"{screen} in {lang} breaks words at {PHONE} px: {narrow[:5]}"
        width = await phone.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE, f"{screen} in {lang} is {width} px wide"
