"""Everything on record (S5): what users send and press, what the bot answers and what the
outbox delivers, found on the panel's Messages screen by a word in any language and script;
the retention an admin sets purges only what is older."""

from __future__ import annotations

import html
import os
import re

import asyncpg
import pytest

from app.db.pool import create_pool
from app.domain import record as record_domain
from app.domain.outbox import enqueue
from app.domain.record import Direction, Kind
from app.domain.staff import Role
from app.sandbox.media import sample_png
from app.scheduler.jobs import JobContext, message_retention
from tests.helpers.browser import CHROMIUM, CHROMIUM_ARGS, playwright_api
from tests.helpers.panel import PASSWORD, Panel, csrf, login, make_staff
from tests.helpers.polling import eventually, outbox_settled

ROW_RE = re.compile(r'<tr class="message-row" data-direction="(\w+)" data-kind="(\w+)">(.*?)</tr>', re.S)
TAG_RE = re.compile(r"<[^>]+>")


async def found(panel: Panel, query: str) -> list[tuple[str, str, str]]:
    """The Messages screen's rows for a query string: (direction, kind, the row's text)."""
    response = await panel.client.get(f"/panel/messages?{query}")
    page = await response.text()
    assert response.status == 200, page
    return [(d, k, html.unescape(TAG_RE.sub(" ", cells))) for d, k, cells in ROW_RE.findall(page)]


def texts(rows: list[tuple[str, str, str]]) -> str:
    return " | ".join(row[2] for row in rows)


async def test_messages_in_three_languages_a_button_and_an_outbox_delivery_are_on_record(
    bozor, sandbox, panel: Panel, db: asyncpg.Connection
) -> None:
    ivan = await sandbox.user("Иван", username="ivan_p", language_code="ru")
    aziz = await sandbox.user("Aziz", username="aziz_t", language_code="uz")
    john = await sandbox.user("John", username="john_d", language_code="en")
    await ivan.send("/start")
    await ivan.wait_for_bot("Здравствуйте, Иван!")
    await ivan.press("🌐 Язык")
    await ivan.wait_for_bot("Выберите язык:")
    for persona, text in (
        (ivan, "Когда будет доставка моего велосипеда?"),
        (aziz, "Narxini o'zgartirmoqchiman, iltimos"),
        (aziz, "Эълонимни ўчириб ташламоқчиман"),
        (john, "Where is my parcel tracking number?"),
    ):
        await persona.send(text)
    await john.send_photo(sample_png(), "Scratched bumper, see photo")
    await enqueue(db, "sendMessage", {"chat_id": john.id, "text": "Your listing was published"})
    await outbox_settled(db)

    async def recorded() -> bool:
        delivered = "SELECT count(*) FROM message_record WHERE text LIKE 'Your listing%'"
        heard = "SELECT count(*) FROM message_record WHERE direction = 'in' AND kind IN ('text', 'photo')"
        return await db.fetchval(delivered) == 1 and await db.fetchval(heard) == 5

    await eventually(recorded, what="the outbox delivery on record")

    await make_staff(db, "olim", Role.ADMIN)  # an admin reads every user's (operators: below)
    assert (await login(panel.client, "olim")).status == 303
    # Russian: by a word as written, inflected, and typed in Latin letters.
    for query in ("q=доставка", "q=доставку", "q=dostavka", "q=velosipeda"):
        rows = await found(panel, query)
        assert [r[:2] for r in rows] == [("in", "text")], (query, rows)
        assert "Когда будет доставка моего велосипеда?" in rows[0][2] and "@ivan_p" in rows[0][2]
    # Uzbek in Latin and in Cyrillic letters, each found in either script.
    assert "Narxini o'zgartirmoqchiman" in texts(await found(panel, "q=нархини"))
    assert "Эълонимни ўчириб" in texts(await found(panel, "q=elonimni+ochirib"))
    # English, and the outbox's delivery (from the bot).
    assert "parcel tracking" in texts(await found(panel, "q=parcel"))
    assert [r[:2] for r in await found(panel, "q=bumper")] == [("in", "photo")]  # by its caption
    delivered = await found(panel, "q=listing+published")
    assert [r[:2] for r in delivered] == [("out", "text")] and "@john_d" in delivered[0][2]
    assert "Your listing was published" in texts(await found(panel, "q=published&direction=out&user=@john_d"))
    assert await found(panel, "q=published&direction=in") == []
    # The button press by its label, never its callback data; the bot's replies are there too.
    presses = await found(panel, "kind=button&user=@ivan_p")
    assert len(presses) == 1 and "pressed “🌐 Язык”" in presses[0][2]
    ivans = await found(panel, f"user={ivan.id}")
    assert "menu:" not in texts(ivans)
    assert ("out", "text") in {r[:2] for r in ivans} and "Здравствуйте, Иван!" in texts(ivans)
    assert ("in", "command") in {r[:2] for r in ivans}
    user_page = await (await panel.client.get(f"/panel/users/{ivan.id}")).text()
    assert f'href="/panel/messages?user={ivan.id}"' in user_page
    # Unknown user, a bad date: said clearly, nothing found.
    response = await panel.client.get("/panel/messages?user=@nobody_here")
    assert response.status == 400 and "No user is called @nobody_here." in await response.text()
    response = await panel.client.get("/panel/messages?from=2026-13-45")
    assert response.status == 400 and "dates look like 2026-01-31" in await response.text()


