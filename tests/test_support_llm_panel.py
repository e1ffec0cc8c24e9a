"""LLM help for operators in the panel (E6), against a small OpenAI-compatible server of our own:
the settings (the key encrypted at rest), "Draft an answer" grounded in the knowledge base and
the conversation, edited and sent; a slow or failing endpoint is a note, and the desk goes on."""

from __future__ import annotations

import asyncio
import functools
import html
import json
from pathlib import Path

import aiohttp
import asyncpg
import pytest
from aiohttp import web

from app.bot.support_messages import BotDeskMessages
from app.db.queries import support_desk as desk_q
from app.db.queries.support_desk import NewMessage
from app.domain import staff as staff_domain
from app.domain.actors import TelegramUser
from app.domain.staff import Role
from app.domain.support import desk, drafts, kb, matching
from app.domain.support.llm_settings import LlmSettings
from app.domain.support.matching import Thresholds
from app.domain.support.settings import DeskSettings
from app.i18n import Translator
from app.storage.disk import DiskStorage
from app.web import keys
from tests.helpers.llm import FakeLlm, llm_form
from tests.helpers.panel import JSON, SECRET_KEY, Panel, build_panel, csrf, login, make_staff
from tests.helpers.polling import eventually
from tests.helpers.support import load_sample_kb

USER = 990101
ASKED = "Можно оформить рассрочку на товар?"
THEN = "и сколько ждать проверки объявления?"


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


