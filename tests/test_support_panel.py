"""The support desk in the panel (aiohttp test client, real PostgreSQL): the queue, a ticket's
conversation, answers through the outbox, notes, assign, close, canned replies, the knowledge
base with import/export, teaching an entry from the desk, the desk's settings, live events."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from urllib.parse import unquote_plus

import aiohttp
import asyncpg
import pytest
from aiohttp import web

from app.bot.support_messages import BotDeskMessages
from app.db.queries.support_desk import SUPPORT_CHANNEL, NewMessage
from app.domain import channels
from app.domain.actors import StaffMember, TelegramUser
from app.domain.staff import Role
from app.domain.support import desk, kb
from app.domain.support.settings import DeskSettings
from app.i18n import Translator
from app.storage.disk import DiskStorage
from app.web import keys
from app.web.live import LIVE
from tests.helpers.images import png
from tests.helpers.panel import SECRET_KEY, Panel, build_panel, csrf, login, make_staff
from tests.helpers.polling import eventually
from tests.helpers.support import SAMPLE_KB, load_sample_kb

USER = 990001


def with_desk(app: web.Application, media: Path) -> None:
    app[keys.BOT_PARTS].desk_messages = BotDeskMessages(Translator("en"), "en")
    app[keys.STORAGE] = DiskStorage(media, "http://127.0.0.1/media")


@pytest.fixture
async def desk_panel(aiohttp_client, make_config, database_url: str, tmp_path: Path):
    """The panel with the bot's desk messages and a Storage, as app.main gives it."""
    config = make_config(SECRET_KEY=SECRET_KEY, DEFAULT_LANGUAGE="en")
    extra = functools.partial(with_desk, media=tmp_path / "media")
    async for built in build_panel(aiohttp_client, config, database_url, extra):
        yield built


async def a_ticket(db: asyncpg.Connection, text: str = "My ad vanished <b>help</b>", user: int = USER) -> int:
    await db.execute(
        "INSERT INTO users (id, first_name, username, language) VALUES ($1, 'Ali', 'ali', 'ru') "
        "ON CONFLICT DO NOTHING",
        user,
    )
    async with db.transaction():
        taken = await desk.take_message(
            db,
            TelegramUser(user),
            NewMessage("user", text),
            language="ru",
            settings=DeskSettings(),
            msgs=BotDeskMessages(Translator("en"), "en"),
        )
    return taken.ticket.id


async def post(
    panel: Panel, url: str, data: dict | None = None, page: str = "/panel/support"
) -> aiohttp.ClientResponse:
    token = await csrf(panel.client, page)
    return await panel.client.post(url, data={**(data or {}), "csrf_token": token}, allow_redirects=False)


async def outbox_to(db: asyncpg.Connection, chat_id: int) -> list[asyncpg.Record]:
    return await db.fetch(
        "SELECT method, params, ref_kind, status FROM outbox WHERE chat_id = $1 ORDER BY id", chat_id
    )


