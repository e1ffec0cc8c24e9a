"""The web chat's WebSocket: live delivery, receipts, typing, Origin, per-frame authorisation,
fan-out across processes (batched NOTIFYs), and catching up after a restart from the database."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from app.db.pool import create_pool
from app.db.queries.chat import CHANNEL, NOTIFY_BYTES
from app.domain.chat import accounts
from app.domain.chat.conversations import MAX_PAGE
from app.web.chat.realtime import CHAT_HUB, MAX_OUTGOING, ChatHub, pack, unpack
from app.web.chat.socket import CATCH_UP_PAGES
from tests.helpers.chat import ad_for_sale, post, register, start_about, with_media
from tests.helpers.panel import SECRET_KEY, Panel, build_panel


@pytest.fixture
def site(aiohttp_client, make_config, database_url: str, tmp_path: Path) -> Callable[[], Any]:
    """Start web processes on one database: each call is another process (its own pool, its
    own LISTEN connection), closed with `await started.aclose()`."""
    config = make_config(SECRET_KEY=SECRET_KEY, DEFAULT_LANGUAGE="en")

    def start() -> AsyncIterator[Panel]:
        return build_panel(aiohttp_client, config, database_url, with_media(tmp_path / "media"))

    return start


async def _socket(panel: Panel, after: int = 0, origin: str | None = None) -> aiohttp.ClientWebSocketResponse:
    origin = origin or str(panel.client.make_url("")).rstrip("/")
    return await panel.client.ws_connect(f"/chat/ws?after={after}", headers={"Origin": origin})


async def _until(
    ws: aiohttp.ClientWebSocketResponse, done: Callable[[dict[str, Any]], bool]
) -> list[dict[str, Any]]:
    frames = []
    while True:
        msg = await ws.receive(timeout=10)
        assert msg.type == aiohttp.WSMsgType.TEXT, msg
        frames.append(json.loads(msg.data))
        if done(frames[-1]):
            return frames


def _is(kind: str) -> Callable[[dict[str, Any]], bool]:
    return lambda frame: frame["type"] == kind


async def _pair(db: asyncpg.Connection, one: Panel, two: Panel) -> int:
    """Aziz (in process one) writes to Ali's ad; Ali reads in process two. The conversation id."""
    ad_id = await ad_for_sale(db)
    await register(one.client, "aziz", name="Aziz")
    conversation_id = await start_about(one.client, ad_id)
    from tests.helpers.ads import SELLER

    token = await accounts.web_link(db, SELLER, "/chat")
    assert (await post(two.client, f"/chat/login/once/{token}", f"/chat/login/once/{token}")).status == 303
    return conversation_id


async def test_two_pages_chat_live_with_receipts_and_typing(site, db: asyncpg.Connection) -> None:
    started = site()
    panel = await anext(started)
    other = site()
    seller = await anext(other)
    try:
        conversation_id = await _pair(db, panel, seller)
        buyer_ws, seller_ws = await _socket(panel), await _socket(seller)
        await _until(buyer_ws, _is("ready"))
        await _until(seller_ws, _is("ready"))
        online = (await _until(buyer_ws, _is("presence")))[-1]  # the seller's page opened
        seller_id = await db.fetchval(
            "SELECT other_id FROM chat_conversations WHERE id = $1", conversation_id
        )
        assert online == {"type": "presence", "account_id": seller_id, "online": True}

        frame = {"type": "send", "conversation_id": conversation_id, "body": "Salom", "client_id": "c-1"}
        await buyer_ws.send_json(frame)
        sent = (await _until(buyer_ws, _is("sent")))[-1]
        assert sent["client_id"] == "c-1" and sent["message"]["body"] == "Salom"
        got = (await _until(seller_ws, _is("message")))[-1]["message"]
        assert got["id"] == sent["message"]["id"] and got["body"] == "Salom"

        await seller_ws.send_json({"type": "read", "conversation_id": conversation_id, "upto": got["id"]})
        receipt = (await _until(buyer_ws, _is("read")))[-1]
        assert receipt["upto"] == got["id"] and receipt["conversation_id"] == conversation_id
        await seller_ws.send_json({"type": "typing", "conversation_id": conversation_id})
        assert (await _until(buyer_ws, _is("typing")))[-1]["conversation_id"] == conversation_id

        await buyer_ws.send_json(frame)  # the same client id again (a resend): stored once
        again = (await _until(buyer_ws, _is("sent")))[-1]
        assert again["message"]["id"] == sent["message"]["id"]
        assert await db.fetchval("SELECT count(*) FROM chat_messages") == 1
        await seller_ws.close()
        offline = (await _until(buyer_ws, _is("presence")))[-1]
        assert offline == {"type": "presence", "account_id": seller_id, "online": False}
        await buyer_ws.close()
    finally:
        await other.aclose()
        await started.aclose()


