"""The bot answers from the knowledge base in any language and script, asks when unsure, and
leaves small talk and disabled entries alone (PostgreSQL does the matching)."""

from __future__ import annotations

import asyncpg
import pytest

from app.domain.support import kb
from app.domain.support.matching import match
from tests.helpers.support import load_sample_kb


@pytest.fixture
async def sample(db: asyncpg.Connection) -> asyncpg.Connection:
    """The test database holding the 40-entry sample knowledge base."""
    await load_sample_kb(db)
    return db


@pytest.mark.parametrize(
    ("language", "text", "entry"),
    [
        ("uz", "Botning tilini qanday o'zgartirsam bo'ladi?", "kb17"),  # Uzbek, apostrophes
        ("uz", "botning tilini qanday ozgartirsam boladi", "kb17"),  # none, as typed on a phone
        ("uz", "botning tilini qanday oʻzgartirsam boʻladi", "kb17"),  # the official ʻ
        ("uz", "Ботнинг тилини қандай ўзгартирсам бўлади?", "kb17"),  # Uzbek Cyrillic
        ("ru", "Как поменять язык в боте?", "kb17"),
        ("ru", "kak pomenyat yazyk v bote?", "kb17"),  # Russian in Latin letters
        ("en", "How can I switch the bot to another language?", "kb17"),
        ("uz", "elonimni qanday ochirib tashlayman", "kb06"),
        ("uz", "Эълонимни қандай ўчириб ташлайман?", "kb06"),
        ("ru", "Как удалить моё объявление из канала?", "kb06"),
        ("ru", "kak udalit moe obyavlenie iz kanala", "kb06"),
        ("en", "How can I remove my ad from the channel?", "kb06"),
    ],
)
async def test_a_question_in_each_language_and_script_is_answered_with_its_entry(
    sample: asyncpg.Connection, language: str, text: str, entry: str
) -> None:
    result = await match(sample, text, language)
    assert result.auto is not None and result.auto.key == entry
    assert entry not in [s.key for s in result.suggestions]


async def test_a_near_match_offers_did_you_mean_and_answers_nothing(sample: asyncpg.Connection) -> None:
    # A limit on photos: the daily-limit entry and the photo entry both fit in part.
    result = await match(sample, "can I put more photos than the limit?", "en")
    assert result.auto is None
    offered = [s.key for s in result.suggestions]
    assert {"kb02", "kb15"} <= set(offered) and len(offered) <= 3
    photos = next(s for s in result.suggestions if s.key == "kb02")
    assert photos.question == "How many photos can I add to an ad?"  # the user's language
    uz = await match(sample, "rasmlar uchun limit bormi?", "uz")
    assert uz.auto is None
    assert (
        next(s for s in uz.suggestions if s.key == "kb02").question == "E'longa nechta rasm qo'shsa bo'ladi?"
    )


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("uz", "salom"),
        ("uz", "rahmat katta"),
        ("ru", "спасибо!"),
        ("en", "thanks a lot"),
        ("uz", "ok"),
        ("ru", "!!!"),
    ],
)
async def test_small_talk_gets_no_answer_and_no_suggestions(
    sample: asyncpg.Connection, language: str, text: str
) -> None:
    result = await match(sample, text, language)
    assert result.auto is None and result.suggestions == () and result.escalate


@pytest.mark.parametrize(
    ("language", "text", "entry", "not_entry"),
    [
        ("en", "my ad was not reposted", "kb09", "kb08"),
        ("en", "how often is my ad reposted?", "kb08", "kb09"),
        ("uz", "e'lonim qayta chiqmayapti", "kb09", "kb08"),
        ("ru", "Почему моё объявление не повторяют?", "kb09", "kb08"),
        ("uz", "yulduzlarni qayerdan sotib olaman?", "kb13", "kb14"),  # Stars vs refund
        ("uz", "yulduzlarimni qaytarib bering", "kb14", "kb13"),
        ("en", "how do I promote my ad?", "kb12", "kb13"),  # promotion vs Stars
    ],
)
async def test_the_deliberately_close_entries_are_told_apart(
    sample: asyncpg.Connection, language: str, text: str, entry: str, not_entry: str
) -> None:
    result = await match(sample, text, language)
    assert result.auto is not None and result.auto.key == entry
    assert result.auto.key != not_entry


async def test_two_entries_fitting_alike_are_offered_not_guessed(sample: asyncpg.Connection) -> None:
    # "Why does my ad come out again and again": reposted (kb08) fits best, not reposted (kb09)
    # nearly as well — the user chooses.
    result = await match(sample, "e'lonim nega qayta-qayta chiqyapti", "uz")
    assert result.auto is None
    assert [s.key for s in result.suggestions][:2] == ["kb08", "kb09"]


async def test_a_question_about_something_no_entry_covers_is_not_answered(sample: asyncpg.Connection) -> None:
    for language, text in [("en", "can I pay in installments?"), ("en", "where can I buy a cheap sofa?")]:
        assert (await match(sample, text, language)).auto is None, text


async def test_a_disabled_entry_is_never_matched(sample: asyncpg.Connection) -> None:
    question = "How can I remove my ad from the channel?"
    async with sample.transaction():
        await kb.set_enabled(sample, "kb06", False)
    result = await match(sample, question, "en")
    assert "kb06" not in [c.key for c in result.candidates]
    assert result.auto is None or result.auto.key != "kb06"
    assert "kb06" not in [s.key for s in result.suggestions]
    async with sample.transaction():
        await kb.set_enabled(sample, "kb06", True)
    result = await match(sample, question, "en")
    assert result.auto is not None and result.auto.key == "kb06"


async def test_a_phrasing_added_from_the_desk_makes_that_question_answer_at_once(
    sample: asyncpg.Connection,
) -> None:
    question = "sotuvchi bilan qanday qilib uchrashsam bo'ladi, manzilini bilmayman"
    before = await match(sample, question, "uz")
    assert before.auto is None or before.auto.key != "kb10"
    async with sample.transaction():
        assert await kb.add_phrasing(sample, "kb10", "uz", question) is True
    after = await match(sample, question, "uz")
    assert after.auto is not None and after.auto.key == "kb10"
    async with sample.transaction():  # the same question twice is one phrasing
        assert await kb.add_phrasing(sample, "kb10", "uz", question) is False
    stored = await sample.fetchval(
        "SELECT count(*) FROM support_kb_phrasings WHERE text = $1 AND source = 'desk'", question
    )
    assert stored == 1
