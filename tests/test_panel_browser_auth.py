"""Panel access in headless Chromium: an operator's refusals, CSRF refusals, login throttling."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest

from app.domain import channels
from app.domain.staff import Role
from tests.helpers.ads import PANEL_SELLER, connected_channel, pending_ad
from tests.helpers.browser import CHROMIUM, CHROMIUM_ARGS, playwright_api
from tests.helpers.panel import PASSWORD, SECRET_KEY, Panel, build_panel, make_staff

expect = playwright_api.expect
pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM), reason=f"no {CHROMIUM}: apt-get install chromium"
)
expect.set_options(timeout=10000)
TITLE = "Bozor Toshkent"
PHONE = 360  # px: the narrowest phones in common use


@dataclass
class Site:
    """The panel's web app on a real port, and a way to open browser tabs on it."""

    base: str
    browser: Any

    async def tab(self, locale: str = "en-US") -> Any:
        context = await self.browser.new_context(locale=locale)
        return await context.new_page()


@pytest.fixture
async def site(aiohttp_client, make_config, database_url: str) -> AsyncIterator[Site]:
    """Only the web app (no bot, no scheduler) and one Chromium: much lighter than `bozor`."""
    config = make_config(SECRET_KEY=SECRET_KEY, DEFAULT_LANGUAGE="en")
    async for panel in build_panel(aiohttp_client, config, database_url):
        async with playwright_api.async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            try:
                yield Site(_base_url(panel), browser)
            finally:
                await browser.close()


def _base_url(panel: Panel) -> str:
    return str(panel.client.make_url("")).rstrip("/")


async def log_in(site: Site, tab: Any, username: str, password: str = PASSWORD) -> Any:
    """Fill and send the login form; the response the browser got for it."""
    if not tab.url.startswith(site.base + "/panel/login"):
        await tab.goto(site.base + "/panel/login")
    await tab.fill("input[name=username]", username)
    await tab.fill("input[name=password]", password)
    async with tab.expect_navigation() as sent:
        await tab.click("button[type=submit]")
    return await sent.value


async def channel_title(db: asyncpg.Connection, channel_id: int) -> str:
    return await db.fetchval("SELECT title FROM channels WHERE id = $1", channel_id)


async def audited(db: asyncpg.Connection, action: str) -> int:
    return await db.fetchval("SELECT count(*) FROM audit_log WHERE action = $1", action)


# A form post from a page script, as the page's own fetch() would send it.
POST_FORM = """async ([url, fields, headers]) => {
  const response = await fetch(url, {method: "POST", credentials: "same-origin",
    headers: Object.fromEntries(Object.entries(headers).map(([k, v]) =>
      [k, v === "$csrf" ? window.bozor.csrf() : v])),
    body: new URLSearchParams(fields)});
  return [response.status, await response.text()];
}"""
FORGED = {
    "title": "Hijacked",
    "chat": "@bozor_toshkent",
    "language": "uz",
    "timezone": "Asia/Tashkent",
    "repost_minutes": "30",
    "checkin_value": "3",
    "checkin_unit": "days",
    "checkin_max_asks": "3",
    "ads_per_day": "5",
    "active": "on",
}


async def test_an_operator_sees_no_admin_menu_and_gets_a_clear_403_in_their_language(
    site: Site, db: asyncpg.Connection
) -> None:
    await make_staff(db, "oper", Role.OPERATOR)
    channel = await channels.create_channel(db, title=TITLE, chat_ref="@bozor_toshkent")
    tab = await site.tab(locale="ru-RU")

    home = await log_in(site, tab, "oper")
    assert home.status == 200 and tab.url == site.base + "/panel"
    menu = tab.locator("#panel-nav .navbar-nav")
    await expect(menu).to_contain_text("Пользователи")  # the operator's own screen, in Russian
    for hidden in ("/panel/channels", "/panel/settings"):
        await expect(menu.locator(f'a[href="{hidden}"]')).to_have_count(0)
    for label in ("Каналы", "Настройки", "Channels", "Settings"):
        await expect(menu).not_to_contain_text(label)

    for path in (f"/panel/channels/{channel.id}", "/panel/settings"):
        response = await tab.goto(site.base + path)
        assert response.status == 403, path
        await expect(tab.locator("h1")).to_have_text("Ваша роль не даёт доступа к этой странице.")
        await expect(tab.locator("html")).to_have_attribute("lang", "ru")
        back = tab.get_by_role("link", name="Открыть панель")
        await expect(back).to_have_attribute("href", "/panel")
        page_text = await tab.locator("body").inner_text()
        assert "Traceback" not in page_text and "Not allowed" not in page_text
        await expect(menu.locator('a[href="/panel/users"]')).to_have_count(1)  # the menu stays

    # From the refusal page, with the session's own CSRF token: the role still decides.
    await tab.goto(site.base + f"/panel/channels/{channel.id}")
    status, body = await tab.evaluate(
        POST_FORM, [f"/panel/channels/{channel.id}", FORGED, {"X-CSRF-Token": "$csrf"}]
    )
    assert status == 403  # a page script gets the reason as JSON
    assert json.loads(body)["error"] == "Ваша роль не даёт доступа к этой странице."
    assert await channel_title(db, channel.id) == TITLE
    assert await audited(db, "channel.update") == 0

    await back.click()
    await tab.wait_for_url(site.base + "/panel")


