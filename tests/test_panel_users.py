"""The panel's Users screen: search, a user's page, and a staff block the bot honours."""

from __future__ import annotations

import re

from app.domain import channels
from app.domain import staff as staff_domain
from app.domain import users as users_domain
from app.domain.staff import Role
from tests.helpers.ads import ADMIN_A, SELLER, add_ads, bulk_ads, connected_channel, market_channel
from tests.helpers.market import fill_wizard
from tests.helpers.panel import Panel, csrf, login, make_staff

USER_RE = re.compile(r'data-user="(\d+)"')
NEXT_RE = re.compile(r'rel="next" href="([^"]+)"')
REFUSAL = "Your access to this bot has been limited by the administrators."


async def found(panel: Panel, query: str) -> list[int]:
    response = await panel.client.get("/panel/users", params={"q": query})
    assert response.status == 200
    return [int(i) for i in USER_RE.findall(await response.text())]


async def test_search_by_id_username_and_name_with_keyset_pages(panel, db) -> None:
    await db.execute(
        "INSERT INTO users (id, first_name, last_name, username) SELECT g, 'Person', "
        "'N' || g, 'user' || g FROM generate_series(5000, 5119) g"
    )
    await db.executemany(
        "INSERT INTO users (id, first_name, last_name, username) VALUES ($1, $2, $3, $4)",
        [(77, "Dilnoza", "Karimova", "Dilya_shop"), (78, "Akmal", None, None)],
    )
    await make_staff(db, "operator", Role.OPERATOR)
    await login(panel.client, "operator")
    assert await found(panel, "77") == [77]
    assert await found(panel, "@dilya") == [77]
    assert await found(panel, "@DILYA_S") == [77]  # case-insensitive prefix, "_" taken literally
    assert await found(panel, "@ilya") == []  # a prefix, not anywhere
    assert await found(panel, "karim") == [77]
    assert await found(panel, "akmal") == [78]
    assert await found(panel, "999") == []

    seen: list[int] = []
    url: str | None = "/panel/users?q=person"
    while url:
        html = await (await panel.client.get(url)).text()
        page = [int(i) for i in USER_RE.findall(html)]
        assert len(page) <= 50
        seen += page
        match = NEXT_RE.search(html)
        url = match.group(1).replace("&amp;", "&") if match else None
    assert seen == list(range(5119, 4999, -1))  # every one once, newest id first
    assert (await panel.client.get("/panel/users?after=abc")).status == 400


async def test_one_or_two_letters_find_names_that_start_with_them(panel, db) -> None:
    await db.executemany(
        "INSERT INTO users (id, first_name, last_name, username) VALUES ($1, $2, $3, $4)",
        [
            (1, "Akmal", None, "akmal_uz"),
            (2, "Alisher", "Karimov", None),
            (3, "Dilnoza", "Aliyeva", None),
            (4, "Kamola", None, None),
            (5, "100%", "Sotuvchi", None),
        ],
    )
    await make_staff(db, "operator", Role.OPERATOR)
    await login(panel.client, "operator")
    # Too short for a trigram: the start of the first or the last name, never the middle.
    assert await found(panel, "al") == [3, 2]  # Alisher, Aliyeva; not Akmal
    assert await found(panel, "K") == [4, 2]  # Kamola, Karimov
    assert await found(panel, "%") == []  # taken literally, not as "anything"
    assert await found(panel, "q") == []
    # Three letters or more: anywhere in the name, as before.
    assert await found(panel, "mal") == [1]
    assert await found(panel, "00%") == [5]
    assert await found(panel, "@a") == [1]
    assert await found(panel, "zzzz") == []


