"""The knowledge base: kb.json imports as is and idempotently, JSON and CSV round-trip, bad
input is refused with a reason and stores nothing."""

from __future__ import annotations

import copy

import asyncpg
import pytest

from app.db.queries.support import KbButton
from app.domain.support import kb
from app.domain.support.kb import AnswerDraft, KbError
from app.domain.support.matching import match
from tests.helpers.support import counts, draft, load_sample_kb, sample_kb


async def test_kb_json_imports_40_entries_and_a_second_import_changes_nothing(db: asyncpg.Connection) -> None:
    first = await load_sample_kb(db)
    assert len(first.created) == 40 and first.updated == () == first.unchanged
    after_first = await counts(db)
    assert after_first["entries"] == 40 and after_first["answers"] == 120
    entry = await kb.get_entry(db, "kb07")
    assert entry is not None
    assert entry.questions("uz") == ["Mahsulot sotildi, buni qanday belgilayman?"]
    assert entry.keywords("en") == ["sold", "mark as sold", "item sold", "found a buyer"]
    second = await load_sample_kb(db)
    assert second.created == () == second.updated and len(second.unchanged) == 40
    assert await counts(db) == after_first  # not a row more, not one updated_at moved


async def test_a_reimport_updates_what_changed_and_keeps_what_the_desk_added(db: asyncpg.Connection) -> None:
    await load_sample_kb(db)
    async with db.transaction():
        await kb.add_phrasing(db, "kb07", "ru", "всё, продал, куда нажать")
    data = sample_kb()
    changed = copy.deepcopy(data)
    changed[6]["answer"]["en"] = "Open the ad and tap “✅ Sold”."
    async with db.transaction():
        report = await kb.import_json(db, changed)
    assert report.updated == ("kb07",) and len(report.unchanged) == 39
    entry = await kb.get_entry(db, "kb07")
    assert entry is not None
    assert "всё, продал, куда нажать" in entry.questions("ru")
    answer = await kb.answer_for(db, entry.entry.id, "en")
    assert answer is not None and answer.text == "Open the ad and tap “✅ Sold”."


async def test_a_bad_file_is_refused_whole(db: asyncpg.Connection) -> None:
    await load_sample_kb(db)
    before = await counts(db)
    data = sample_kb()
    bad_files = [
        [*data[:2], data[1]],  # kb02 twice
        [{**data[0], "id": "kb 01"}],  # not an id
        [{**data[0], "answer": {"fr": "Bonjour"}}],  # not a language of ours
        [{"question": {"en": "Where?"}, "answer": {"en": "Here."}}],  # no id
        {"kb01": data[0]},  # not a list
    ]
    for bad in bad_files:
        with pytest.raises(KbError):
            async with db.transaction():
                await kb.import_json(db, bad)
    assert await counts(db) == before


async def test_a_refusal_says_why_in_the_readers_language(db: asyncpg.Connection) -> None:
    with pytest.raises(KbError) as caught:
        async with db.transaction():
            await kb.import_json(
                db, [{"id": "kb01", "question": {"xx": "Where?"}, "answer": {"en": "Here."}}]
            )
    assert str(caught.value) == "“xx” is not one of the languages uz, ru, en."
    assert caught.value.text(lambda msgid: msgid.replace("is not one of", "n'est pas")).startswith(
        "“xx” n'est pas"
    )


async def test_creating_an_entry_checks_it_and_stores_nothing_when_wrong(db: asyncpg.Connection) -> None:
    wrong = [
        draft("bad key"),
        draft("kb90", answers={}),
        draft("kb90", questions={"en": []}),
        draft("kb90", answers={"en": AnswerDraft("x" * 5000)}),
        draft(
            "kb90",
            answers={"en": AnswerDraft("See", buttons=(KbButton("Go", entry="kb01", url="https://x.uz"),))},
        ),
        draft(
            "kb90", answers={"en": AnswerDraft("See", buttons=(KbButton("Go", url="javascript:alert(1)"),))}
        ),
        draft("kb90", questions={"en": ["?!"]}),
    ]
    for bad in wrong:
        with pytest.raises(KbError):
            async with db.transaction():
                await kb.create_entry(db, bad)
    assert (await counts(db))["entries"] == 0
    async with db.transaction():
        await kb.create_entry(db, draft("kb90"))
    with pytest.raises(KbError, match="already an entry"):
        async with db.transaction():
            await kb.create_entry(db, draft("kb90", "Another question?"))
    assert (await counts(db))["entries"] == 1


