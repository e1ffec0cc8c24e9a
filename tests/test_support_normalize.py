"""What people type reduces to one form: apostrophes, Uzbek Cyrillic, Russian in Latin letters."""

from __future__ import annotations

import pytest

from app.domain.support.matching import Thresholds, ThresholdsError
from app.domain.support.normalize import NEGATION, analyse, canonical


@pytest.mark.parametrize(
    "variant",
    ["o'zgartirish", "o`zgartirish", "oʻzgartirish", "o’zgartirish", "ozgartirish", "O'ZGARTIRISH"],
)
def test_every_uzbek_apostrophe_and_none_give_one_word(variant: str) -> None:
    assert canonical(variant) == canonical("o‘zgartirish")


@pytest.mark.parametrize("variant", ["bog'lash", "bog`lash", "bogʻlash", "bog’lash", "boglash"])
def test_g_with_any_apostrophe_or_none_is_one_letter(variant: str) -> None:
    assert canonical(variant) == canonical("боғлаш")


@pytest.mark.parametrize(
    ("cyrillic", "latin"),
    [
        ("Эълонни ўзгартириш", "E'lonni o'zgartirish"),
        ("қўшиш", "qo'shish"),
        ("ҳали сотувдами", "hali sotuvdami"),
        ("ёзиш", "yozish"),
        ("боғлаш", "bog'lash"),
        ("етказиб бериш", "yetkazib berish"),
    ],
)
def test_uzbek_cyrillic_and_latin_are_one_form(cyrillic: str, latin: str) -> None:
    assert canonical(cyrillic) == canonical(latin)


@pytest.mark.parametrize(
    ("cyrillic", "typed_in_latin"),
    [
        ("Как удалить объявление?", "kak udalit obyavlenie"),
        ("Как удалить объявление?", "kak udalit ob'javlenie"),
        ("сколько ждать", "skolko zhdat"),
        ("звёзды", "zvezdy"),
        ("где купить звезды", "gde kupit zvezdi"),
    ],
)
def test_russian_in_latin_letters_meets_russian(cyrillic: str, typed_in_latin: str) -> None:
    assert analyse(cyrillic, "ru").terms == analyse(typed_in_latin, "ru").terms


def test_case_punctuation_and_stretched_letters_do_not_matter() -> None:
    assert canonical("SPASIBOOOO!!!") == canonical("spasibo")
    assert canonical("Rahmat, rahmat...") == canonical("rahmat rahmat")


def test_one_thing_named_in_three_languages_is_one_concept() -> None:
    for text, language in [("rasmlar", "uz"), ("фотографии", "ru"), ("kartinki", "ru"), ("pictures", "en")]:
        assert analyse(text, language).terms == ("PHOTO",), text


def test_a_negated_phrase_is_marked_and_a_verb_that_only_looks_negated_is_not() -> None:
    assert NEGATION in analyse("e'lonim qayta chiqmayapti", "uz").terms
    assert NEGATION not in analyse("e'lonim qayta chiqyapti", "uz").terms
    assert NEGATION in analyse("my ad was not reposted", "en").terms
    assert NEGATION in analyse("объявление не повторяется", "ru").terms
    assert NEGATION not in analyse("ball kamaydi", "uz").terms  # kamay- (decrease), not kam-ma-
    # Russian "но" (but) typed in Latin letters is no "no".
    assert NEGATION not in analyse("oplatil zakrep, no obyavlenie visit", "ru").terms


def test_greetings_and_thanks_carry_no_terms() -> None:
    for text in ["salom", "Assalomu alaykum", "спасибо!", "thanks a lot", "ok", "😀"]:
        assert analyse(text, "uz").terms == (), text


def test_a_word_shared_by_two_languages_is_read_in_the_speakers_language() -> None:
    assert analyse("check", "en").terms == ("CHECK",)
    assert analyse("чек", "ru").terms == ("RECEIPT",)  # transliterated it is spelled "chek" too


def test_thresholds_read_from_stored_settings_and_refuse_nonsense() -> None:
    assert Thresholds.from_mapping({}) == Thresholds()
    stored = Thresholds.from_mapping({"margin": "0.2", "min_coverage": 0.55, "unrelated": "x"})
    assert (stored.margin, stored.min_coverage, stored.auto_answer) == (0.2, 0.55, Thresholds().auto_answer)
    for bad in ({"margin": "1.5"}, {"margin": "lots"}, {"unknown_word_weight": "-1"}):
        with pytest.raises(ThresholdsError):
            Thresholds.from_mapping(bad)