async def test_the_socket_checks_origin_sign_in_and_every_frame(site, db: asyncpg.Connection) -> None:
    started = site()
    panel = await anext(started)
    try:
        ad_id = await ad_for_sale(db)
        await register(panel.client, "bekzod")
        mine = await start_about(panel.client, ad_id)
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await _socket(panel, origin="https://evil.example")
        assert refused.value.status == 403
        async with aiohttp.ClientSession() as anonymous:
            url = panel.client.make_url("/chat/ws")
            with pytest.raises(aiohttp.WSServerHandshakeError) as anon:
                await anonymous.ws_connect(
                    url, headers={"Origin": str(panel.client.make_url("")).rstrip("/")}
                )
            assert anon.value.status == 401

        # Someone else's conversation through the socket: it does not exist for them.
        ws = await _socket(panel)
        await _until(ws, _is("ready"))
        stranger_conversation = mine + 1000
        await ws.send_json(
            {"type": "send", "conversation_id": stranger_conversation, "body": "x", "client_id": "s"}
        )
        error = (await _until(ws, _is("error")))[-1]
        assert error["code"] == "not_found" and error["client_id"] == "s"
        await ws.send_str("not json")
        assert (await _until(ws, _is("error")))[-1]["code"] == "bad_frame"

        # Signed out everywhere (another tab): the socket is closed at once, with no frame of its own.
        assert (await post(panel.client, "/chat/logout/everywhere", "/chat")).status == 303
        closed = await ws.receive(timeout=10)
        assert closed.type == aiohttp.WSMsgType.CLOSE and closed.data == 4401
        assert await db.fetchval("SELECT count(*) FROM chat_messages") == 0
    finally:
        await started.aclose()


async def test_a_socket_opened_with_an_api_token_closes_once_the_token_is_revoked(
    site, db: asyncpg.Connection
) -> None:
    """Revoked in one process, the token's socket in another is closed at once; a revocation
    whose event was lost (LISTEN down) still closes it at its next frame after the catch-up."""
    started = site()
    panel = await anext(started)
    elsewhere = site()
    program_side = await anext(elsewhere)
    try:
        ad_id = await ad_for_sale(db)
        await register(panel.client, "dilnoza")
        mine = await start_about(panel.client, ad_id)
        account_id = await db.fetchval("SELECT id FROM chat_accounts WHERE username = 'dilnoza'")
        token = (await accounts.create_api_token(db, account_id, "script"))[1]
        token_id = await db.fetchval("SELECT id FROM chat_api_tokens WHERE account_id = $1", account_id)
        async with aiohttp.ClientSession() as program:  # no cookies, no Origin: only the token
            url = program_side.client.make_url("/chat/ws")
            ws = await program.ws_connect(url, headers={"Authorization": f"Bearer {token}"})
            await _until(ws, _is("ready"))
            send = {"type": "send", "conversation_id": mine}
            await ws.send_json(send | {"body": "while valid", "client_id": "t-1"})
            assert (await _until(ws, _is("sent")))[-1]["message"]["body"] == "while valid"

            # Revoked on the account page (another tab, another process): closed without a frame.
            page = "/chat/account"
            assert (await post(panel.client, f"/chat/account/tokens/{token_id}/revoke", page)).status == 303
            assert await db.fetchval("SELECT revoked_at FROM chat_api_tokens WHERE id = $1", token_id)
            closed = await ws.receive(timeout=10)
            assert closed.type == aiohttp.WSMsgType.CLOSE and closed.data == 4401
            with pytest.raises(aiohttp.WSServerHandshakeError) as again:
                await program.ws_connect(url, headers={"Authorization": f"Bearer {token}"})
            assert again.value.status == 401

            # A second token revoked behind the hub's back (its event lost, as with LISTEN down):
            # the catch-up after a lost LISTEN makes the socket check again, and close, though
            # it only listens.
            second = (await accounts.create_api_token(db, account_id, "script 2"))[1]
            ws = await program.ws_connect(url, headers={"Authorization": f"Bearer {second}"})
            await _until(ws, _is("ready"))
            await ws.send_json(send | {"body": "second, while valid", "client_id": "t-3"})
            await _until(ws, _is("sent"))
            await db.execute("UPDATE chat_api_tokens SET revoked_at = now() WHERE revoked_at IS NULL")
            program_side.client.app[CHAT_HUB].catch_up_all()
            closed = await ws.receive(timeout=10)
            assert closed.type == aiohttp.WSMsgType.CLOSE and closed.data == 4401
            bodies = await db.fetch("SELECT body FROM chat_messages ORDER BY id")
            assert [row["body"] for row in bodies] == ["while valid", "second, while valid"]
    finally:
        await elsewhere.aclose()
        await started.aclose()