async def test_pages_go_back_in_time_without_repeats(panel: Panel, db: asyncpg.Connection) -> None:
    entries = [
        record_domain.entry(42, 42, Direction.IN, Kind.TEXT, f"savol raqam {n}")
        for n in range(record_domain.PAGE + 7)
    ]
    await record_domain.record(db, entries)
    await make_staff(db, "boss", Role.ADMIN)
    await login(panel.client, "boss")
    first = await panel.client.get("/panel/messages?q=savol")
    page = await first.text()
    next_url = re.search(r'href="([^"]*before=[^"]*)">Older', page)
    assert next_url and len(ROW_RE.findall(page)) == record_domain.PAGE
    rest = await found(panel, html.unescape(next_url.group(1)).split("?", 1)[1])
    assert len(rest) == 7
    shown = [r[2] for r in ROW_RE.findall(page)] + [r[2] for r in rest]
    assert len({TAG_RE.sub("", s).split("savol raqam ")[1].strip() for s in shown}) == record_domain.PAGE + 7


async def test_an_operator_finds_only_the_messages_of_users_who_wrote_to_support(
    panel: Panel, db: asyncpg.Connection
) -> None:
    await db.execute("INSERT INTO users (id, first_name) VALUES (41, 'Served'), (42, 'Stranger')")
    await db.execute("INSERT INTO support_tickets (user_id, language, subject) VALUES (41, 'uz', 'Savol')")
    await record_domain.record(
        db,
        [
            record_domain.entry(41, 41, Direction.IN, Kind.TEXT, "yetkazib berish qachon"),
            record_domain.entry(42, 42, Direction.IN, Kind.TEXT, "yetkazib berish kerak emas"),
            record_domain.entry(42, 42, Direction.OUT, Kind.TEXT, "Rad etildi: yetkazib berish"),
        ],
    )
    await make_staff(db, "olim", Role.OPERATOR)
    await login(panel.client, "olim")
    assert "qachon" in texts(rows := await found(panel, "q=yetkazib")) and len(rows) == 1
    assert len(await found(panel, "")) == 1 and len(await found(panel, "user=41")) == 1
    response = await panel.client.get("/panel/messages?user=42")
    assert response.status == 400 and "this user has not" in await response.text()
    await make_staff(db, "boss", Role.ADMIN)
    await login(panel.client, "boss")
    assert len(await found(panel, "q=yetkazib")) == 3  # an admin reads everyone's