async def test_an_operator_answers_notes_assigns_and_closes_a_ticket(desk_panel: Panel, db) -> None:
    ticket_id = await a_ticket(db)
    operator = await make_staff(db, "nigora", Role.OPERATOR)
    await login(desk_panel.client, "nigora")

    queue = await (await desk_panel.client.get("/panel/support")).text()
    assert f'data-ticket="{ticket_id}"' in queue
    assert "My ad vanished &lt;b&gt;help&lt;/b&gt;" in queue  # what users type is shown escaped
    page_url = f"/panel/support/tickets/{ticket_id}"
    page = await (await desk_panel.client.get(page_url)).text()
    assert "My ad vanished &lt;b&gt;help&lt;/b&gt;" in page and "<b>help</b>" not in page
    assert "@ali" in page and "Language: ru" in page

    answered = await post(desk_panel, f"{page_url}/reply", {"text": "We restored it <i>now</i>"}, page_url)
    assert answered.status == 303
    [sent] = await outbox_to(db, USER)
    assert sent["method"] == "sendMessage" and sent["ref_kind"] == "support_message"
    assert sent["params"]["text"] == "💬 Поддержка: We restored it <i>now</i>"  # plain text, no markup
    assert "parse_mode" not in sent["params"]
    row = await db.fetchrow("SELECT status, assignee_id FROM support_tickets WHERE id = $1", ticket_id)
    assert (row["status"], row["assignee_id"]) == ("waiting", operator.id)  # answering takes it
    page = await (await desk_panel.client.get(page_url)).text()
    assert "We restored it &lt;i&gt;now&lt;/i&gt;" in page and 'data-delivery="pending"' in page

    assert (await post(desk_panel, f"{page_url}/note", {"text": "Checked the logs"}, page_url)).status == 303
    assert (await post(desk_panel, f"{page_url}/assign", {"staff_id": ""}, page_url)).status == 303
    assert await db.fetchval("SELECT assignee_id FROM support_tickets WHERE id = $1", ticket_id) is None
    assert len(await outbox_to(db, USER)) == 1  # a note is never sent

    assert (await post(desk_panel, f"{page_url}/close", {}, page_url)).status == 303
    sent = await outbox_to(db, USER)
    assert sent[-1]["ref_kind"] == "support_closed"
    stars = [b["text"] for b in sent[-1]["params"]["reply_markup"]["inline_keyboard"][0]]
    assert stars == ["⭐", "⭐⭐", "⭐⭐⭐", "⭐⭐⭐⭐", "⭐⭐⭐⭐⭐"]
    assert await db.fetchval("SELECT status FROM support_tickets WHERE id = $1", ticket_id) == "closed"
    refused = await post(desk_panel, f"{page_url}/reply", {"text": "one more"}, page_url)
    assert refused.status == 400 and "This ticket is closed" in await refused.text()
    assert len(await outbox_to(db, USER)) == 2
    actions = [r["action"] for r in await db.fetch("SELECT action FROM audit_log ORDER BY id")]
    assert actions[-2:] == ["support.assign", "support.close"]


async def test_the_ticket_shows_the_users_ads_earlier_tickets_and_that_they_blocked_the_bot(
    desk_panel: Panel, db
) -> None:
    earlier = await a_ticket(db, "where is my ad?")
    operator = await make_staff(db, "nigora", Role.OPERATOR)
    async with db.transaction():
        await desk.close(db, StaffMember(operator), earlier, msgs=BotDeskMessages(Translator("en"), "en"))
    await db.execute(  # weeks pass: writing again opens a new ticket
        "UPDATE support_tickets SET closed_at = now() - interval '30 days' WHERE id = $1", earlier
    )
    ticket_id = await a_ticket(db, "and now my second ad")
    assert ticket_id != earlier
    channel = await channels.create_channel(db, title="Bozor", chat_ref="@bozor_pub")
    published, rejected = [
        await db.fetchval(
            """INSERT INTO ads (seller_id, channel_id, title, description, negotiable, district, contact,
                                status, text_key)
               VALUES ($1, $2, $3, 'Text', true, 'Chilonzor', '+998901234567', $4, 'k-' || $3)
               RETURNING id""",
            USER,
            channel.id,
            title,
            status,
        )
        for title, status in (("Velosiped Stels", "published"), ("Divan <yangi>", "rejected"))
    ]
    await db.execute("UPDATE users SET blocked_bot_at = now() WHERE id = $1", USER)
    await login(desk_panel.client, "nigora")

    page = await (await desk_panel.client.get(f"/panel/support/tickets/{ticket_id}")).text()
    assert f'<a href="/panel/ads/{published}">#{published} Velosiped Stels</a> · Published' in page
    assert f'<a href="/panel/ads/{rejected}">#{rejected} Divan &lt;yangi&gt;</a> · Rejected' in page
    assert f'<a href="/panel/support/tickets/{earlier}">#{earlier} where is my ad?</a>' in page
    assert f'href="/panel/support/tickets/{ticket_id}">' not in page  # not its own earlier ticket
    assert "blocked the bot" in page


