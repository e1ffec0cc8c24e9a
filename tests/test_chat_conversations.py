"""Conversations on the web: about an ad, history, limits, photos, privacy, block, report, search."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from app.domain.chat import accounts
from app.domain.staff import Role
from tests.helpers.ads import SELLER
from tests.helpers.chat import (
    ad_for_sale,
    csrf,
    post,
    register,
    sign_in_as_telegram_user,
    start_about,
    with_media,
    write,
)
from tests.helpers.images import png
from tests.helpers.panel import SECRET_KEY, Panel, build_panel, login, make_staff


@pytest.fixture
async def panel(aiohttp_client, make_config, database_url: str, tmp_path: Path) -> AsyncIterator[Panel]:
    """The web app alone (no bot), in English, with photos on disk."""
    config = make_config(SECRET_KEY=SECRET_KEY, DEFAULT_LANGUAGE="en")
    async for built in build_panel(aiohttp_client, config, database_url, with_media(tmp_path / "media")):
        yield built


async def _other_browser(panel: Panel) -> aiohttp.ClientSession:
    base = str(panel.client.make_url("/"))
    return aiohttp.ClientSession(base, cookie_jar=aiohttp.CookieJar(unsafe=True))


async def test_a_buyer_writes_about_an_ad_and_the_seller_reads_it_with_the_ad_card(
    panel: Panel, db: asyncpg.Connection
) -> None:
    ad_id = await ad_for_sale(db)
    buyer = panel.client
    await register(buyer, "aziza", name="Aziza")
    conversation_id = await start_about(buyer, ad_id)
    assert conversation_id == await start_about(buyer, ad_id)  # the same conversation again
    sent = await write(buyer, conversation_id, "Salom! Velosiped hali sotuvdami?")
    assert sent.status == 200
    assert (await sent.json())["message"]["body"] == "Salom! Velosiped hali sotuvdami?"

    async with await _other_browser(panel) as seller:
        assert (await sign_in_as_telegram_user(seller, db, SELLER)).status == 303
        listing = await (await seller.get("/chat")).text()
        assert "Aziza" in listing and "Velosiped Stels" in listing and 'unread">1<' in listing
        page = await (await seller.get(f"/chat/c/{conversation_id}")).text()
        # money as English writes it (digits grouped by the reader's language, "UZS" not "so'm")
        assert "Velosiped Stels" in page and "1,500,000 UZS" in page and "hali sotuvdami" in page
        await db.execute("UPDATE ads SET status = 'sold' WHERE id = $1", ad_id)
        page = await (await seller.get(f"/chat/c/{conversation_id}")).text()
        assert 'id="ad-sold"' in page  # SOLD heads the conversation once the ad is sold
    # the seller's phone is on the ad, never in the chat; Ali's Telegram account was made for him
    assert (
        await db.fetchval("SELECT telegram_user_id FROM chat_accounts WHERE display_name = 'Ali'") == SELLER
    )


async def test_history_pages_by_keyset_and_search_finds_own_conversations_only(
    panel: Panel, db: asyncpg.Connection
) -> None:
    ad_id = await ad_for_sale(db)
    client = panel.client
    await register(client, "bobur")
    conversation_id = await start_about(client, ad_id)
    buyer_id = await db.fetchval("SELECT id FROM chat_accounts WHERE username = 'bobur'")
    await db.execute(
        """INSERT INTO chat_messages (conversation_id, sender_id, body, via)
           SELECT $1, $2, 'message ' || g, 'web' FROM generate_series(1, 120) g""",
        conversation_id,
        buyer_id,
    )
    page = await (await client.get(f"/chat/c/{conversation_id}")).text()
    assert "message 120" in page and "message 71" in page and "message 70<" not in page
    oldest = await db.fetchval("SELECT min(id) FROM chat_messages WHERE body = 'message 71'")
    older = await (await client.get(f"/chat/c/{conversation_id}/history?before={oldest}")).json()
    assert [m["body"] for m in older["messages"]] == [f"message {n}" for n in range(21, 71)]
    assert older["more"] is True
    found = await (await client.get("/chat?q=message 11")).text()
    assert "Ali" in found
    assert "Nothing found" in await (await client.get("/chat?q=nobody-wrote-this")).text()


async def test_someone_elses_conversation_does_not_exist_for_them(
    panel: Panel, db: asyncpg.Connection
) -> None:
    ad_id = await ad_for_sale(db)
    await register(panel.client, "dilshod")
    conversation_id = await start_about(panel.client, ad_id)
    await write(panel.client, conversation_id, "private", photo=png())
    photo_id = await db.fetchval("SELECT id FROM chat_messages WHERE photo_key IS NOT NULL")
    async with await _other_browser(panel) as stranger:
        await register(stranger, "eve_stranger")
        token = await csrf(stranger, "/chat")
        for url in (
            f"/chat/c/{conversation_id}",
            f"/chat/c/{conversation_id}/history",
            f"/chat/photos/{photo_id}",
        ):
            assert (await stranger.get(url)).status == 404, url
        headers = {"X-CSRF-Token": token, "Accept": "application/json"}
        sent = await stranger.post(f"/chat/c/{conversation_id}/send", data={"body": "hi"}, headers=headers)
        assert sent.status == 404
        for action in ("block", "report"):
            done = await stranger.post(
                f"/chat/c/{conversation_id}/{action}", data={"csrf_token": token, "reason": "x"}
            )
            assert done.status == 404
    assert await db.fetchval("SELECT count(*) FROM chat_messages") == 1
    assert await db.fetchval("SELECT count(*) FROM chat_reports") == 0
    photo = await panel.client.get(f"/chat/photos/{photo_id}")
    assert photo.status == 200 and photo.content_type == "image/png"


async def test_bad_messages_are_explained_and_nothing_is_stored(panel: Panel, db: asyncpg.Connection) -> None:
    ad_id = await ad_for_sale(db)
    await register(panel.client, "farrux")
    conversation_id = await start_about(panel.client, ad_id)
    too_long = await write(panel.client, conversation_id, "x" * 4097)
    assert too_long.status == 400 and "at most 4096 characters" in (await too_long.json())["error"]["message"]
    empty = await write(panel.client, conversation_id, "   ")
    assert empty.status == 400 and "Write something" in (await empty.json())["error"]["message"]
    not_a_photo = await write(panel.client, conversation_id, "", photo=b"<svg onload=alert(1)>")
    assert not_a_photo.status == 400 and "not a photo" in (await not_a_photo.json())["error"]["message"]
    assert await db.fetchval("SELECT count(*) FROM chat_messages") == 0
    exactly = await write(panel.client, conversation_id, "y" * 4096)
    assert exactly.status == 200
    for n in range(29):
        assert (await write(panel.client, conversation_id, f"fast {n}")).status == 200
    limited = await write(panel.client, conversation_id, "one too many")
    assert limited.status == 400 and "too fast" in (await limited.json())["error"]["message"]
    assert await db.fetchval("SELECT count(*) FROM chat_messages") == 30


async def test_xss_in_a_message_is_shown_as_text(panel: Panel, db: asyncpg.Connection) -> None:
    ad_id = await ad_for_sale(db)
    await register(panel.client, "gulnora", name="<img src=x onerror=alert(1)>")
    conversation_id = await start_about(panel.client, ad_id)
    await write(panel.client, conversation_id, "<script>alert('x')</script>")
    page = await (await panel.client.get(f"/chat/c/{conversation_id}")).text()
    assert "<script>alert(" not in page and "&lt;script&gt;alert(" in page
    assert "<img src=x" not in page
    assert "script-src" not in page  # no inline script: the CSP allows only our own files


async def test_a_block_stops_both_sides_and_a_report_opens_the_conversation_to_operators(
    panel: Panel, db: asyncpg.Connection
) -> None:
    ad_id = await ad_for_sale(db)
    buyer = panel.client
    await register(buyer, "hasan")
    conversation_id = await start_about(buyer, ad_id)
    await write(buyer, conversation_id, "Pay me outside the site, here is my card 8600...")
    async with await _other_browser(panel) as seller:
        await sign_in_as_telegram_user(seller, db, SELLER)
        blocked = await post(
            seller, f"/chat/c/{conversation_id}/block", f"/chat/c/{conversation_id}", action="block"
        )
        assert blocked.status == 303
        refused = await write(buyer, conversation_id, "hello?")
        assert refused.status == 400 and "blocked" in (await refused.json())["error"]["message"]
        reported = await post(
            seller,
            f"/chat/c/{conversation_id}/report",
            f"/chat/c/{conversation_id}",
            reason="asks to pay outside",
        )
        assert reported.status == 303
    operator_id = (await make_staff(db, "olim", Role.OPERATOR)).id
    moderator = await make_staff(db, "mona", Role.MODERATOR)
    staff_client = panel.client
    await staff_client.post("/chat/logout", data={"csrf_token": await csrf(staff_client, "/chat")})
    await login(staff_client, "olim")
    listing = await (await staff_client.get("/panel/chat/reports")).text()
    assert "asks to pay outside" in listing
    page = await (await staff_client.get(f"/panel/chat/reports/{conversation_id}")).text()
    assert "here is my card" in page
    audited = await db.fetch("SELECT staff_id, target FROM audit_log WHERE action = 'chat.read_reported'")
    assert [(r["staff_id"], r["target"]) for r in audited] == [
        (operator_id, f"conversation:{conversation_id}")
    ]
    assert moderator.role == Role.MODERATOR


async def test_an_unreported_conversation_stays_closed_to_staff(panel: Panel, db: asyncpg.Connection) -> None:
    ad_id = await ad_for_sale(db)
    await register(panel.client, "ilhom")
    conversation_id = await start_about(panel.client, ad_id)
    await write(panel.client, conversation_id, "a private word")
    await make_staff(db, "admin1", Role.ADMIN)
    async with await _other_browser(panel) as staff:
        await login(staff, "admin1")
        assert (await staff.get(f"/panel/chat/reports/{conversation_id}")).status == 404
        assert "a private word" not in await (await staff.get("/panel/chat/reports")).text()
    assert await accounts.get_account(db, 1) is not None