async def test_a_users_page_shows_ads_messages_and_block_state_and_blocks(panel, db) -> None:
    channel_id = await market_channel(db)
    await bulk_ads(db, channel_id, 25)
    await db.execute(
        "INSERT INTO update_journal (bot_id, update_id, kind, user_id, chat_id, payload) "
        "VALUES (1, 1, 'message', $1, $1, $2::jsonb)",
        SELLER,
        '{"message": {"text": "Salom, velosiped bormi?"}}',
    )
    await db.execute(  # operators read the messages of the users they serve: ticket holders
        "INSERT INTO support_tickets (user_id, language, subject) VALUES ($1, 'uz', 'Savol')", SELLER
    )
    await make_staff(db, "moderator", Role.OPERATOR)
    await login(panel.client, "moderator")
    html = await (await panel.client.get(f"/panel/users/{SELLER}")).text()
    assert "Salom, velosiped bormi?" in html
    assert html.count('href="/panel/ads/') == 20  # the latest 20 ads
    assert "Not blocked" in html
    assert (await panel.client.get("/panel/users/424242")).status == 404

    token = await csrf(panel.client, f"/panel/users/{SELLER}")
    response = await panel.client.post(
        f"/panel/users/{SELLER}/block", data={"csrf_token": token, "reason": "spam"}
    )
    html = await response.text()
    assert "Blocked by staff" in html and "spam" in html and "moderator" in html
    response = await panel.client.post(f"/panel/users/{SELLER}/unblock", data={"csrf_token": token})
    assert "Not blocked" in await response.text()
    actions = [r["action"] for r in await db.fetch("SELECT action FROM audit_log ORDER BY id")]
    assert actions[-2:] == ["user.block", "user.unblock"]


async def test_a_blocked_user_gets_a_polite_refusal_and_nothing_else(bozor, sandbox) -> None:
    person = await sandbox.user("Jasur", username="jasur", language_code="en")
    await person.send("/start")
    await person.wait_for_bot("")
    async with bozor.pool.acquire() as conn:
        staff = await make_staff(conn, "boss", Role.ADMIN)
        async with conn.transaction():
            assert await users_domain.block(conn, person.id, staff, "spam")

    first = await person.send("/start")
    await person.wait_for_bot(REFUSAL)
    await person.send("I want to sell a bike")
    await person.wait_for_bot(REFUSAL)
    replies = [
        m
        for m in (await person.chat_state())["messages"]
        if m["from"]["is_bot"] and m["event"] > first["event"]
    ]
    assert [m["text"] for m in replies] == [REFUSAL, REFUSAL]

    async with bozor.pool.acquire() as conn, conn.transaction():
        assert await users_domain.unblock(conn, person.id, staff)
    await person.send("/start")
    answer = await person.wait_for_bot("")
    assert REFUSAL not in answer.get("text", "")


async def test_a_moderator_sees_only_their_channels_sellers_and_ads_and_no_private_messages(
    panel, db
) -> None:
    mine = await market_channel(db)  # Ali sells here; Olga and Bek are its admins
    other = await connected_channel(db, "Other", -1009)
    ali = [*await add_ads(db, mine, 1), *await add_ads(db, other, 1)]
    await db.execute("UPDATE ads SET seller_id = $1 WHERE id = ANY($2)", SELLER, ali)
    await db.execute("INSERT INTO users (id, first_name) VALUES (7001, 'Only other')")
    elsewhere = await add_ads(db, other, 1)
    await db.execute("UPDATE ads SET seller_id = 7001 WHERE id = ANY($1)", elsewhere)
    await db.execute(
        "INSERT INTO update_journal (bot_id, update_id, kind, user_id, chat_id, payload) "
        "VALUES (1, 1, 'message', $1, $1, $2::jsonb)",
        SELLER,
        '{"message": {"text": "Rad etildi: telefon raqami yoq"}}',
    )
    moderator = await make_staff(db, "moder", Role.MODERATOR)
    await staff_domain.give_channel(db, moderator.id, mine, by=None)
    await login(panel.client, "moder")
    html = await (await panel.client.get(f"/panel/users/{SELLER}")).text()
    assert html.count('href="/panel/ads/') == 1  # the ad in their channel, not the other one
    assert "Rad etildi" not in html and 'id="journal"' not in html  # no private messages
    assert (await panel.client.get("/panel/users/7001")).status == 404  # sells only elsewhere
    assert await found(panel, "7001") == [] and await found(panel, "") == [SELLER]

    # Nobody blocks a channel's admin (it would silently stop their decisions in the bot).
    olgas = await add_ads(db, mine, 1)
    await db.execute("UPDATE ads SET seller_id = $1 WHERE id = ANY($2)", ADMIN_A, olgas)
    token = await csrf(panel.client, f"/panel/users/{ADMIN_A}")
    response = await panel.client.post(f"/panel/users/{ADMIN_A}/block", data={"csrf_token": token})
    assert response.status == 403 and "moderates a channel" in await response.text()
    assert await db.fetchval("SELECT banned_at FROM users WHERE id = $1", ADMIN_A) is None


NOT_SERVED = "Operators read the messages of users who have written to support; this user has not."