async def test_bad_answers_change_nothing(desk_panel: Panel, db) -> None:
    ticket_id = await a_ticket(db)
    await make_staff(db, "nigora", Role.OPERATOR)
    await login(desk_panel.client, "nigora")
    page_url = f"/panel/support/tickets/{ticket_id}"
    empty = await post(desk_panel, f"{page_url}/reply", {"text": "   "}, page_url)
    assert empty.status == 400 and "Write an answer or attach a photo." in await empty.text()
    long = await post(desk_panel, f"{page_url}/reply", {"text": "x" * 4097}, page_url)
    assert long.status == 400 and "at most 4096 characters" in await long.text()
    form = aiohttp.FormData({"csrf_token": await csrf(desk_panel.client, page_url), "text": "see"})
    form.add_field("photo", b"not an image", filename="x.jpg", content_type="image/jpeg")
    fake = await desk_panel.client.post(f"{page_url}/reply", data=form, allow_redirects=False)
    assert fake.status == 400 and "Attach a JPEG or PNG photo." in await fake.text()
    unknown = await post(desk_panel, f"{page_url}/reply", {"entry": "nope"}, page_url)
    assert unknown.status == 400
    missing = await post(desk_panel, "/panel/support/tickets/99999/reply", {"text": "hi"}, page_url)
    assert missing.status == 404
    assert await outbox_to(db, USER) == []
    assert await db.fetchval("SELECT count(*) FROM support_messages") == 1


async def test_an_answer_with_a_photo_goes_out_from_storage(desk_panel: Panel, db) -> None:
    ticket_id = await a_ticket(db)
    await make_staff(db, "nigora", Role.OPERATOR)
    await login(desk_panel.client, "nigora")
    page_url = f"/panel/support/tickets/{ticket_id}"
    form = aiohttp.FormData({"csrf_token": await csrf(desk_panel.client, page_url), "text": "Like this"})
    form.add_field("photo", png(), filename="how.png", content_type="image/png")
    assert (await desk_panel.client.post(f"{page_url}/reply", data=form, allow_redirects=False)).status == 303
    [sent] = await outbox_to(db, USER)
    assert sent["method"] == "sendPhoto" and sent["params"]["caption"] == "💬 Поддержка: Like this"
    key = sent["params"]["photo"]["$storage"]
    message_id = await db.fetchval("SELECT id FROM support_messages WHERE storage_key = $1", key)
    shown = await desk_panel.client.get(f"/panel/support/messages/{message_id}/file")
    assert shown.status == 200 and shown.content_type == "image/png"


async def test_an_answer_from_an_entry_teaches_the_entry_the_users_question(desk_panel: Panel, db) -> None:
    await load_sample_kb(db)
    question = "объява пропала куда то, верните"
    ticket_id = await a_ticket(db, question)
    await make_staff(db, "nigora", Role.OPERATOR)
    await login(desk_panel.client, "nigora")
    page_url = f"/panel/support/tickets/{ticket_id}"
    assert (
        await post(desk_panel, f"{page_url}/reply", {"entry": "kb10", "text": ""}, page_url)
    ).status == 303
    [sent] = await outbox_to(db, USER)
    entry = await kb.get_entry(db, "kb10")
    assert entry is not None
    [ru_answer] = [a.text for a in entry.answers if a.language == "ru"]
    assert sent["params"]["text"].endswith(ru_answer)  # the entry's answer in the ticket's language
    page = await (await desk_panel.client.get(page_url)).text()
    message_id = await db.fetchval("SELECT id FROM support_messages WHERE author = 'operator'")
    assert f"/panel/support/messages/{message_id}/learn" in page

    learned = await post(desk_panel, f"/panel/support/messages/{message_id}/learn", {}, page_url)
    assert learned.status == 303 and "kb10" in learned.headers["Location"]
    source = await db.fetchval(
        "SELECT source FROM support_kb_phrasings p JOIN support_kb_entries e ON e.id = p.entry_id "
        "WHERE e.key = 'kb10' AND p.text = $1",
        question,
    )
    assert source == "desk"
    again = await post(desk_panel, f"/panel/support/messages/{message_id}/learn", {}, page_url)
    assert "already has this question" in unquote_plus(again.headers["Location"])
    assert await db.fetchval("SELECT count(*) FROM support_kb_phrasings WHERE text = $1", question) == 1