async def test_frames_for_someone_elses_conversation_are_refused_as_if_it_did_not_exist(
    site, db: asyncpg.Connection
) -> None:
    """A stranger's send, read and typing frames for an existing conversation of two others get
    the same error as for no conversation at all, and change nothing: no message, no read mark,
    nothing on the others' pages."""
    first = site()
    buyer = await anext(first)
    second = site()
    seller = await anext(second)
    base = str(seller.client.make_url("/"))
    stranger = aiohttp.ClientSession(base_url=base, cookie_jar=aiohttp.CookieJar(unsafe=True))
    try:
        conversation_id = await _pair(db, buyer, seller)
        buyer_ws, seller_ws = await _socket(buyer), await _socket(seller)
        for ws in (buyer_ws, seller_ws):
            await _until(ws, _is("ready"))
        send = {"type": "send", "conversation_id": conversation_id}
        await buyer_ws.send_json(send | {"body": "Salom", "client_id": "b-1"})
        await _until(buyer_ws, _is("sent"))
        message_id = (await _until(seller_ws, _is("message")))[-1]["message"]["id"]
        marks = "SELECT account_id, last_read_id FROM chat_members WHERE conversation_id = $1 ORDER BY 1"
        before = await db.fetch(marks, conversation_id)

        # Eve, signed in on the seller's process (whose pages get its events at once).
        assert (await register(stranger, "eve")).status == 303
        origin = base.rstrip("/")
        eve = await stranger.ws_connect("/chat/ws?after=0", headers={"Origin": origin})
        await _until(eve, _is("ready"))
        missing = conversation_id + 1000
        frames = [
            {"type": "send", "body": "hi from eve", "client_id": "e-1"},
            {"type": "read", "upto": message_id},
            {"type": "typing"},
        ]
        for frame in frames:
            answers = []
            for target in (conversation_id, missing):
                await eve.send_json(frame | {"conversation_id": target})
                answers.append((await _until(eve, _is("error")))[-1])
            theirs, nowhere = answers
            assert theirs == nowhere and theirs["code"] == "not_found", frame
            assert theirs["client_id"] == frame.get("client_id")

        assert await db.fetchval("SELECT count(*) FROM chat_messages") == 1
        assert await db.fetch(marks, conversation_id) == before
        # The next thing either page gets is the buyer's next message: no typing, no receipt,
        # no message from Eve came before it.
        await buyer_ws.send_json(send | {"body": "still here", "client_id": "b-2"})
        for ws in (seller_ws, buyer_ws):
            got = await _until(ws, lambda f: f["type"] in ("message", "sent", "read", "typing"))
            assert got[-1]["type"] in ("message", "sent") and got[-1]["message"]["body"] == "still here"
        await eve.close()
        for ws in (buyer_ws, seller_ws):
            await ws.close()
    finally:
        await stranger.close()
        await second.aclose()
        await first.aclose()


async def test_after_a_restart_the_page_catches_up_from_the_database(site, db: asyncpg.Connection) -> None:
    first = site()
    buyer = await anext(first)
    second = site()
    seller = await anext(second)
    try:
        conversation_id = await _pair(db, buyer, seller)
        seller_ws = await _socket(seller)
        await _until(seller_ws, _is("ready"))
        buyer_ws = await _socket(buyer)
        await _until(buyer_ws, _is("ready"))
        send = {"type": "send", "conversation_id": conversation_id}
        await buyer_ws.send_json(send | {"body": "before", "client_id": "b-0"})
        seen = (await _until(seller_ws, _is("message")))[-1]["message"]["id"]

        await second.aclose()  # the seller's process stops: its socket closes
        assert (await seller_ws.receive(timeout=10)).type in (
            aiohttp.WSMsgType.CLOSE,
            aiohttp.WSMsgType.CLOSED,
        )
        for n in range(1, 4):
            await buyer_ws.send_json(send | {"body": f"while away {n}", "client_id": f"b-{n}"})
            await _until(buyer_ws, _is("sent"))

        third = site()  # the seller's process again: a new hub, nothing in memory
        seller = await anext(third)
        try:
            from app.domain.chat import accounts
            from tests.helpers.ads import SELLER

            token = await accounts.web_link(db, SELLER, "/chat")
            await post(seller.client, f"/chat/login/once/{token}", f"/chat/login/once/{token}")
            seller_ws = await _socket(seller, after=seen)
            frames = await _until(seller_ws, _is("ready"))
            shown = {f["message"]["id"]: f["message"]["body"] for f in frames if f["type"] == "message"}
            shown.pop(seen, None)  # the last seconds are sent again; the page drops what it shows
            assert sorted(shown.values()) == ["while away 1", "while away 2", "while away 3"]
            await buyer_ws.send_json(send | {"body": "and now live", "client_id": "b-9"})
            live = (await _until(seller_ws, _is("message")))[-1]["message"]
            assert live["body"] == "and now live"
            await seller_ws.close()
        finally:
            await third.aclose()
        await buyer_ws.close()
        assert await db.fetchval("SELECT count(*) FROM chat_messages") == 5
    finally:
        await first.aclose()