async def test_a_form_or_fetch_without_the_csrf_token_is_refused_with_a_way_back(
    site: Site, db: asyncpg.Connection
) -> None:
    await make_staff(db, "boss", Role.ADMIN)
    channel = await channels.create_channel(db, title=TITLE, chat_ref="@bozor_toshkent")
    url = f"/panel/channels/{channel.id}"
    tab = await site.tab()
    await log_in(site, tab, "boss")
    await tab.goto(site.base + url)

    form = tab.locator(f'form[action="{url}"]')
    await form.locator("#title").fill("Renamed by a stale form")
    await form.locator("input[name=csrf_token]").evaluate("input => input.remove()")
    async with tab.expect_navigation() as sent:
        await form.get_by_role("button", name="Save").click()
    assert (await sent.value).status == 403
    await expect(tab.locator("h1")).to_have_text("This form has expired. Reload the page and try again.")
    reload = tab.get_by_role("link", name="Reload the page")
    await expect(reload).to_have_attribute("href", url)  # back to the form, not the start page
    assert await channel_title(db, channel.id) == TITLE

    status, body = await tab.evaluate(POST_FORM, [url, FORGED, {}])
    assert status == 403 and "This form has expired. Reload the page and try again." in body
    status, body = await tab.evaluate(POST_FORM, [url, FORGED, {"Accept": "application/json"}])
    assert status == 403
    assert json.loads(body)["error"] == "This form has expired. Reload the page and try again."
    assert await channel_title(db, channel.id) == TITLE
    assert await audited(db, "channel.update") == 0

    # The way back gives a fresh form that does save: the refusals above were the token's doing.
    await reload.click()
    await tab.wait_for_url(site.base + url)
    await expect(form.locator("#title")).to_have_value(TITLE)
    await form.locator("#title").fill("Bozor Samarqand")
    await form.get_by_role("button", name="Save").click()
    await expect(tab.get_by_role("status")).to_have_text("Saved. The change counts from now on.")
    assert await channel_title(db, channel.id) == "Bozor Samarqand"


async def test_five_wrong_passwords_lock_the_login_form_even_for_the_right_one(
    site: Site, db: asyncpg.Connection
) -> None:
    await make_staff(db, "mod", Role.MODERATOR)
    tab = await site.tab()
    alert = tab.get_by_role("alert")
    for _ in range(5):
        response = await log_in(site, tab, "mod", "not the password")
        assert response.status == 401
        await expect(alert).to_have_text("Wrong username or password.")

    response = await log_in(site, tab, "mod", PASSWORD)
    assert response.status == 429
    await expect(alert).to_have_text("Too many failed attempts. Try again in 15 min.")
    assert tab.url == site.base + "/panel/login"
    await expect(tab.locator("input[name=password]")).to_be_visible()  # still the login form

    assert any(c["name"] == "bozor_session" for c in await tab.context.cookies())
    await tab.goto(site.base + "/panel")  # the cookie it has does not open the panel
    assert tab.url.startswith(site.base + "/panel/login?next=")
    await expect(tab.locator("#panel-nav")).to_have_count(0)
    assert await db.fetchval("SELECT count(*) FROM staff_sessions") == 0
    assert await audited(db, "login.failed") == 5
    throttled = "SELECT sum(attempts) FROM auth_failures WHERE action = 'login.throttled'"
    assert await db.fetchval(throttled) == 1  # counted apart: anonymous tries stay bounded


async def test_every_screen_fits_a_phone_and_the_menu_opens(site: Site, db: asyncpg.Connection) -> None:
    """At 360 px nothing makes the page scroll sideways (wide tables scroll in their own box),
    and the collapsed menu opens with its button."""

    await make_staff(db, "boss", Role.ADMIN)
    channel_id = await connected_channel(db, TITLE, -1001234567890)
    ad_id = await pending_ad(db, channel_id, "Velosiped" + "X" * 90)
    context = await site.browser.new_context(
        viewport={"width": PHONE, "height": 740}, locale="uz-UZ", is_mobile=True, has_touch=True
    )
    tab = await context.new_page()
    await log_in(site, tab, "boss")
    screens = [
        "/panel",
        "/panel/moderation",
        "/panel/ads",
        f"/panel/ads/{ad_id}",
        "/panel/users",
        f"/panel/users/{PANEL_SELLER}",
        "/panel/channels",
        f"/panel/channels/{channel_id}",
        "/panel/staff",
        "/panel/settings",
        "/panel/audit",
        "/panel/account",
    ]
    for path in screens:
        response = await tab.goto(site.base + path)
        assert response.status == 200, path
        width, inner = await tab.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert width <= inner == PHONE, f"{path} is {width} px wide on a {PHONE} px phone"
    menu_link = tab.locator('#panel-nav a[href="/panel/channels"]')
    await expect(menu_link).to_be_hidden()
    await tab.locator(".navbar-toggler").click()
    await expect(menu_link).to_be_visible()