async def test_the_queue_shows_unassigned_mine_and_closed(desk_panel: Panel, db) -> None:
    first = await a_ticket(db, "first question", user=990001)
    second = await a_ticket(db, "second question", user=990002)
    await make_staff(db, "nigora", Role.OPERATOR)
    await login(desk_panel.client, "nigora")
    url = f"/panel/support/tickets/{second}"
    assert (await post(desk_panel, f"{url}/assign", {"staff_id": "me"}, url)).status == 303
    unassigned = await (await desk_panel.client.get("/panel/support?view=unassigned")).text()
    mine = await (await desk_panel.client.get("/panel/support?view=mine")).text()
    assert f'data-ticket="{first}"' in unassigned and f'data-ticket="{second}"' not in unassigned
    assert f'data-ticket="{second}"' in mine and f'data-ticket="{first}"' not in mine
    closed = await (await desk_panel.client.get("/panel/support?view=all&status=closed")).text()
    assert "data-ticket=" not in closed


async def test_canned_replies_are_kept_and_offered_on_the_ticket(desk_panel: Panel, db) -> None:
    ticket_id = await a_ticket(db)
    await make_staff(db, "nigora", Role.OPERATOR)
    await login(desk_panel.client, "nigora")
    added = await post(
        desk_panel,
        "/panel/support/canned",
        {"title": "Greeting", "text": "Hello! <Checking>"},
        "/panel/support/canned",
    )
    assert added.status == 303
    twice = await post(
        desk_panel, "/panel/support/canned", {"title": "Greeting", "text": "x"}, "/panel/support/canned"
    )
    assert twice.status == 400 and "already a canned reply" in await twice.text()
    page = await (await desk_panel.client.get(f"/panel/support/tickets/{ticket_id}")).text()
    assert '<option value="Hello! &lt;Checking&gt;">Greeting</option>' in page


async def test_the_knowledge_base_imports_kb_json_as_is_and_exports_it_back(desk_panel: Panel, db) -> None:
    await make_staff(db, "boss", Role.ADMIN)
    await login(desk_panel.client, "boss")
    form = aiohttp.FormData({"csrf_token": await csrf(desk_panel.client, "/panel/support/kb")})
    form.add_field("file", SAMPLE_KB.read_bytes(), filename="kb.json", content_type="application/json")
    imported = await desk_panel.client.post("/panel/support/kb/import", data=form, allow_redirects=False)
    assert imported.status == 303 and "40 new" in unquote_plus(imported.headers["Location"])
    listing = await (await desk_panel.client.get("/panel/support/kb")).text()
    assert 'data-entry="kb01"' in listing and 'data-entry="kb40"' in listing

    exported = json.loads(await (await desk_panel.client.get("/panel/support/kb/export.json")).text())
    assert [e["id"] for e in exported] == sorted(e["id"] for e in json.loads(SAMPLE_KB.read_text()))
    csv_text = await (await desk_panel.client.get("/panel/support/kb/export.csv")).text()
    assert csv_text.startswith("\ufeffid,language,questions")  # the panel's export: Excel reads UTF-8

    form = aiohttp.FormData({"csrf_token": await csrf(desk_panel.client, "/panel/support/kb")})
    form.add_field("file", csv_text.encode(), filename="kb.csv", content_type="text/csv")
    again = await desk_panel.client.post("/panel/support/kb/import", data=form, allow_redirects=False)
    assert again.status == 303 and "40 unchanged" in unquote_plus(again.headers["Location"])

    form = aiohttp.FormData({"csrf_token": await csrf(desk_panel.client, "/panel/support/kb")})
    form.add_field("file", b'[{"id": "bad key!", "question": {}, "answer": {}}]', filename="x.json")
    bad = await desk_panel.client.post("/panel/support/kb/import", data=form, allow_redirects=False)
    assert bad.status == 400 and "cannot be an entry id" in await bad.text()
    assert await db.fetchval("SELECT count(*) FROM support_kb_entries") == 40


