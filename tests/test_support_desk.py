"""The support desk end to end: real aiogram ↔ the sandbox, the real outbox, real PostgreSQL.

Operators act through the desk's domain functions, exactly what the panel's views call, or
through the running panel over HTTP (the browser test drives its pages); users and
Telegram-linked operators act in the sandbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator

import aiohttp

from app.db.queries.support_desk import SUPPORT_CHANNEL
from app.domain import staff as staff_domain
from app.domain.actors import StaffMember
from app.domain.staff import Role
from app.domain.support import desk
from app.domain.support.ports import DeskMessages
from app.main import Bozor
from app.web import keys
from app.web.live import LIVE
from tests.helpers.images import png
from tests.helpers.panel import TOKEN_RE
from tests.helpers.polling import eventually, outbox_settled

OFF_TOPIC = "can you recommend a good phone under $200"
PASSWORD = "a password long enough"
LINK_RE = re.compile(r'id="telegram-link" href="([^"]+)"')


def messages_of(bozor: Bozor) -> DeskMessages:
    assert bozor.runner is not None
    msgs = bozor.runner.app[keys.BOT_PARTS].desk_messages
    assert msgs is not None
    return msgs


async def operator(bozor: Bozor, username: str = "nigora") -> StaffMember:
    assert bozor.pool is not None
    async with bozor.pool.acquire() as conn:
        staff = await staff_domain.create_staff(conn, username, PASSWORD, Role.OPERATOR)
    return StaffMember(staff)


async def reply(bozor: Bozor, who: StaffMember, ticket_id: int, text: str) -> desk.Sent:
    assert bozor.pool is not None
    async with bozor.pool.acquire() as conn, conn.transaction():
        return await desk.reply(conn, who, ticket_id, text, msgs=messages_of(bozor))


@contextlib.asynccontextmanager
async def panel_as(bozor: Bozor, username: str) -> AsyncIterator[aiohttp.ClientSession]:
    """The running Bozor's panel in a browser of its own, logged in as `username`, in English."""
    async with aiohttp.ClientSession(
        base_url=bozor.config.base_url, cookie_jar=aiohttp.CookieJar(unsafe=True)
    ) as session:
        await (await session.get("/panel/lang/en", allow_redirects=False)).release()
        status, _page = await panel_post(
            session, "/panel/login", "/panel/login", {"username": username, "password": PASSWORD}
        )
        assert status == 303
        yield session


async def page_text(session: aiohttp.ClientSession, path: str) -> str:
    async with session.get(path) as page:
        assert page.status == 200, path
        return await page.text()


async def panel_post(
    session: aiohttp.ClientSession, url: str, page: str, fields: dict[str, str] | None = None
) -> tuple[int, str]:
    """A form on `page` sent to `url` with that page's CSRF token: the status and the body."""
    token = TOKEN_RE.search(await page_text(session, page))
    assert token, f"no CSRF field on {page}"
    data = {**(fields or {}), "csrf_token": token.group(1)}
    async with session.post(url, data=data, allow_redirects=False) as answer:
        return answer.status, await answer.text()


async def message_event(ws: aiohttp.ClientWebSocketResponse, message_id: int) -> dict:
    """The desk's event about that message, read from the socket in order (others pass by)."""
    async with asyncio.timeout(10):
        while True:
            event = await ws.receive_json()
            if event.get("event") == "message" and event.get("message_id") == message_id:
                return event


async def open_ticket(persona, db, text: str = OFF_TOPIC) -> int:
    await persona.send(text)
    await persona.wait_for_bot("is with an operator")
    return int(await db.fetchval("SELECT id FROM support_tickets WHERE user_id = $1", persona.id))


async def conversation(db, ticket_id: int) -> list[tuple[str, str, str | None]]:
    rows = await db.fetch(
        """SELECT m.author, m.text, o.status FROM support_messages m LEFT JOIN outbox o ON o.id = m.outbox_id
            WHERE m.ticket_id = $1 ORDER BY m.id""",
        ticket_id,
    )
    return [(r["author"], r["text"], r["status"]) for r in rows]