async def _flood(db: asyncpg.Connection, conversation_id: int, count: int) -> list[int]:
    """`count` messages from the buyer at once (all within the catch-up's overlap): their ids."""
    rows = await db.fetch(
        """WITH m AS (
               INSERT INTO chat_messages (conversation_id, sender_id, body, via)
               SELECT c.id, c.starter_id, 'flood ' || n, 'api'
               FROM chat_conversations c, generate_series(1, $2) n WHERE c.id = $1
               RETURNING id),
           bumped AS (UPDATE chat_conversations SET last_message_id = (SELECT max(id) FROM m) WHERE id = $1)
           SELECT id FROM m ORDER BY id""",
        conversation_id,
        count,
    )
    return [row["id"] for row in rows]


async def test_a_reconnect_gets_every_missed_message_once_when_the_last_seconds_hold_many(
    site, db: asyncpg.Connection
) -> None:
    """More than a page (200) of messages within the last 30 s, which a catch-up repeats: the
    page still gets all of them, each once, and nothing more."""
    started = site()
    panel = await anext(started)
    try:
        ad_id = await ad_for_sale(db)
        await register(panel.client, "jasur")
        conversation_id = await start_about(panel.client, ad_id)
        ids = await _flood(db, conversation_id, 450)
        ws = await _socket(panel, after=ids[0] - 1)
        frames = await _until(ws, _is("ready"))
        got = [f["message"]["id"] for f in frames if f["type"] == "message"]
        assert got == ids  # every one, in order, none twice
        assert frames[-1]["latest"] == ids[-1]
        assert not [f for f in frames if f["type"] == "reload"]
        await ws.close()
    finally:
        await started.aclose()


async def test_past_what_a_socket_replays_the_page_is_told_to_reload(site, db: asyncpg.Connection) -> None:
    started = site()
    panel = await anext(started)
    try:
        ad_id = await ad_for_sale(db)
        await register(panel.client, "nodir")
        conversation_id = await start_about(panel.client, ad_id)
        ids = await _flood(db, conversation_id, CATCH_UP_PAGES * MAX_PAGE + 1)
        ws = await _socket(panel, after=ids[0] - 1)
        frames = await _until(ws, _is("ready"))
        got = [f["message"]["id"] for f in frames if f["type"] == "message"]
        assert got == ids[:-1]  # as many as a socket replays, then no silent gap:
        assert frames[-2] == {"type": "reload", "latest": ids[-1]}
        assert frames[-1] == {"type": "ready", "latest": ids[-1]}
        # The reloaded page asks from the newest id: it is not told to reload again (the last
        # 30 s are repeated as far as a socket replays, but nothing newer is left unsent).
        again = await _until(await _socket(panel, after=ids[-1]), _is("ready"))
        assert [f for f in again if f["type"] == "reload"] == []
        assert again[-1] == {"type": "ready", "latest": ids[-1]}
        await ws.close()
    finally:
        await started.aclose()