async def test_an_admin_writes_an_entry_the_matcher_then_answers_with(desk_panel: Panel, db) -> None:
    await make_staff(db, "boss", Role.ADMIN)
    await login(desk_panel.client, "boss")
    form = {
        "new": "1",
        "key": "parcel",
        "tags": "delivery, Post",
        "enabled": "on",
        "questions_en": "How do I wrap my parcel?\nparcel wrapping",
        "answer_en": "Use two layers of paper.",
        "buttons_en": "Our rules | https://example.com/rules",
    }
    saved = await post(desk_panel, "/panel/support/kb/save", form, "/panel/support/kb/new")
    assert saved.status == 303
    entry = await kb.get_entry(db, "parcel")
    assert entry is not None and entry.questions("en") == ["How do I wrap my parcel?", "parcel wrapping"]
    assert (
        entry.entry.tags == ("delivery", "post")
        and entry.answers[0].buttons[0].url == "https://example.com/rules"
    )
    page = await (await desk_panel.client.get("/panel/support/kb/entry/parcel")).text()
    assert "Use two layers of paper." in page

    broken = await post(
        desk_panel,
        "/panel/support/kb/save",
        {**form, "new": "0", "buttons_en": "no target"},
        "/panel/support/kb",
    )
    assert broken.status == 400 and "A button needs a text" in await broken.text()
    assert (
        await post(desk_panel, "/panel/support/kb/entry/parcel/toggle", {}, "/panel/support/kb")
    ).status == 303
    assert (await kb.get_entry(db, "parcel")).entry.enabled is False  # type: ignore[union-attr]


async def test_desk_settings_are_checked_and_used_at_once(desk_panel: Panel, db) -> None:
    await make_staff(db, "boss", Role.ADMIN)
    await login(desk_panel.client, "boss")
    good = {
        "hours": "08:30-17:00",
        "days": "1,2,3,4,5,6",
        "timezone": "Asia/Tashkent",
        "reopen_days": "3",
        "auto_answer": "0.5",
    }
    bad = await post(
        desk_panel, "/panel/support/settings", {**good, "hours": "9 to 5"}, "/panel/support/settings"
    )
    assert bad.status == 400 and "Working hours look like 09:00-18:00." in await bad.text()
    bad = await post(
        desk_panel, "/panel/support/settings", {**good, "auto_answer": "2"}, "/panel/support/settings"
    )
    assert bad.status == 400 and "must be a number from 0 to 1" in await bad.text()
    assert await db.fetchval("SELECT count(*) FROM settings WHERE name LIKE 'support_%'") == 0
    saved = await post(desk_panel, "/panel/support/settings", good, "/panel/support/settings")
    assert saved.status == 303
    running = desk_panel.app[keys.RUNNING_SETTINGS].desk
    assert (running.hours, running.reopen_days, running.thresholds.auto_answer) == ("08:30-17:00", 3, 0.5)
    assert running.days == frozenset({1, 2, 3, 4, 5, 6})