async def test_a_ticket_from_question_to_rating_and_reopening(bozor, sandbox, db) -> None:
    nigora = await operator(bozor)
    user = await sandbox.user("Sam", language_code="en")
    ticket_id = await open_ticket(user, db)

    await reply(bozor, nigora, ticket_id, "We do not sell phones ourselves, but <b>ask</b> in the channel.")
    got = await user.wait_for_bot("💬 Support:")
    assert got["text"] == "💬 Support: We do not sell phones ourselves, but <b>ask</b> in the channel."
    assert all(e["type"] != "bold" for e in got.get("entities", []))  # nothing typed becomes markup
    await outbox_settled(db)
    assert (await conversation(db, ticket_id))[-1][2] == "sent"
    assert await db.fetchval("SELECT status FROM support_tickets WHERE id = $1", ticket_id) == "waiting"

    await user.send("Thanks! And can I post two phones in one ad?")

    async def joined() -> bool:
        return len(await conversation(db, ticket_id)) == 3

    await eventually(joined, what="the user's answer in the ticket")
    assert await db.fetchval("SELECT status FROM support_tickets WHERE id = $1", ticket_id) == "open"

    assert bozor.pool is not None
    async with bozor.pool.acquire() as conn, conn.transaction():
        await desk.close(conn, nigora, ticket_id, msgs=messages_of(bozor))
    closed = await user.wait_for_bot("is closed")
    assert f"#{ticket_id}" in closed["text"]
    await user.press("⭐⭐⭐⭐", message_id=closed["message_id"])
    await user.wait_for_bot("Thank you for your rating: ⭐⭐⭐⭐")
    row = await db.fetchrow("SELECT status, rating FROM support_tickets WHERE id = $1", ticket_id)
    assert (row["status"], row["rating"]) == ("closed", 4)

    await user.send("One more thing about the phone")  # within the reopening days: same ticket
    reopened = await user.wait_for_bot("is with an operator")
    assert f"#{ticket_id}" in reopened["text"]
    row = await db.fetchrow("SELECT status, rating FROM support_tickets WHERE id = $1", ticket_id)
    assert (row["status"], row["rating"]) == ("open", None)
    assert await db.fetchval("SELECT count(*) FROM support_tickets") == 1


async def test_an_operator_linked_on_telegram_gets_tickets_and_answers_by_replying(
    bozor, sandbox, db
) -> None:
    """ "My account → Link my Telegram" in the panel, the deep link opened in the bot, then a
    ticket worked from the phone: notices, answers by reply (text and photo), rating after close."""
    nigora = await operator(bozor)
    phone = await sandbox.user("Nigora", language_code="en")
    async with panel_as(bozor, "nigora") as panel:
        assert "Link my Telegram" in await page_text(panel, "/panel/account")
        status, page = await panel_post(panel, "/panel/account/telegram", "/panel/account")
        assert status == 200
        found = LINK_RE.search(page)
        assert found, page
        assert bozor.bot is not None
        prefix = f"https://t.me/{(await bozor.bot.me()).username}?start="
        assert found.group(1).startswith(prefix + "op_")
        start = found.group(1).removeprefix(prefix)
        await phone.send(f"/start {start}")
        await phone.wait_for_bot("Your Telegram is linked to the panel account nigora")
        assert (
            await db.fetchval("SELECT telegram_user_id FROM staff WHERE id = $1", nigora.staff.id) == phone.id
        )
        assert "Linked: new support tickets come to you in the bot." in await page_text(
            panel, "/panel/account"
        )
        await phone.send(f"/start {start}")  # a link works once
        await phone.wait_for_bot("This link is no longer valid")

        user = await sandbox.user("Sam", username="sam_buyer", language_code="en")
        ticket_id = await open_ticket(user, db)
        notice = await phone.wait_for_bot(f"🆕 Ticket #{ticket_id} from @sam_buyer", timeout=10)
        assert OFF_TOPIC in notice["text"]

        await phone.send("Hello from my phone: try the electronics channel.", reply_to=notice["message_id"])
        await phone.wait_for_bot(f"✅ Sent to ticket #{ticket_id}.", timeout=10)
        got = await user.wait_for_bot("💬 Support: Hello from my phone", timeout=10)
        assert got["text"].endswith("try the electronics channel.")
        await phone.send_photo(png(rgb=(200, 10, 10)), caption="Tap here", reply_to=notice["message_id"])
        await phone.wait_for_bot(f"✅ Sent to ticket #{ticket_id}.", timeout=10)
        shown = await user.wait_for_bot(lambda m: "photo" in m, timeout=10)
        assert shown["caption"] == "💬 Support: Tap here"

        await user.send("ok, and where is that channel?")  # assigned now: the notice goes to her
        await phone.wait_for_bot(f"✉️ Ticket #{ticket_id}, @sam_buyer writes", timeout=10)
        await user.send_photo(png(rgb=(10, 200, 10)), caption="this one")
        photo = await phone.wait_for_bot(lambda m: "photo" in m, timeout=10)  # the user's photo itself
        assert photo["caption"].startswith(f"✉️ Ticket #{ticket_id}, @sam_buyer writes\n\nthis one")
        await phone.send("Nice photo, it is fine.", reply_to=photo["message_id"])
        await user.wait_for_bot("💬 Support: Nice photo, it is fine.", timeout=10)

        ticket_url = f"/panel/support/tickets/{ticket_id}"
        assert (await panel_post(panel, f"{ticket_url}/close", ticket_url))[0] == 303
    closed = await user.wait_for_bot("is closed", timeout=10)
    await user.press("⭐⭐⭐⭐⭐", message_id=closed["message_id"])
    await user.wait_for_bot("Thank you for your rating: ⭐⭐⭐⭐⭐")

    answers = await db.fetch(
        """SELECT staff_id, via, text, file_kind, storage_key FROM support_messages
            WHERE ticket_id = $1 AND author = 'operator' ORDER BY id""",
        ticket_id,
    )
    assert [(r["staff_id"], r["via"], r["text"], r["file_kind"]) for r in answers] == [
        (nigora.staff.id, "telegram", "Hello from my phone: try the electronics channel.", None),
        (nigora.staff.id, "telegram", "Tap here", "photo"),
        (nigora.staff.id, "telegram", "Nice photo, it is fine.", None),
    ]
    assert bozor.storage is not None and (await bozor.storage.get(answers[1]["storage_key"])).data
    row = await db.fetchrow("SELECT status, rating FROM support_tickets WHERE id = $1", ticket_id)
    assert (row["status"], row["rating"]) == ("closed", 5)