async def test_a_message_reaches_each_page_once_in_this_and_other_processes(
    site, db: asyncpg.Connection
) -> None:
    """The sending process shows a message on its own pages at once and tells the others in a
    batch NOTIFY, which it skips itself: every page gets each message exactly once."""
    heard: list[dict[str, Any]] = []
    await db.add_listener(CHANNEL, lambda *args: heard.append(json.loads(args[3])))
    first = site()
    buyer = await anext(first)
    second = site()
    seller = await anext(second)
    try:
        conversation_id = await _pair(db, buyer, seller)
        tab_one, tab_two, seller_ws = await _socket(buyer), await _socket(buyer), await _socket(seller)
        for ws in (tab_one, tab_two, seller_ws):
            await _until(ws, _is("ready"))
        for n in range(1, 6):
            frame = {
                "type": "send",
                "conversation_id": conversation_id,
                "body": f"m{n}",
                "client_id": f"c{n}",
            }
            await tab_one.send_json(frame)
        await _until(tab_one, lambda f: f["type"] == "sent" and f["message"]["body"] == "m5")
        last = lambda f: f["type"] == "message" and f["message"]["body"] == "m5"  # noqa: E731
        for ws in (tab_two, seller_ws):
            shown = [f["message"]["body"] for f in await _until(ws, last) if f["type"] == "message"]
            assert shown == ["m1", "m2", "m3", "m4", "m5"]
        # One more message, then nothing of the first five may follow on either page.
        await tab_one.send_json(
            {"type": "send", "conversation_id": conversation_id, "body": "m6", "client_id": "c6"}
        )
        for ws in (tab_two, seller_ws):
            after = await _until(ws, lambda f: f["type"] == "message" and f["message"]["body"] == "m6")
            assert [f["message"]["body"] for f in after if f["type"] == "message"] == ["m6"]

        # What the other processes heard: the buyer's process's batches, every message in order
        # (the seller's process sent its own, with the seller's presence).
        messages = [
            (payload["from"], event["message"]["body"])
            for payload in heard
            if "events" in payload
            for event in payload["events"]
            if event["kind"] == "message"
        ]
        node = buyer.app[CHAT_HUB].node
        assert messages == [(node, f"m{n}") for n in range(1, 7)]
        for ws in (tab_one, tab_two, seller_ws):
            await ws.close()
    finally:
        await second.aclose()
        await first.aclose()


def test_batches_fit_notify_and_long_messages_travel_as_their_id() -> None:
    long_body = "ж" * 3500  # 7,000 bytes in UTF-8: too long for a NOTIFY with its event
    events = [
        {
            "kind": "message",
            "to": [1, 2],
            "id": n,
            "message": {"id": n, "body": long_body if n == 3 else "б" * 900},
        }
        for n in range(1, 41)
    ]
    payloads = pack("node-a", events)
    assert len(payloads) > 1 and all(len(p.encode()) <= NOTIFY_BYTES for p in payloads)
    got = [event for p in payloads for event in unpack("node-b", p)]
    assert [event["id"] for event in got] == list(range(1, 41))  # all of them, in order
    assert "message" not in got[2] and got[3]["message"]["body"] == "б" * 900
    assert all(unpack("node-a", p) == [] for p in payloads)  # its own: delivered when published
    single = json.dumps({"kind": "typing", "to": [1], "conversation_id": 5, "account_id": 2})
    assert unpack("node-a", single) == [json.loads(single)]  # a commit's NOTIFY: everyone's


async def test_events_wait_while_the_database_is_away_and_too_many_become_a_catch_up(
    database_url: str, db: asyncpg.Connection
) -> None:
    heard: list[str] = []
    await db.add_listener(CHANNEL, lambda *args: heard.append(args[3]))
    broken = await create_pool(database_url, min_size=1, max_size=1)
    await broken.close()  # the database cannot be reached through it
    hub = ChatHub(broken)
    hub.outgoing = [{"kind": "typing", "to": [7], "conversation_id": 1, "account_id": n} for n in range(3)]
    with pytest.raises(asyncpg.InterfaceError):
        await hub.flush()
    assert [event["account_id"] for event in hub.outgoing] == [0, 1, 2]  # kept, in order
    hub.pool = await create_pool(database_url, min_size=1, max_size=1)
    try:
        await hub.flush()
        await db.execute("SELECT 1")  # notifications arrive before the next answer
        events = [event for payload in heard for event in json.loads(payload)["events"]]
        assert [event["account_id"] for event in events] == [0, 1, 2] and hub.outgoing == []

        heard.clear()
        hub.outgoing = [{"kind": "typing", "to": [7], "conversation_id": 1, "account_id": 0}] * MAX_OUTGOING
        hub._queue([{"kind": "typing", "to": [7], "conversation_id": 1, "account_id": 1}])
        await hub.flush()
        await db.execute("SELECT 1")
        assert [json.loads(payload)["events"] for payload in heard] == [[{"kind": "catch_up", "to": []}]]
    finally:
        await hub.pool.close()