async def test_an_operator_reads_a_users_messages_only_once_they_wrote_to_support(panel, db) -> None:
    channel_id = await market_channel(db)
    await bulk_ads(db, channel_id, 1)
    await db.execute(
        "INSERT INTO update_journal (bot_id, update_id, kind, user_id, chat_id, payload) "
        "VALUES (1, 1, 'message', $1, $1, $2::jsonb)",
        SELLER,
        '{"message": {"text": "Rad etildi: telefon raqami yoq"}}',
    )
    await make_staff(db, "olim", Role.OPERATOR)
    await login(panel.client, "olim")
    html = await (await panel.client.get(f"/panel/users/{SELLER}")).text()
    assert "Rad etildi" not in html and 'id="journal"' not in html and "/panel/messages?user=" not in html
    assert NOT_SERVED in html  # and why
    response = await panel.client.get(f"/panel/messages?user={SELLER}")
    assert response.status == 400 and NOT_SERVED in await response.text()

    # A closed ticket still counts: the operator served them.
    await db.execute(
        "INSERT INTO support_tickets (user_id, language, subject, status, closed_at) "
        "VALUES ($1, 'uz', 'Savol', 'closed', now())",
        SELLER,
    )
    html = await (await panel.client.get(f"/panel/users/{SELLER}")).text()
    assert "Rad etildi" in html and NOT_SERVED not in html


async def test_a_moderator_sees_no_private_messages_even_of_a_ticket_holder(panel, db) -> None:
    mine = await market_channel(db)
    await db.execute("UPDATE ads SET seller_id = $1 WHERE id = ANY($2)", SELLER, await add_ads(db, mine, 1))
    await db.execute(
        "INSERT INTO update_journal (bot_id, update_id, kind, user_id, chat_id, payload) "
        "VALUES (1, 1, 'message', $1, $1, $2::jsonb)",
        SELLER,
        '{"message": {"text": "Rad etildi: telefon raqami yoq"}}',
    )
    await db.execute(
        "INSERT INTO support_tickets (user_id, language, subject) VALUES ($1, 'uz', 'Savol')", SELLER
    )
    moderator = await make_staff(db, "moder", Role.MODERATOR)
    await staff_domain.give_channel(db, moderator.id, mine, by=None)
    await login(panel.client, "moder")
    response = await panel.client.get(f"/panel/users/{SELLER}")
    html = await response.text()
    assert response.status == 200 and "Rad etildi" not in html and NOT_SERVED not in html
    assert (await panel.client.get(f"/panel/messages?user={SELLER}")).status == 403


async def test_someone_blocked_who_becomes_a_channels_admin_is_unblocked_and_can_approve(
    bozor, sandbox, market
) -> None:
    zafar = await sandbox.user("Zafar", username="zafar_admin", language_code="en")
    await zafar.send("/start")
    await zafar.wait_for_bot("")
    async with bozor.pool.acquire() as conn:
        boss = await make_staff(conn, "boss", Role.ADMIN)
        async with conn.transaction():
            assert await users_domain.block(conn, zafar.id, boss, "spam")
        await channels.add_admin(conn, market["channel_id"], zafar.id)  # later made an admin
        unblocks = await conn.fetch(
            "SELECT staff_id, after FROM audit_log WHERE action = 'user.unblock' AND target = $1",
            f"user:{zafar.id}",
        )
    assert [(r["staff_id"], r["after"]["because"]) for r in unblocks] == [
        (None, f"became an admin of channel:{market['channel_id']}")
    ]

    await sandbox.limits(private_per_second=50, private_burst=50)  # the wizard is not the subject
    await fill_wizard(market["seller"], title="Velosiped Forward")
    await zafar.wait_for_bot("New ad #1", timeout=10)
    await zafar.press("✅ Approve")
    await market["channel"].wait_for_post("Velosiped Forward", timeout=10)
    assert REFUSAL not in str(await zafar.chat())

    # The same when Telegram's list of the channel's administrators names them.
    async with bozor.pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO users (id, first_name) VALUES (90001, 'Nodir') ON CONFLICT DO NOTHING"
        )
        async with conn.transaction():
            assert await users_domain.block(conn, 90001, boss, None)
        chat_id = await conn.fetchval("SELECT chat_id FROM channels WHERE id = $1", market["channel_id"])
        await channels.connect_chat(conn, market["channel_id"], chat_id, [90001])
        assert await conn.fetchval("SELECT banned_at FROM users WHERE id = 90001") is None
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM audit_log WHERE action = 'user.unblock' AND target = 'user:90001'"
            )
            == 1
        )
