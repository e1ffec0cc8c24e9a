"""Web chat accounts: registering, passwords and throttling, sessions, CSRF, Telegram sign-in."""

from __future__ import annotations

import asyncio
import re

import aiohttp
import asyncpg

from app.domain.chat import accounts
from app.main import Bozor
from app.sandbox.driver import Sandbox
from app.web import keys
from tests.helpers.chat import PASSWORD, csrf, post, register, sign_in
from tests.helpers.panel import Panel


async def test_registering_signs_in_with_a_hashed_password_and_a_safe_cookie(
    panel: Panel, db: asyncpg.Connection
) -> None:
    client = panel.client
    first = await client.get("/chat", allow_redirects=False)
    assert first.status == 302 and first.headers["Location"] == "/chat/login?next=/chat"

    response = await register(client, "dilnoza", name="Dilnoza <b>")
    assert response.status == 303 and response.headers["Location"] == "/chat"
    cookie = next(c for c in response.headers.getall("Set-Cookie") if c.startswith("bozor_chat="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    home = await client.get("/chat")
    assert home.status == 200 and "Dilnoza &lt;b&gt;" in await home.text()
    stored = await db.fetchrow("SELECT password_hash, telegram_user_id FROM chat_accounts")
    assert stored["password_hash"].startswith("scrypt$") and PASSWORD not in stored["password_hash"]
    assert await db.fetchval("SELECT count(*) FROM staff") == 0  # web accounts are not staff


async def test_bad_registrations_are_explained_and_store_nothing(
    panel: Panel, db: asyncpg.Connection
) -> None:
    client = panel.client
    short = await register(client, "aziz", password="short")
    assert short.status == 400 and "at least 8 characters" in await short.text()
    bad_name = await register(client, "a b<script>")
    assert bad_name.status == 400 and "3-32 characters" in await bad_name.text()
    assert await db.fetchval("SELECT count(*) FROM chat_accounts") == 0
    assert (await register(client, "aziz")).status == 303
    await client.post("/chat/logout", data={"csrf_token": await csrf(client, "/chat")})
    taken = await register(client, "AZIZ")  # the same name, in other letters
    assert taken.status == 400 and "taken" in await taken.text()
    assert await db.fetchval("SELECT count(*) FROM chat_accounts") == 1


async def test_wrong_passwords_are_throttled_atomically_even_in_parallel(
    panel: Panel, db: asyncpg.Connection
) -> None:
    client = panel.client
    await register(client, "malika")
    await client.post("/chat/logout", data={"csrf_token": await csrf(client, "/chat")})
    wrong = await sign_in(client, "malika", "wrong password")
    assert wrong.status == 401 and "Wrong username or password" in await wrong.text()
    # Ten guesses at once: each is counted before its password is checked, so only the
    # account's allowance (5, the one above included) is ever checked.
    results = await asyncio.gather(*(sign_in(client, "malika", f"guess {n}") for n in range(10)))
    statuses = sorted(r.status for r in results)
    assert statuses.count(401) == 4 and statuses.count(429) == 6
    late = await sign_in(client, "malika")  # even the right password waits now
    assert late.status == 429 and "Try again in 15 min" in await late.text()


async def test_a_form_without_the_csrf_token_is_refused_and_changes_nothing(
    panel: Panel, db: asyncpg.Connection
) -> None:
    client = panel.client
    fields = {"username": "jasur", "password": PASSWORD, "repeat": PASSWORD, "display_name": "J"}
    refused = await client.post("/chat/register", data=fields)
    assert refused.status == 403 and "expired" in await refused.text()
    assert await db.fetchval("SELECT count(*) FROM chat_accounts") == 0


async def test_signing_out_everywhere_ends_every_session(panel: Panel) -> None:
    phone = panel.client
    await register(phone, "sardor")
    base = str(panel.client.make_url("/"))
    async with aiohttp.ClientSession(base, cookie_jar=aiohttp.CookieJar(unsafe=True)) as laptop:
        assert (await sign_in(laptop, "sardor")).status == 303
        assert (await laptop.get("/chat", allow_redirects=False)).status == 200
        done = await post(phone, "/chat/logout/everywhere", "/chat")
        assert done.status == 303
        assert (await laptop.get("/chat", allow_redirects=False)).status == 302
    assert (await phone.get("/chat", allow_redirects=False)).status == 302


async def test_signing_in_with_telegram_through_the_bot_works_once(bozor: Bozor, sandbox: Sandbox) -> None:
    base = bozor.config.base_url
    ali = await sandbox.user("Ali", username="ali", language_code="en")
    await ali.send("/start")
    await ali.wait_for_bot("Hello")
    async with aiohttp.ClientSession(base, cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        token = await csrf(browser)
        started = await browser.post("/chat/login/telegram", data={"csrf_token": token, "next": "/chat"})
        page = await started.text()
        link = re.search(r"https://t\.me/(\w+)\?start=(login_[\w-]+)", page)
        assert started.status == 200 and link, page
        check_url = started.url.path + "/check"
        headers = {"X-CSRF-Token": await csrf(browser, started.url.path)}
        waiting = await (await browser.post(check_url, headers=headers)).json()
        assert waiting == {"state": "waiting"}

        await ali.send(f"/start {link.group(2)}")
        await ali.wait_for_bot("You are signed in on the web")
        done = await (await browser.post(check_url, headers=headers)).json()
        assert done == {"state": "done", "next": "/chat"}
        home = await browser.get("/chat", allow_redirects=False)
        assert home.status == 200 and "Ali" in await home.text()
        headers = {"X-CSRF-Token": await csrf(browser, "/chat")}  # a new session, a new token
        again = await (await browser.post(check_url, headers=headers)).json()
        assert again == {"state": "gone"}

    bek = await sandbox.user("Bek", language_code="en")
    await bek.send(f"/start {link.group(2)}")  # someone else with the same link: nothing
    await bek.wait_for_bot("expired or was already used")
    async with bozor.pool.acquire() as conn:
        rows = await conn.fetch("SELECT telegram_user_id FROM chat_accounts")
    assert [r["telegram_user_id"] for r in rows] == [ali.id]


async def test_the_daily_job_forgets_used_links_and_ended_sessions(
    panel: Panel, db: asyncpg.Connection
) -> None:
    from app.scheduler.jobs import JobContext, journal_retention

    await register(panel.client, "umid")
    await post(panel.client, "/chat/logout/everywhere", "/chat")
    waiting = await accounts.start_telegram_login(db)
    await db.execute("UPDATE chat_sessions SET revoked_at = now() - interval '8 days'")
    await db.execute("UPDATE chat_login_requests SET expires_at = now() - interval '2 days'")
    fresh = await accounts.start_telegram_login(db)
    await journal_retention(JobContext(panel.app[keys.POOL]))
    assert await db.fetchval("SELECT count(*) FROM chat_sessions") == 0
    assert await accounts.request_state(db, waiting.token) is None
    assert await accounts.request_state(db, fresh.token) is not None