async def test_retention_purges_only_messages_older_than_it(
    panel: Panel, db: asyncpg.Connection, database_url: str
) -> None:
    entries = [
        record_domain.entry(7, 7, Direction.IN, Kind.TEXT, text)
        for text in ("eski xabar", "старое сообщение", "fresh message")
    ]
    await record_domain.record(db, entries)
    await db.execute(
        "UPDATE message_record SET at = now() - interval '40 days' WHERE text <> 'fresh message'"
    )
    await make_staff(db, "boss", Role.ADMIN)
    await login(panel.client, "boss")

    token = await csrf(panel.client, "/panel/settings")
    form = {"csrf_token": token, "section": "message_record"}
    refused = await panel.client.post("/panel/settings", data=form | {"message_record_days": "soon"})
    assert refused.status == 400 and "whole number of days" in await refused.text()
    saved = await panel.client.post(
        "/panel/settings",
        data=form | {"message_record_days": "30"},
        allow_redirects=False,
    )
    assert saved.status == 303
    assert 'name="message_record_days" value="30"' in await (await panel.client.get("/panel/settings")).text()

    pool = await create_pool(database_url, min_size=1, max_size=2)
    try:
        await message_retention(JobContext(pool))
        assert [r["text"] for r in await db.fetch("SELECT text FROM message_record")] == ["fresh message"]
        # 0 keeps everything for ever.
        await db.execute("UPDATE message_record SET at = now() - interval '400 days'")
        token = await csrf(panel.client, "/panel/settings")
        await panel.client.post(
            "/panel/settings",
            data={"csrf_token": token, "section": "message_record", "message_record_days": "0"},
        )
        await message_retention(JobContext(pool))
        assert await db.fetchval("SELECT count(*) FROM message_record") == 1
    finally:
        await pool.close()
    assert await db.fetchval("SELECT count(*) FROM audit_log WHERE action = 'settings.message_record'") == 2


async def test_a_rare_word_is_found_behind_ten_thousand_newer_messages(
    panel: Panel, db: asyncpg.Connection
) -> None:
    older = [
        record_domain.entry(5, 5, Direction.IN, Kind.TEXT, f"Мой заказ номер {n} потерялся") for n in (1, 2)
    ]
    await record_domain.record(db, older)
    newer = [
        record_domain.entry(6, 6, Direction.OUT, Kind.TEXT, "Salom! Menyudan tanlang") for _ in range(10_050)
    ]
    await record_domain.record(db, newer)
    await make_staff(db, "boss", Role.ADMIN)
    await login(panel.client, "boss")
    rows = await found(panel, "q=poteryalsya")  # Russian typed in Latin letters
    assert [r[2].split("Мой заказ номер ")[1][:1] for r in rows] == ["2", "1"]
    assert await found(panel, "q=poteryalsya&direction=out") == []
    assert len(await found(panel, "q=menyudan")) == record_domain.PAGE


WIDE_CELLS = """() => [...document.querySelectorAll("main td")]
    .filter(td => td.scrollWidth > td.clientWidth + 1).map(td => td.innerText.slice(0, 40))"""


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no {CHROMIUM}: apt-get install chromium")
async def test_the_messages_screen_reads_on_a_phone_in_every_language(
    panel: Panel, db: asyncpg.Connection
) -> None:
    await record_domain.record(
        db,
        [
            record_domain.entry(9, 9, Direction.IN, Kind.BUTTON, "📋 Mening e'lonlarim"),
            record_domain.entry(
                9, 9, Direction.OUT, Kind.EDIT, "Sizning e'lonlaringiz: Velosiped Stels, 1 500 000 so'm"
            ),
            record_domain.entry(
                9, 9, Direction.IN, Kind.TEXT, "Здравствуйте! Когда будет опубликовано объявление?"
            ),
            record_domain.entry(
                9, 9, Direction.OUT, Kind.TEXT, "https://t.me/bozor_toshkent/12345?comment=67890" * 2
            ),
        ],
    )
    await make_staff(db, "boss", Role.ADMIN)
    base = str(panel.client.make_url("")).rstrip("/")
    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            context = await browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
            tab = await context.new_page()
            await tab.goto(base + "/panel/login")
            await tab.fill("input[name=username]", "boss")
            await tab.fill("input[name=password]", PASSWORD)
            async with tab.expect_navigation():
                await tab.click("button[type=submit]")
            for lang, pressed in (
                ("uz", "Tugma bosildi"),
                ("ru", "Нажатие кнопки"),
                ("en", "Button press"),
            ):
                response = await tab.goto(f"{base}/panel/lang/{lang}?next=/panel/messages")
                assert response.status == 200 and await tab.get_attribute("html", "lang") == lang
                assert await tab.locator("main tr.message-row").count() == 4
                press = await tab.locator("main tr.message-row").last.inner_text()
                assert pressed in press and "📋 Mening e'lonlarim" in press and "menu:" not in press
                width, inner = await tab.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
                assert width <= inner == 360, f"/panel/messages in {lang} is {width} px wide"
                assert await tab.evaluate(WIDE_CELLS) == [], lang
        finally:
            await browser.close()