async def test_a_reply_to_another_bot_message_is_no_answer(bozor, sandbox, db) -> None:
    """An operator replying to something that is not a ticket's notice is a plain question."""
    await operator(bozor)
    user = await sandbox.user("Sam", language_code="en")
    await user.send("/start")
    menu = await user.wait_for_bot("Hello")
    await user.send(OFF_TOPIC, reply_to=menu["message_id"])
    await user.wait_for_bot("is with an operator")
    assert await db.fetchval("SELECT count(*) FROM support_messages WHERE author = 'operator'") == 0


async def test_two_operators_answering_at_once_are_both_delivered_in_order(bozor, sandbox, db) -> None:
    nigora, timur = await operator(bozor, "nigora"), await operator(bozor, "timur")
    user = await sandbox.user("Sam", language_code="en")
    ticket_id = await open_ticket(user, db)
    sent = await asyncio.gather(
        reply(bozor, nigora, ticket_id, "Answer from Nigora"),
        reply(bozor, timur, ticket_id, "Answer from Timur"),
    )
    await outbox_settled(db)
    ordered = [text for author, text, _status in await conversation(db, ticket_id) if author == "operator"]
    assert sorted(ordered) == ["Answer from Nigora", "Answer from Timur"]
    assert [s.message_id for s in sorted(sent, key=lambda s: s.outbox_id)] == sorted(
        s.message_id for s in sent
    )
    chat = [m["text"] for m in await user.bot_messages() if m["text"].startswith("💬 Support:")]
    assert chat == [f"💬 Support: {text}" for text in ordered]  # the user reads them as stored


async def test_two_operators_in_the_panel_see_each_others_answers_at_once(bozor, sandbox, db) -> None:
    """Each has the desk's WebSocket open; one answers in the panel, the other's socket says so."""
    await operator(bozor, "nigora")
    await operator(bozor, "timur")
    user = await sandbox.user("Sam", language_code="en")
    ticket_id = await open_ticket(user, db)
    url = f"/panel/support/tickets/{ticket_id}"
    assert bozor.runner is not None
    hub = bozor.runner.app[LIVE]
    before = hub.subscribers(SUPPORT_CHANNEL)  # Bozor's own listeners (the LLM drafts)
    async with (
        panel_as(bozor, "nigora") as nigora,
        panel_as(bozor, "timur") as timur,
        nigora.ws_connect("/panel/support/ws") as nigora_ws,
        timur.ws_connect("/panel/support/ws") as timur_ws,
    ):

        async def both_subscribed() -> bool:
            return hub.subscribers(SUPPORT_CHANNEL) == before + 2

        await eventually(both_subscribed, what="both operators' sockets subscribed")
        for author, author_ws, other_ws, text in (
            (nigora, nigora_ws, timur_ws, "Answer from Nigora"),
            (timur, timur_ws, nigora_ws, "Answer from Timur"),
        ):
            assert (await panel_post(author, f"{url}/reply", url, {"text": text}))[0] == 303
            message_id = await db.fetchval("SELECT id FROM support_messages WHERE text = $1", text)
            event = await message_event(other_ws, message_id)
            assert event["ticket_id"] == ticket_id
            await message_event(author_ws, message_id)  # the author's other tabs too
    await user.wait_for_bot("💬 Support: Answer from Timur", timeout=10)
    chat = [m["text"] for m in await user.bot_messages() if m["text"].startswith("💬 Support:")]
    assert chat == ["💬 Support: Answer from Nigora", "💬 Support: Answer from Timur"]


async def test_a_user_who_blocked_the_bot_is_shown_on_the_ticket_without_retries(bozor, sandbox, db) -> None:
    nigora = await operator(bozor)
    user = await sandbox.user("Sam", language_code="en")
    ticket_id = await open_ticket(user, db)
    await user.block()
    done = await reply(bozor, nigora, ticket_id, "Are you still there?")
    await outbox_settled(db)
    row = await db.fetchrow("SELECT status, attempts FROM outbox WHERE id = $1", done.outbox_id)
    assert (row["status"], row["attempts"]) == ("blocked", 1)
    assert (await conversation(db, ticket_id))[-1] == ("operator", "Are you still there?", "blocked")
    assert await db.fetchval("SELECT blocked_bot_at IS NOT NULL FROM users WHERE id = $1", user.id)
