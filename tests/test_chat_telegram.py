"""The web chat through the bot: "Write here" relays, the seller answering in Telegram, offline
notices (debounced), replies from Telegram reaching an open page — real aiogram, sandbox, PostgreSQL."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

from app.bot.callbacks import ChatCb
from app.bot.chat_messages import BotChatMessages
from app.domain.chat.notices import Timing, run_notices
from app.domain.users import Languages
from app.i18n import Translator
from app.main import Bozor
from app.sandbox.driver import Sandbox
from tests.helpers.chat import csrf, register, start_about, write
from tests.helpers.images import png
from tests.helpers.polling import eventually, outbox_settled

TIMING = Timing(grace=timedelta(seconds=30), interval=timedelta(minutes=5))


async def _ad(bozor: Bozor, market: dict[str, Any], title: str = "Velosiped Stels") -> int:
    async with bozor.pool.acquire() as conn:
        return int(
            await conn.fetchval(
                """INSERT INTO ads (seller_id, channel_id, title, description, price, currency, negotiable,
                                    district, contact, status, text_key, published_at)
                   VALUES ($1, $2, $3, 'Yaxshi', 1500000, 'UZS', false, 'Chilonzor', '+998901234567',
                           'published', 'k-' || $3, now()) RETURNING id""",
                market["seller"].id,
                market["channel_id"],
                title,
            )
        )


def _browser(bozor: Bozor) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(bozor.config.base_url, cookie_jar=aiohttp.CookieJar(unsafe=True))


async def _notices(bozor: Bozor, at: datetime) -> int:
    async with bozor.pool.acquire() as conn, conn.transaction():
        return await run_notices(conn, at, BotChatMessages(Translator("uz")), Languages(default="uz"), TIMING)


async def test_a_buyer_writes_here_and_the_seller_answers_in_telegram(
    bozor: Bozor, market, sandbox: Sandbox
) -> None:
    await sandbox.limits(private_per_second=50, private_burst=50)
    seller = market["seller"]
    ad_id = await _ad(bozor, market)
    buyer = await sandbox.user("Vali", username="vali_buyer", language_code="en")
    await buyer.send(f"/start ad_{ad_id}")
    offer = await buyer.wait_for_bot("Write to the seller here")
    assert "+998901234567" not in offer["text"]  # the phone is no longer repeated
    await buyer.press("✍️ Write here")
    await buyer.wait_for_bot("Write your message to the seller")
    await buyer.send("Is it still for sale?")

    relayed = await seller.wait_for_bot("Is it still for sale?", timeout=10)
    assert "Vali" in relayed["text"] and "Velosiped Stels" in relayed["text"]
    assert "vali_buyer" not in json.dumps(relayed)  # no username, no phone
    conversation_id = int(await bozor.pool.fetchval("SELECT id FROM chat_conversations"))
    await seller.press(callback_data=ChatCb(action="reply", value=conversation_id).pack())
    await seller.wait_for_bot("Vali")
    await seller.send("Ha, sotuvda")
    answer = await buyer.wait_for_bot("Ha, sotuvda", timeout=10)
    assert "Ali" in answer["text"] and "ali_sotuvchi" not in json.dumps(answer)

    # A photo through the bot: kept in Storage, relayed to the other side as a photo.
    await buyer.press(callback_data=ChatCb(action="reply", value=conversation_id).pack())
    await buyer.wait_for_bot("Ali")
    await buyer.send_photo(png(rgb=(10, 200, 30)), caption="Bu rasmdagi velosipedmi?")
    shown = await seller.wait_for_bot(
        lambda m: "photo" in m and "Bu rasmdagi" in m.get("caption", ""), timeout=10
    )
    assert "Vali" in shown["caption"]

    stored = await bozor.pool.fetch(
        "SELECT body, via, photo_key IS NOT NULL AS photo FROM chat_messages ORDER BY id"
    )
    assert [(r["body"], r["via"], r["photo"]) for r in stored] == [
        ("Is it still for sale?", "telegram", False),
        ("Ha, sotuvda", "telegram", False),
        ("Bu rasmdagi velosipedmi?", "telegram", True),
    ]
    # The same conversation on the web: "Open the web chat" gives a one-time link.
    await buyer.press("🌐 Open the web chat", message_id=offer["message_id"])
    link_message = await buyer.wait_for_bot("/chat/login/once/")
    token = re.search(r"/chat/login/once/([\w-]+)", link_message["text"]).group(1)
    async with _browser(bozor) as web:
        page = f"/chat/login/once/{token}"
        opened = await web.post(page, data={"csrf_token": await csrf(web, page)}, allow_redirects=False)
        assert opened.headers["Location"] == f"/chat/c/{conversation_id}"
        text = await (await web.get(f"/chat/c/{conversation_id}")).text()
        assert "Is it still for sale?" in text and "Ha, sotuvda" in text
        photo_id = await bozor.pool.fetchval("SELECT id FROM chat_messages WHERE photo_key IS NOT NULL")
        photo = await web.get(f"/chat/photos/{photo_id}")
        assert photo.status == 200 and photo.content_type == "image/jpeg"  # Telegram sends JPEG
        again = await web.post(page, data={"csrf_token": await csrf(web, "/chat")}, allow_redirects=False)
        assert again.status == 410  # once only


async def test_an_offline_seller_gets_one_debounced_notice_and_the_reply_reaches_the_open_page(
    bozor: Bozor, market, sandbox: Sandbox
) -> None:
    await sandbox.limits(private_per_second=50, private_burst=50)
    seller = market["seller"]
    ad_id = await _ad(bozor, market)
    async with _browser(bozor) as buyer_web, _browser(bozor) as seller_web:
        await register(buyer_web, "nodira", name="Nodira")
        conversation_id = await start_about(buyer_web, ad_id)
        # The seller once used the web chat (and read there): away now, so notices, not relays.
        async with bozor.pool.acquire() as conn:
            from app.domain.chat import accounts

            token = await accounts.web_link(conn, seller.id, f"/chat/c/{conversation_id}")
        page = f"/chat/login/once/{token}"
        await seller_web.post(page, data={"csrf_token": await csrf(seller_web, page)})
        await seller_web.get(f"/chat/c/{conversation_id}")
        start = datetime.now(UTC)
        for n in range(3):
            assert (await write(buyer_web, conversation_id, f"savol {n}")).status == 200
        assert await _notices(bozor, start + timedelta(seconds=10)) == 0  # within the grace period
        assert await _notices(bozor, start + timedelta(seconds=31)) == 1
        notice = await seller.wait_for_bot("Nodira", timeout=10)
        assert "3" in notice["text"] and "Velosiped Stels" in notice["text"]
        for n in range(3, 10):
            await write(buyer_web, conversation_id, f"savol {n}")
        for seconds in (40, 50, 60):  # ten messages within a minute: still that one notice
            assert await _notices(bozor, start + timedelta(seconds=seconds)) == 0
        assert await _notices(bozor, start + timedelta(minutes=6)) == 1  # the interval passed: a summary
        summary = await seller.wait_for_bot("7", timeout=10)
        assert "Nodira" in summary["text"]
        await outbox_settled(bozor.pool)
        assert await bozor.pool.fetchval("SELECT count(*) FROM outbox WHERE ref_kind = 'chat_notice'") == 2

        # The buyer's page is open; the seller answers from Telegram with the notice's Reply.
        headers = {"Origin": bozor.config.base_url}
        async with buyer_web.ws_connect("/chat/ws?after=0", headers=headers) as socket:
            frames = await _frames_until(socket, lambda f: f["type"] == "ready")
            assert len([f for f in frames if f["type"] == "message"]) == 10
            await seller.press(callback_data=ChatCb(action="reply", value=conversation_id).pack())
            await seller.wait_for_bot("Nodira")
            await seller.send("Ertaga keling")
            live = await _frames_until(socket, lambda f: f["type"] == "message")
            assert live[-1]["message"]["body"] == "Ertaga keling" and live[-1]["message"]["via"] == "telegram"

        # A seller who blocked the bot is not notified again.
        await seller.block()
        await eventually(
            lambda: bozor.pool.fetchval(
                "SELECT blocked_bot_at IS NOT NULL FROM users WHERE id = $1", seller.id
            ),
            what="the block recorded",
        )
        await write(buyer_web, conversation_id, "hello?")
        assert await _notices(bozor, datetime.now(UTC) + timedelta(minutes=20)) == 0
        assert await bozor.pool.fetchval("SELECT count(*) FROM outbox WHERE ref_kind = 'chat_notice'") == 2


async def _frames_until(socket: aiohttp.ClientWebSocketResponse, done: Any) -> list[dict[str, Any]]:
    frames = []
    while True:
        frame = json.loads((await socket.receive(timeout=10)).data)
        frames.append(frame)
        if done(frame):
            return frames
