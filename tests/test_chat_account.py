"""The web chat's account page: my ads (sold and withdrawn as in the bot), language, linked
Telegram, personal API tokens."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from app import crypto
from app.domain.chat import accounts
from tests.helpers.ads import SELLER
from tests.helpers.chat import ad_for_sale, csrf, post, register, sign_in_as_telegram_user, with_media
from tests.helpers.panel import SECRET_KEY, Panel, build_panel


@pytest.fixture
async def panel(aiohttp_client, make_config, database_url: str, tmp_path: Path) -> AsyncIterator[Panel]:
    config = make_config(SECRET_KEY=SECRET_KEY, DEFAULT_LANGUAGE="en")
    async for built in build_panel(aiohttp_client, config, database_url, with_media(tmp_path / "media")):
        yield built


async def test_a_seller_marks_an_ad_sold_and_withdraws_another_from_the_web(
    panel: Panel, db: asyncpg.Connection
) -> None:
    first = await ad_for_sale(db, "Velosiped Stels")
    second = await db.fetchval(
        """INSERT INTO ads (seller_id, channel_id, title, description, negotiable, district, contact, status,
                            text_key, shown_count)
           SELECT seller_id, channel_id, 'Eski divan', 'ok', true, 'Yunusobod', contact, 'published', 'k2', 3
           FROM ads WHERE id = $1 RETURNING id""",
        first,
    )
    client = panel.client
    await sign_in_as_telegram_user(client, db, SELLER)
    page = await (await client.get("/chat/account")).text()
    assert "Velosiped Stels" in page and "Eski divan" in page and "Re-posted 3 times" in page
    sold = await post(client, f"/chat/account/ads/{first}/sold", "/chat/account")
    assert sold.status == 303
    told = await (await client.get(sold.headers["Location"])).text()
    # The channel's edit is still in the outbox: promised, not claimed as done.
    assert "its post in the channel will say so in a moment" in told
    withdrawn = await post(client, f"/chat/account/ads/{second}/withdraw", "/chat/account")
    assert withdrawn.status == 303
    statuses = await db.fetch("SELECT id, status FROM ads ORDER BY id")
    assert [(r["id"], r["status"]) for r in statuses] == [(first, "sold"), (second, "withdrawn")]
    events = await db.fetch(
        "SELECT kind, actor_id FROM ad_events WHERE kind IN ('sold', 'withdrawn') ORDER BY id"
    )
    assert [(e["kind"], e["actor_id"]) for e in events] == [("sold", SELLER), ("withdrawn", SELLER)]
    again = await post(client, f"/chat/account/ads/{first}/withdraw", "/chat/account")
    assert again.status == 400 and "cannot be changed" in await again.text()


async def test_someone_elses_ad_cannot_be_closed_from_the_web(panel: Panel, db: asyncpg.Connection) -> None:
    ad_id = await ad_for_sale(db)
    await db.execute("INSERT INTO users (id, first_name) VALUES (777, 'Eve')")
    await sign_in_as_telegram_user(panel.client, db, 777)
    refused = await post(panel.client, f"/chat/account/ads/{ad_id}/sold", "/chat/account")
    assert refused.status == 400
    assert await db.fetchval("SELECT status FROM ads WHERE id = $1", ad_id) == "published"


async def test_language_linking_telegram_and_api_tokens(panel: Panel, db: asyncpg.Connection) -> None:
    client = panel.client
    await register(client, "zarina", name="Zarina")
    assert (await post(client, "/chat/account/language", "/chat/account", language="ru")).status == 303
    assert "Моя учётная запись" in await (await client.get("/chat/account")).text()
    await post(client, "/chat/account/language", "/chat/account", language="en")

    await db.execute("INSERT INTO users (id, first_name) VALUES (4242, 'Zarina')")
    started = await post(client, "/chat/login/telegram", "/chat/account")
    token = started.headers["Location"].rsplit("/", 1)[1]
    waiting = await (await client.get(started.headers["Location"])).text()
    assert f"https://t.me/bozor_test_bot?start=login_{token}" in waiting
    assert f"/start login_{token}" in waiting  # sandbox mode (no BOT_TOKEN): what to send the bot
    said = await accounts.confirm_from_bot(db, token, 4242)  # what the bot does on /start login_<token>
    assert said.message.startswith("Your Telegram is now linked")
    headers = {"X-CSRF-Token": await csrf(client, "/chat/account"), "Accept": "application/json"}
    done = await (await client.post(f"/chat/login/telegram/{token}/check", headers=headers)).json()
    assert done == {"state": "done", "next": "/chat/account"}
    assert "Telegram is linked" in await (await client.get("/chat/account")).text()

    created = await post(client, "/chat/account/tokens", "/chat/account", name="my script")
    shown = re.search(r'id="new-token">(bzr_[\w-]+)<', await created.text())
    assert shown
    secret = shown.group(1)
    stored = await db.fetchrow("SELECT token_hash, revoked_at FROM chat_api_tokens")
    assert stored["token_hash"] == crypto.token_hash(secret) and secret.encode() not in stored["token_hash"]
    later = await (await client.get("/chat/account")).text()
    assert "my script" in later and secret not in later  # shown once
    token_id = await db.fetchval("SELECT id FROM chat_api_tokens")
    await post(client, f"/chat/account/tokens/{token_id}/revoke", "/chat/account")
    assert await db.fetchval("SELECT revoked_at IS NOT NULL FROM chat_api_tokens") is True
