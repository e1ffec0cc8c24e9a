"""Support in the bot end to end: real aiogram polling the sandbox, a real knowledge base.

Questions in each language and script are answered, near ones offered as "Did you mean…?",
and what the knowledge base cannot answer becomes a ticket the user's further messages join.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from app.db.queries.support import KbButton
from app.domain import staff as staff_domain
from app.domain.demo import seed_demo
from app.domain.staff import Role
from app.domain.support import kb, settings
from app.domain.support.kb import AnswerDraft
from app.main import Bozor
from tests.helpers.images import png
from tests.helpers.market import open_market
from tests.helpers.polling import eventually
from tests.helpers.support import draft, sample_kb


def buttons(message: dict) -> list[str]:
    markup = message.get("reply_markup") or {}
    return [b["text"] for row in markup.get("inline_keyboard", []) for b in row]


async def load_kb(bozor: Bozor) -> None:
    assert bozor.pool is not None
    async with bozor.pool.acquire() as conn, conn.transaction():
        await kb.import_json(conn, sample_kb())


async def tickets(db, user_id: int) -> list[dict]:
    rows = await db.fetch(
        """SELECT t.id, t.status, t.language,
                  array_agg(m.text ORDER BY m.id) AS texts, array_agg(m.file_kind ORDER BY m.id) AS kinds
             FROM support_tickets t JOIN support_messages m ON m.ticket_id = t.id
            WHERE t.user_id = $1 GROUP BY t.id ORDER BY t.id""",
        user_id,
    )
    return [dict(r) for r in rows]


@pytest.mark.parametrize(
    ("language_code", "question", "answer_starts"),
    [
        ("uz", "assalomu alaykum mashinamni sotmoqchi edim, elon qoyish uchun nima qilish kerak", "Botda"),
        ("uz", "Эълон жойлаш учун нима килиш керак? биринчи марта ишлатяпман", "Botda"),
        ("ru", "Объяву не пропустили модераторы, в чём причина?", ""),
        ("ru", "privet, kak vystavit svoyu obyavu na prodaju?", "Нажмите в боте"),
        ("en", "how long until my ad gets approved? sent it this morning", ""),
    ],
    ids=["uz", "uz-cyrl", "ru", "ru-translit", "en"],
)
async def test_a_question_in_each_language_and_script_is_answered_at_once(
    bozor, sandbox, db, language_code, question, answer_starts
) -> None:
    await load_kb(bozor)
    user = await sandbox.user("Asker", language_code=language_code)
    sent = await user.send(question)
    reply = await user.wait_for_bot(lambda m: "👍" in buttons(m))
    assert reply["text"].startswith(answer_starts)
    assert reply["reply_to_message"]["message_id"] == sent["message_id"]  # answers that question
    assert await tickets(db, user.id) == []


async def test_a_helpful_answer_thanked_and_a_bad_one_goes_to_an_operator(bozor, sandbox, db) -> None:
    await load_kb(bozor)
    olga = await sandbox.user("Olga", language_code="en")
    await olga.send("how long until my ad gets approved? sent it this morning")
    answer = await olga.wait_for_bot(lambda m: "👍" in buttons(m))
    assert "👎 Talk to a person" in buttons(answer)
    pressed = await olga.press("👍")
    assert (await olga.callback_answer(pressed["callback_query_id"]))["text"] == "Glad I could help!"
    await olga.wait_for_bot(lambda m: m["message_id"] == answer["message_id"] and not buttons(m))
    assert await tickets(db, olga.id) == []

    await olga.send("how long until my ad gets approved? sent it this morning")
    await olga.wait_for_bot(lambda m: "👍" in buttons(m))
    await olga.press("👎 Talk to a person")
    opened = await olga.wait_for_bot("is with an operator")
    [ticket] = await tickets(db, olga.id)
    assert f"#{ticket['id']}" in opened["text"]
    assert ticket["texts"] == ["how long until my ad gets approved? sent it this morning"]
    assert (ticket["status"], ticket["language"]) == ("open", "en")


async def test_a_near_match_offers_did_you_mean_and_the_choice_is_answered(bozor, sandbox, db) -> None:
    await load_kb(bozor)
    aziz = await sandbox.user("Aziz", language_code="uz")
    await aziz.send("20 ta rasm tashlasam bo'ladimi?")
    offer = await aziz.wait_for_bot("Shuni nazarda tutdingizmi")
    choices = buttons(offer)
    assert 2 <= len(choices) <= 4 and choices[-1] == "🙋 Operator bilan gaplashish"
    entry = await kb.get_entry(db, "kb02")
    assert entry is not None
    await aziz.press(entry.questions("uz")[0])
    same = offer["message_id"]
    answered = await aziz.wait_for_bot(lambda m: m["message_id"] == same and "👍" in buttons(m))
    [uz_answer] = [a.text for a in entry.answers if a.language == "uz"]
    assert answered["text"].startswith(uz_answer)
    assert await tickets(db, aziz.id) == []


async def test_nothing_close_opens_a_ticket_that_further_messages_and_photos_join(bozor, sandbox, db) -> None:
    await load_kb(bozor)
    ivan = await sandbox.user("Ivan", language_code="ru")
    await ivan.send("Можно оформить рассрочку на товар?")
    opened = await ivan.wait_for_bot("передан оператору")
    [ticket] = await tickets(db, ivan.id)
    assert f"#{ticket['id']}" in opened["text"]

    await ivan.send("Вот скриншот")
    await ivan.send_photo(png(rgb=(200, 0, 0)), caption="скрин")
    await ivan.send_document(b"%PDF-1.4 test", "proof.pdf")

    async def joined() -> bool:
        return len((await tickets(db, ivan.id))[0]["texts"]) == 4

    await eventually(joined, what="the three messages in the ticket")
    [ticket] = await tickets(db, ivan.id)
    assert ticket["texts"][1:] == ["Вот скриншот", "скрин", ""]
    assert ticket["kinds"][1:] == [None, "photo", "document"]
    photo_key = await db.fetchval(
        "SELECT storage_key FROM support_messages WHERE ticket_id = $1 AND file_kind = 'photo'", ticket["id"]
    )
    assert photo_key is not None and (await bozor.storage.get(photo_key)).data  # the panel can show it
    assert len(await ivan.bot_messages()) == 1  # joining says nothing more


async def working_hours(bozor: Bozor, db, *, today: bool) -> str:
    """Desk hours 09:00-18:00 in a time zone where it is now about noon, on every day, or on
    every day but today; saved as the panel saves them (the bot follows the notification).
    Returns the zone."""
    zone = f"Etc/GMT{dt.datetime.now(dt.UTC).hour - 12:+d}"  # POSIX signs: Etc/GMT-5 is UTC+5
    local = dt.datetime.now(ZoneInfo(zone))
    days = [d for d in range(1, 8) if today or d != local.isoweekday()]
    values = settings.parse_form(
        {"hours": "09:00-18:00", "days": ",".join(map(str, days)), "timezone": zone, "reopen_days": "7"}
    )
    admin = await staff_domain.create_staff(db, f"boss{int(today)}", "a password long enough", Role.ADMIN)
    async with db.transaction():
        await settings.save(db, admin.id, values)

    async def followed() -> bool:
        return bozor.running.desk.timezone == zone and len(bozor.running.desk.days) == len(days)

    await eventually(followed, what="the bot following the saved hours")
    return zone


async def test_outside_working_hours_the_user_is_told_when_to_expect_an_answer(bozor, sandbox, db) -> None:
    zone = await working_hours(bozor, db, today=False)
    tomorrow = dt.datetime.now(ZoneInfo(zone)) + dt.timedelta(days=1)
    ivan = await sandbox.user("Ivan", language_code="ru")
    await ivan.send("Можно оформить рассрочку на товар?")
    opened = await ivan.wait_for_bot("передан оператору")
    assert opened["text"].endswith(
        f"\n\nОператоры работают 09:00–18:00 ({zone}); ждите ответа после {tomorrow:%d.%m} 09:00."
    )

    await working_hours(bozor, db, today=True)
    sam = await sandbox.user("Sam", language_code="en")
    await sam.send("can you recommend a good phone under $200")
    opened = await sam.wait_for_bot("is with an operator")
    assert "Operators work" not in opened["text"] and "expect an answer" not in opened["text"]


async def test_a_wizard_answer_goes_to_the_wizard_even_with_a_ticket_open(bozor, sandbox, db) -> None:
    """The routing order as a seller meets it: the step of the flow they are in comes before
    their open ticket; out of the flow, their free text joins the ticket again."""
    market = await open_market(bozor, sandbox)
    await load_kb(bozor)
    seller = market["seller"]
    await seller.send("Qizil fil qayerda uxlaydi?")  # nothing in the knowledge base is close

    async def opened() -> bool:
        return len(await tickets(db, seller.id)) == 1

    await eventually(opened, what="a ticket for the question")
    [ticket] = await tickets(db, seller.id)
    await seller.wait_for_bot(lambda m: f"#{ticket['id']}" in (m.get("text") or ""))

    await seller.press("📢 E'lon berish")
    await seller.wait_for_bot("Bo'limni tanlang")
    await seller.press("Transport")
    await seller.wait_for_bot("sarlavhasini")
    await seller.send("Velosiped Stels")
    await seller.wait_for_bot("tasvirlang")  # the wizard took the title
    [ticket] = await tickets(db, seller.id)
    assert ticket["texts"] == ["Qizil fil qayerda uxlaydi?"]

    await seller.send("/start")  # leaves the wizard (the draft is kept)
    await seller.wait_for_bot("Assalomu alaykum")
    await seller.send("Javob bormi?")

    async def joined() -> bool:
        return (await tickets(db, seller.id))[0]["texts"] == ["Qizil fil qayerda uxlaydi?", "Javob bormi?"]

    await eventually(joined, what="the free text in the open ticket")


async def test_the_support_button_explains_what_to_do(bozor, sandbox) -> None:
    nodir = await sandbox.user("Nodir", language_code="en")
    await nodir.send("/start")
    await nodir.wait_for_bot("Hello")
    pressed = await nodir.press("💬 Support")
    assert (await nodir.callback_answer(pressed["callback_query_id"])).get("text") in (None, "")
    await nodir.wait_for_bot("Type your question")


async def test_a_choice_of_an_entry_switched_off_since_is_no_longer_valid(bozor, sandbox, db) -> None:
    await load_kb(bozor)
    user = await sandbox.user("Late", language_code="en")
    await user.send("20 ta rasm tashlasam bo'ladimi?")
    offer = await user.wait_for_bot("Did you mean")
    entry = await kb.get_entry(db, "kb02")
    assert entry is not None
    async with db.transaction():
        await kb.set_enabled(db, "kb02", False)
    pressed = await user.press(entry.questions("en")[0])
    answer = await user.callback_answer(pressed["callback_query_id"])
    assert answer["text"] == "This button is no longer valid."
    assert (await user.bot_messages())[-1]["message_id"] == offer["message_id"]
    assert "👍" not in buttons((await user.bot_messages())[-1])


async def test_the_demo_world_answers_from_its_sample_knowledge_base(bozor, sandbox, db) -> None:
    await seed_demo(db, [])
    await seed_demo(db, [])  # seeded once
    assert await db.fetchval("SELECT count(*) FROM support_kb_entries") == len(sample_kb())
    newcomer = await sandbox.user("Newcomer", language_code="en")
    await newcomer.send("how long until my ad gets approved? sent it this morning")
    await newcomer.wait_for_bot(lambda m: "👍" in buttons(m))


async def test_a_change_to_the_knowledge_base_applies_to_the_next_question(bozor, sandbox, db) -> None:
    """Answers are kept per process by the question's terms; a change anywhere drops them."""
    await load_kb(bozor)
    user = await sandbox.user("Repeat", language_code="en")
    question = "how long until my ad gets approved? sent it this morning"
    await user.send(question)
    await user.wait_for_bot(lambda m: "👍" in buttons(m))
    await user.send(question.upper())  # the same terms: kept, answered again
    await user.wait_for_bot(lambda m: "👍" in buttons(m))
    assert bozor.answer_cache.hits >= 1 and len(bozor.answer_cache) == 1

    async with db.transaction():
        await kb.set_enabled(db, "kb04", False)

    async def forgotten() -> bool:
        return len(bozor.answer_cache) == 0

    await eventually(forgotten, what="the kept answers dropped")
    await user.send(question)
    reply = await user.wait_for_bot(lambda m: m.get("reply_to_message", {}).get("text") == question)
    assert "👍" not in buttons(reply)  # the switched-off entry answers no more


async def test_an_answer_with_a_photo_and_buttons_to_a_page_and_another_entry(bozor, sandbox, db) -> None:
    assert bozor.storage is not None
    await bozor.storage.put("support/kb/wrap.png", png(rgb=(0, 0, 200)), "image/png")
    buttons_of_answer = (
        KbButton("Our rules", url="https://example.com/rules"),
        KbButton("Tape", entry="tape"),
    )
    async with db.transaction():
        await kb.create_entry(db, draft("tape", "Which tape holds best?", "Brown packing tape."))
        await kb.create_entry(
            db,
            draft(
                "wrap",
                answer="Use two layers of paper.",
                answers={
                    "en": AnswerDraft("Use two layers of paper.", "support/kb/wrap.png", buttons_of_answer)
                },
            ),
        )
    user = await sandbox.user("Wrapper", language_code="en")
    await user.send("How do I wrap my parcel?")
    answer = await user.wait_for_bot(lambda m: "photo" in m)
    assert answer["caption"].startswith("Use two layers of paper.")
    assert buttons(answer) == ["Our rules", "Tape", "👍", "👎 Talk to a person"]
    await user.press("Tape")
    tape = await user.wait_for_bot("Brown packing tape.")
    assert "👍" in buttons(tape)