async def user_writes(db: asyncpg.Connection, text: str, user: int = USER) -> int:
    await db.execute(
        "INSERT INTO users (id, first_name, language) VALUES ($1, 'Ivan', 'ru') ON CONFLICT DO NOTHING", user
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


async def post(panel: Panel, url: str, data: dict[str, str], page: str, **kw) -> aiohttp.ClientResponse:
    token = await csrf(panel.client, page)
    return await panel.client.post(url, data={**data, "csrf_token": token}, allow_redirects=False, **kw)


async def configure(panel: Panel, fake: FakeLlm, **form) -> None:
    answer = await post(panel, "/panel/settings", llm_form(fake, **form), "/panel/settings")
    assert answer.status == 303, await answer.text()


def reply_box(page: str) -> str:
    start = page.index('id="reply-text"')
    return html.unescape(page[page.index(">", start) + 1 : page.index("</textarea>", start)])


async def outbox_texts(db: asyncpg.Connection) -> list[str]:
    rows = await db.fetch("SELECT params FROM outbox WHERE chat_id = $1 ORDER BY id", USER)
    return [r["params"]["text"] for r in rows]


async def test_llm_settings_are_checked_and_the_key_is_kept_encrypted(
    desk_panel: Panel, db, fake_llm
) -> None:
    ticket_id = await user_writes(db, ASKED)
    await make_staff(db, "boss", Role.ADMIN)
    await login(desk_panel.client, "boss")
    page_url = f"/panel/support/tickets/{ticket_id}"

    # Off by default: no button, and asking anyway is refused without a call.
    assert "Draft an answer" not in await (await desk_panel.client.get(page_url)).text()
    off = await post(desk_panel, f"{page_url}/draft", {}, page_url)
    assert off.status == 400 and "LLM help is off" in await off.text()

    settings = "/panel/settings"
    for bad, said in [
        ({"llm_base_url": ""}, "To switch the LLM on, give its base URL and a model."),
        ({"llm_base_url": "ftp://llm.example"}, "The LLM&#39;s base URL looks like"),
        ({"llm_model": "two words"}, "A model name has up to 100"),
        ({"llm_timeout": "soon"}, "time-out is a number of seconds from 0.1 to 120"),
        ({"llm_timeout": "0"}, "time-out is a number of seconds from 0.1 to 120"),
    ]:
        refused = await post(desk_panel, settings, {**llm_form(fake_llm), **bad}, settings)
        assert refused.status == 400 and said in await refused.text(), bad
    assert not desk_panel.app[keys.RUNNING_SETTINGS].llm.enabled

    key = "sk-test-0123456789-secret"
    await configure(desk_panel, fake_llm, timeout="2.5", key=key)
    running = desk_panel.app[keys.RUNNING_SETTINGS].llm
    assert (running.enabled, running.model, running.timeout, running.auto_draft) == (
        True,
        "bozor-test-model",
        2.5,
        False,
    )
    assert await staff_domain.get_secret(db, "llm_api_key", secret_key=SECRET_KEY) == key
    stored = await db.fetchval("SELECT ciphertext FROM settings_secrets WHERE name = 'llm_api_key'")
    assert key not in stored  # encrypted at rest
    page = await (await desk_panel.client.get(settings)).text()
    assert key not in page and fake_llm.url in page and 'name="llm_enabled" id="llm_enabled" checked' in page
    audit = await db.fetchval("SELECT string_agg(a::text, ' ') FROM audit_log a")
    assert "settings.llm" in audit and "secret:llm_api_key" in audit and key not in audit

    assert "Draft an answer" in await (await desk_panel.client.get(page_url)).text()
    await post(desk_panel, f"{page_url}/draft", {}, page_url)
    assert fake_llm.keys == [f"Bearer {key}"]  # the key goes to the endpoint, nowhere else

    # Saving again without a key keeps it; "delete the stored key" forgets it.
    await configure(desk_panel, fake_llm)
    assert await staff_domain.secret_is_set(db, "llm_api_key")
    forget = {**llm_form(fake_llm), "llm_forget_key": "on"}
    assert (await post(desk_panel, settings, forget, settings)).status == 303
    assert not await staff_domain.secret_is_set(db, "llm_api_key")


async def test_a_draft_grounded_in_the_knowledge_base_is_edited_and_sent(
    desk_panel: Panel, db, fake_llm
) -> None:
    await load_sample_kb(db)
    ticket_id = await user_writes(db, ASKED)
    await user_writes(db, THEN)
    await make_staff(db, "nigora", Role.OPERATOR)
    await make_staff(db, "boss", Role.ADMIN)
    await login(desk_panel.client, "boss")
    await configure(desk_panel, fake_llm)
    await login(desk_panel.client, "nigora")
    page_url = f"/panel/support/tickets/{ticket_id}"

    drafted = await post(desk_panel, f"{page_url}/draft", {}, page_url)
    assert drafted.status == 200
    assert reply_box(await drafted.text()) == fake_llm.text  # in the answer box, to edit

    # What the LLM read: the best entries for the user's messages in Russian, and the conversation.
    best = (await matching.match(db, f"{ASKED} {THEN}", "ru")).candidates[0]
    answer = await kb.answer_for(db, best.entry_id, "ru")
    assert answer is not None
    system = fake_llm.system()
    assert "in Russian" in system and f"- {best.key}: {' '.join(answer.text.split())}" in system
    assert fake_llm.conversation() == [("user", ASKED), ("user", THEN)]
    assert fake_llm.requests[-1]["model"] == "bozor-test-model"

    # From the page's script: the same draft as JSON.
    token = await csrf(desk_panel.client, page_url)
    as_json = await desk_panel.client.post(
        f"{page_url}/draft", data={"csrf_token": token}, headers=JSON, allow_redirects=False
    )
    body = await as_json.json()
    assert body["ok"] is True and body["text"] == fake_llm.text and best.key in body["entries"]
    assert await outbox_texts(db) == []  # a draft is never sent by itself

    edited = fake_llm.text + " Напишите продавцу в чат."
    sent = await post(desk_panel, f"{page_url}/reply", {"text": edited}, page_url)
    assert sent.status == 303
    assert await outbox_texts(db) == [f"💬 Поддержка: {edited}"]


async def test_a_slow_or_failing_llm_is_a_note_and_the_desk_goes_on(desk_panel: Panel, db, fake_llm) -> None:
    ticket_id = await user_writes(db, ASKED)
    await make_staff(db, "boss", Role.ADMIN)
    await login(desk_panel.client, "boss")
    page_url = f"/panel/support/tickets/{ticket_id}"

    await configure(desk_panel, fake_llm, timeout="0.2")
    fake_llm.mode = "slow"
    timed_out = await post(desk_panel, f"{page_url}/draft", {}, page_url)
    page = await timed_out.text()
    assert timed_out.status == 200 and "The LLM did not answer within 0.2 s: no draft." in page
    assert reply_box(page) == "" and "Draft an answer" in page  # the page works as before
    token = await csrf(desk_panel.client, page_url)
    as_json = await desk_panel.client.post(f"{page_url}/draft", data={"csrf_token": token}, headers=JSON)
    assert (await as_json.json())["note"].startswith("The LLM did not answer within 0.2 s")

    fake_llm.mode = "fail"
    failed = await (await post(desk_panel, f"{page_url}/draft", {}, page_url)).text()
    assert "refused the request (HTTP 503: the model is overloaded)" in html.unescape(failed)
    fake_llm.mode = "empty"
    empty = await (await post(desk_panel, f"{page_url}/draft", {}, page_url)).text()
    assert "The LLM answered nothing usable" in empty
    unreachable = {**llm_form(fake_llm), "llm_base_url": "http://127.0.0.1:9/v1"}
    assert (await post(desk_panel, "/panel/settings", unreachable, "/panel/settings")).status == 303
    gone = await (await post(desk_panel, f"{page_url}/draft", {}, page_url)).text()
    assert "The LLM endpoint cannot be reached" in gone

    # While the LLM is slow to answer, the operator and the desk carry on.
    await configure(desk_panel, fake_llm, timeout="60")
    fake_llm.mode, fake_llm.arrived = "slow", asyncio.Event()
    token = await csrf(desk_panel.client, page_url)
    asking = asyncio.create_task(
        desk_panel.client.post(f"{page_url}/draft", data={"csrf_token": token}, headers=JSON)
    )
    await fake_llm.arrived.wait()
    answered = await post(desk_panel, f"{page_url}/reply", {"text": "Сейчас уточню."}, page_url)
    assert answered.status == 303
    assert (await desk_panel.client.get("/panel/support")).status == 200
    await user_writes(db, "Жду ответа")
    assert not asking.done()
    fake_llm.release.set()
    assert json.loads(await (await asking).text())["text"] == fake_llm.text
    assert await outbox_texts(db) == ["💬 Поддержка: Сейчас уточню."]
    assert await db.fetchval("SELECT count(*) FROM support_messages WHERE ticket_id = $1", ticket_id) == 3


async def test_llm_settings_saved_in_one_process_apply_in_another(
    aiohttp_client, make_config, database_url: str, db, fake_llm
) -> None:
    await make_staff(db, "boss", Role.ADMIN)
    config = make_config(SECRET_KEY=SECRET_KEY, DEFAULT_LANGUAGE="en")
    async for first in build_panel(aiohttp_client, config, database_url):
        async for second in build_panel(aiohttp_client, config, database_url):
            theirs = second.app[keys.RUNNING_SETTINGS].llm
            await login(first.client, "boss")
            await configure(first, fake_llm, auto=True, timeout="7")

            async def followed(theirs: LlmSettings = theirs) -> bool:
                return theirs.drafts_on_their_own and (theirs.timeout, theirs.base_url) == (7.0, fake_llm.url)

            await eventually(followed, what="the other process to switch the LLM on")


async def test_a_message_gets_one_draft_and_only_when_the_knowledge_base_has_nothing(db, fake_llm) -> None:
    await load_sample_kb(db)
    on = LlmSettings(enabled=True, base_url=fake_llm.url, model="m", timeout=5, auto_draft=True)
    claim = functools.partial(drafts.claim_auto, settings=on, thresholds=Thresholds(), secret_key=SECRET_KEY)

    async def last_message() -> tuple[int, int]:
        row = await db.fetchrow("SELECT ticket_id, id FROM support_messages ORDER BY id DESC LIMIT 1")
        return row["ticket_id"], row["id"]

    await user_writes(db, "privet, kak vystavit svoyu obyavu na prodaju?")  # the knowledge base answers
    assert await claim(db, *await last_message()) is None
    ticket_id, _message = await last_message()
    await user_writes(db, ASKED)
    _ticket, asked = await last_message()
    off = LlmSettings(enabled=True, base_url=fake_llm.url, model="m", auto_draft=False)
    assert (
        await drafts.claim_auto(db, ticket_id, asked, settings=off, thresholds=Thresholds(), secret_key="x")
        is None
    )

    async with db.transaction():
        claimed = await claim(db, ticket_id, asked)
    assert claimed is not None and claimed.request.turns[-1].content == ASKED
    assert await claim(db, ticket_id, asked) is None  # another process heard it too: one draft
    await user_writes(db, THEN)
    assert await claim(db, ticket_id, asked) is None  # a newer message follows
    assert await db.fetchval("SELECT count(*) FROM support_drafts") == 1

    # The process asking stopped: the draft is given up after its time-out, as a note.
    ticket = await desk_q.get_ticket(db, ticket_id)
    assert ticket is not None and (await drafts.shown(db, ticket)) is not None
    await db.execute("UPDATE support_drafts SET created_at = now() - interval '1 hour'")
    assert await drafts.shown(db, ticket) is None  # no "drafting…" for ever
    assert await drafts.give_up_stale(db, on.timeout) == 1
    shown = await drafts.shown(db, ticket)
    assert shown is not None and (shown.status, shown.problem) == ("failed", "timeout")
    assert fake_llm.requests == []  # claiming asks nobody; the caller does, without a connection


async def test_a_forged_or_decided_draft_changes_nothing(desk_panel: Panel, db, fake_llm) -> None:
    mine = await user_writes(db, ASKED)
    other = await user_writes(db, "Где мой заказ?", user=USER + 1)
    on = LlmSettings(enabled=True, base_url=fake_llm.url, model="m", timeout=5, auto_draft=True)
    question = await db.fetchval("SELECT max(id) FROM support_messages WHERE ticket_id = $1", mine)
    async with db.transaction():
        claimed = await drafts.claim_auto(
            db, mine, question, settings=on, thresholds=Thresholds(), secret_key=SECRET_KEY
        )
        assert claimed is not None
        await drafts.finish_auto(db, claimed, "Черновик")
    draft_id = claimed.draft_id
    await make_staff(db, "nigora", Role.OPERATOR)
    await login(desk_panel.client, "nigora")
    other_url = f"/panel/support/tickets/{other}"

    # This ticket's draft cannot answer another ticket.
    forged = await post(desk_panel, f"{other_url}/reply", {"text": "x", "draft_id": str(draft_id)}, other_url)
    assert forged.status == 400 and "This draft does not exist." in await forged.text()
    for url in ("/panel/support/drafts/99999/send", "/panel/support/drafts/abc/discard"):
        assert (await post(desk_panel, url, {}, other_url)).status == 404

    page_url = f"/panel/support/tickets/{mine}"
    discarded = await post(desk_panel, f"/panel/support/drafts/{draft_id}/discard", {}, page_url)
    assert discarded.status == 303 and "Draft+discarded." in discarded.headers["Location"]
    for action in ("send", "discard"):
        late = await post(desk_panel, f"/panel/support/drafts/{draft_id}/{action}", {}, page_url)
        assert late.status == 303 and "already+sent" in late.headers["Location"]
    assert await outbox_texts(db) == []
    assert await db.fetchval("SELECT count(*) FROM support_messages WHERE author = 'operator'") == 0
    assert await db.fetchval("SELECT status FROM support_drafts WHERE id = $1", draft_id) == "discarded"


async def test_an_answer_with_a_nul_or_a_broken_character_still_becomes_a_draft(
    desk_panel: Panel, db, fake_llm
) -> None:
    """Found by review: an endpoint's answer with a NUL (or a lone surrogate) could not be
    stored, so the draft hung as "drafting…" and then read as a time-out; in the answer box it
    made the operator's send a 400."""
    fake_llm.text = "Salom\x00, rassrochka \ud800yo'q.\x07\nOperator javob beradi."
    cleaned = "Salom, rassrochka \ufffdyo'q.\nOperator javob beradi."
    ticket_id = await user_writes(db, ASKED)
    question = await db.fetchval("SELECT max(id) FROM support_messages WHERE ticket_id = $1", ticket_id)
    on = LlmSettings(enabled=True, base_url=fake_llm.url, model="m", timeout=5, auto_draft=True)
    async with db.transaction():
        claimed = await drafts.claim_auto(
            db, ticket_id, question, settings=on, thresholds=Thresholds(), secret_key=SECRET_KEY
        )
    assert claimed is not None
    answer = await drafts.reply_of(claimed.request)
    async with db.transaction():
        draft = await drafts.finish_auto(db, claimed, answer)
    assert draft is not None and (draft.status, draft.text) == ("pending", cleaned)

    await make_staff(db, "boss", Role.ADMIN)
    await login(desk_panel.client, "boss")
    await configure(desk_panel, fake_llm)
    page_url = f"/panel/support/tickets/{ticket_id}"
    asked = await post(desk_panel, f"{page_url}/draft", {}, page_url, headers=JSON)
    assert (await asked.json())["text"] == cleaned
    sent = await post(desk_panel, f"{page_url}/reply", {"text": cleaned}, page_url)
    assert sent.status == 303
    [said] = await outbox_texts(db)
    assert said.endswith(cleaned)  # under the desk's heading


async def test_a_base_url_that_is_no_address_is_refused_on_save_and_never_crashes_a_draft(
    desk_panel: Panel, db, fake_llm
) -> None:
    """Found by review: "http://[::1" answered the settings form with a 500, and a base URL with
    a port past 65535 or a space in its host was kept, then every "Draft an answer" was a 500."""
    ticket_id = await user_writes(db, ASKED)
    await make_staff(db, "boss", Role.ADMIN)
    await login(desk_panel.client, "boss")
    await configure(desk_panel, fake_llm)
    for bad in ("http://[::1", "http://127.0.0.1:99999/v1", "http://ho st/v1", "http://:80/v1"):
        answer = await post(
            desk_panel, "/panel/settings", {**llm_form(fake_llm), "llm_base_url": bad}, "/panel/settings"
        )
        assert answer.status == 400, bad
        said = html.unescape(await answer.text())
        assert "The LLM's base URL looks like https://api.example.com/v1." in said
    assert await db.fetchval("SELECT value FROM settings WHERE name = 'llm_base_url'") == fake_llm.url
    # A URL stored before this check (or by hand) is a note in the ticket, not a crash.
    await db.execute("UPDATE settings SET value = 'http://127.0.0.1:99999/v1' WHERE name = 'llm_base_url'")
    desk_panel.app[keys.RUNNING_SETTINGS].llm.base_url = "http://127.0.0.1:99999/v1"
    page_url = f"/panel/support/tickets/{ticket_id}"
    asked = await post(desk_panel, f"{page_url}/draft", {}, page_url)
    assert asked.status == 200 and "no draft" in await asked.text()