async def test_updating_an_entry_makes_it_exactly_the_draft(db: asyncpg.Connection) -> None:
    async with db.transaction():
        await kb.create_entry(db, draft("parcel", "How do I wrap my parcel?", keywords={"en": ["wrap"]}))
    new = draft(
        "parcel",
        "How should I pack a fragile parcel?",
        "Bubble wrap, then a box.",
        keywords={"en": ["pack", "fragile"]},
        tags=("delivery",),
    )
    async with db.transaction():
        entry = await kb.update_entry(db, new)
    assert entry.questions("en") == ["How should I pack a fragile parcel?"]
    assert entry.keywords("en") == ["pack", "fragile"]
    assert entry.entry.tags == ("delivery",)
    assert [a.text for a in entry.answers] == ["Bubble wrap, then a box."]
    result = await match(db, "how to pack a fragile parcel", "en")
    assert result.auto is not None and result.auto.key == "parcel"


async def test_the_answer_comes_in_the_users_language_or_the_next_there_is(db: asyncpg.Connection) -> None:
    async with db.transaction():
        entry = await kb.create_entry(
            db,
            draft(
                "hours",
                "Qachon ishlaysiz?",
                language="uz",
                answers={"uz": AnswerDraft("9:00–21:00"), "ru": AnswerDraft("С 9:00 до 21:00")},
            ),
        )
    for language, text in [("uz", "9:00–21:00"), ("ru", "С 9:00 до 21:00"), ("en", "9:00–21:00")]:
        answer = await kb.answer_for(db, entry.entry.id, language)
        assert answer is not None and answer.text == text, language


def _rich_entries() -> list[dict[str, object]]:
    """Entries with everything a file can hold (several questions, photo, buttons, tags, off),
    written the way the export writes them: questions as lists."""
    return [
        {
            "id": "kb01",
            "question": {"uz": ["E'lonni qanday beraman?", "elon berish"], "ru": ["Как подать объявление?"]},
            "answer": {
                "uz": {
                    "text": "Tugmani bosing: «📢 E'lon berish», so'ng \"Yuborish\".\n"
                    "Ikkinchi qator, vergul, bilan.",
                    "photo": "kb/kb01-uz.jpg",
                    "buttons": [
                        {"text": "Narx", "entry": "kb30"},
                        {"text": "Qoidalar", "url": "https://bozor.uz/q"},
                    ],
                },
                "ru": "Нажмите «📢 Подать объявление».",
            },
            "keywords": {"ru": ["подать объявление", "разместить"], "en": ["post an ad"]},
            "tags": ["ads", "start"],
            "enabled": True,
        },
        {
            "id": "kb30",
            "question": {"en": ["How should I write the price?"]},
            "answer": {"en": "Digits only, e.g. 1 200 000."},
            "keywords": {},
            "tags": [],
            "enabled": False,
        },
    ]


async def test_json_export_reads_back_as_the_same_knowledge_base(db: asyncpg.Connection) -> None:
    async with db.transaction():
        await kb.import_json(db, _rich_entries())
    exported = await kb.export_json(db)
    assert exported == _rich_entries()
    await db.execute("DELETE FROM support_kb_entries")
    async with db.transaction():
        await kb.import_json(db, exported)
    assert await kb.export_json(db) == exported


async def test_csv_round_trip_keeps_everything(db: asyncpg.Connection) -> None:
    async with db.transaction():
        await kb.import_json(db, _rich_entries())
        await kb.add_phrasing(db, "kb30", "uz", "narxni qanday yozaman")
    before = await kb.export_json(db)
    csv_text = await kb.export_csv(db)
    assert csv_text.splitlines()[0] == "id,language,questions,keywords,answer,photo,buttons,tags,enabled"
    await db.execute("DELETE FROM support_kb_entries")
    async with db.transaction():
        report = await kb.import_csv(db, csv_text)
    assert sorted(report.created) == ["kb01", "kb30"]
    assert await kb.export_json(db) == before
    async with db.transaction():  # and importing it again changes nothing
        again = await kb.import_csv(db, csv_text)
    assert sorted(again.unchanged) == ["kb01", "kb30"]


async def test_a_csv_without_the_needed_columns_is_refused(db: asyncpg.Connection) -> None:
    with pytest.raises(KbError, match="lacks the column “answer”"):
        async with db.transaction():
            await kb.import_csv(db, "id,language,questions\nkb01,en,How?\n")
    assert (await counts(db))["entries"] == 0


async def test_phrasings_of_an_older_analyser_are_reanalysed(db: asyncpg.Connection) -> None:
    await load_sample_kb(db)
    await db.execute(
        """UPDATE support_kb_phrasings SET terms = '{}', analyser = 0
            WHERE entry_id = (SELECT id FROM support_kb_entries WHERE key = 'kb06')"""
    )
    await db.execute("UPDATE support_kb_answers SET analyser = 0")
    async with db.transaction():
        await kb.reindex_stale(db)  # what the start-up does after the analyser changed
    assert await db.fetchval("SELECT count(*) FROM support_kb_phrasings WHERE analyser = 0") == 0
    assert await db.fetchval("SELECT count(*) FROM support_kb_answers WHERE analyser = 0") == 0
    result = await match(db, "How can I remove my ad from the channel?", "en")
    assert result.auto is not None and result.auto.key == "kb06"