async def test_the_desk_is_live_new_tickets_and_answers_reach_the_websocket(desk_panel: Panel, db) -> None:
    await make_staff(db, "nigora", Role.OPERATOR)
    await login(desk_panel.client, "nigora")
    async with desk_panel.client.ws_connect("/panel/support/ws") as ws:

        async def subscribed() -> bool:
            return bool(desk_panel.app[LIVE].subscribers(SUPPORT_CHANNEL))

        await eventually(subscribed, what="the WebSocket subscribed")
        ticket_id = await a_ticket(db, "is anyone there?")
        event = await ws.receive_json(timeout=10)
        assert (event["event"], event["ticket_id"]) == ("ticket", ticket_id)
        url = f"/panel/support/tickets/{ticket_id}"
        await post(desk_panel, f"{url}/reply", {"text": "Yes!"}, url)
        event = await ws.receive_json(timeout=10)
        assert (event["event"], event["ticket_id"]) == ("message", ticket_id)
        await db.execute("UPDATE outbox SET status = 'blocked' WHERE ref_kind = 'support_message'")
        event = await ws.receive_json(timeout=10)
        assert event["event"] == "delivery" and event["status"] == "blocked"
    page = await (await desk_panel.client.get(url)).text()
    assert "the user blocked the bot" in page


async def test_a_moderator_cannot_work_on_tickets(desk_panel: Panel, db) -> None:
    ticket_id = await a_ticket(db)
    await make_staff(db, "moder", Role.MODERATOR)
    await login(desk_panel.client, "moder")
    assert (await desk_panel.client.get(f"/panel/support/tickets/{ticket_id}")).status == 403
    token = await csrf(desk_panel.client, "/panel")
    reply = await desk_panel.client.post(
        f"/panel/support/tickets/{ticket_id}/reply",
        data={"csrf_token": token, "text": "hi"},
        allow_redirects=False,
    )
    assert reply.status == 403 and await outbox_to(db, USER) == []


async def test_an_answer_photo_is_uploaded_with_the_entry(desk_panel: Panel, db) -> None:
    await make_staff(db, "boss", Role.ADMIN)
    await login(desk_panel.client, "boss")
    fields = {
        "new": "1",
        "key": "wrap",
        "enabled": "on",
        "questions_en": "How to wrap?",
        "answer_en": "Like this.",
    }
    form = aiohttp.FormData({**fields, "csrf_token": await csrf(desk_panel.client, "/panel/support/kb/new")})
    form.add_field("photo_file_en", png(), filename="wrap.png", content_type="image/png")
    saved = await desk_panel.client.post("/panel/support/kb/save", data=form, allow_redirects=False)
    assert saved.status == 303
    entry = await kb.get_entry(db, "wrap")
    assert entry is not None and (entry.answers[0].photo_key or "").startswith("support/kb/")
    stored = await desk_panel.app[keys.STORAGE].get(entry.answers[0].photo_key or "")
    assert stored.content_type == "image/png"


async def test_a_multipart_answer_with_the_photo_input_left_empty_is_sent(desk_panel: Panel, db) -> None:
    """What a browser sends when no photo is chosen: the file part, empty and without a filename."""
    ticket_id = await a_ticket(db)
    await make_staff(db, "nigora", Role.OPERATOR)
    await login(desk_panel.client, "nigora")
    page_url = f"/panel/support/tickets/{ticket_id}"
    writer = aiohttp.MultipartWriter("form-data")
    for name, value in (("csrf_token", await csrf(desk_panel.client, page_url)), ("text", "Done")):
        writer.append(value).set_content_disposition("form-data", name=name)
    writer.append(b"", {"Content-Type": "application/octet-stream"}).set_content_disposition(
        "form-data", name="photo", filename=""
    )
    sent = await desk_panel.client.post(f"{page_url}/reply", data=writer, allow_redirects=False)
    assert sent.status == 303
    [row] = await outbox_to(db, USER)
    assert row["method"] == "sendMessage" and row["params"]["text"].endswith("Done")
