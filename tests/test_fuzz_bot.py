"""Bot fuzz: forged and stale buttons of every callback prefix and action the handlers register,
and hostile answers at every wizard step; no handler may fail, a forged button is "no longer valid".

The prefixes, actions and fields come from app/bot/callbacks.py and the handlers' registrations,
so a new button is fuzzed without touching this file.
"""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiogram.filters.callback_data import CallbackData

from app.bot import callbacks
from app.domain import channels
from app.main import Bozor
from app.sandbox.driver import Sandbox
from tests.helpers.images import png
from tests.helpers.market import submitted

HANDLERS = Path(__file__).resolve().parents[1] / "app" / "bot" / "handlers"
REGISTERED = re.compile(r'(\w+Cb)\.filter\(F\.action == "(\w+)"\)')
BARE = re.compile(r"(\w+Cb)\.filter\(\)")  # every button of the class (e.g. mn:<node id>)
STALE = "This button is out of date. Send /start for a fresh menu."
STALE_RU = "Эта кнопка устарела. Отправьте /start, чтобы открыть новое меню."
STALE_UZ = "Bu tugma eskirgan. Yangi menyu uchun /start yuboring."
APOLOGY = ("Kechirasiz, bizda nimadir", "Извините, у нас что-то")
IDS = ("99999999999999999999", "-99999999999999999999", "999999", "-1", "x", "")


def buttons() -> list[tuple[type[CallbackData], str]]:
    """Every (CallbackData class, action) a handler registers."""
    classes = {
        name: cls
        for name, cls in inspect.getmembers(callbacks, inspect.isclass)
        if issubclass(cls, CallbackData) and cls is not CallbackData
    }
    sources = [source.read_text() for source in HANDLERS.glob("*.py")]
    found = {(classes[name], action) for text in sources for name, action in REGISTERED.findall(text)}
    found |= {(classes[name], "") for text in sources for name in BARE.findall(text)}
    assert found, "no registrations found: the pattern no longer matches the handlers"
    return sorted(found, key=lambda pair: (pair[0].__name__, pair[1]))


def forged(cls: type[CallbackData], action: str, existing: dict[str, str]) -> list[tuple[str, bool]]:
    """The button's data with each other field hostile in turn (the rest plausible), and
    whether that made a number no row id can be."""
    prefix = cls.__prefix__  # type: ignore[attr-defined]
    fields = [name for name in cls.model_fields if name != "action"]
    plausible = {name: existing.get(name, "0") for name in fields}
    out = []
    for name in fields:
        for value in IDS:
            values = plausible | {name: value}
            overflow = len(value) >= 20 and cls.model_fields[name].annotation in (int, "int")
            packed = [
                prefix,
                *([action] if "action" in cls.model_fields else []),
                *(values[f] for f in fields),
            ]
            out.append((":".join(packed), overflow))
    return out


async def test_forged_and_stale_buttons_are_no_longer_valid_and_nothing_fails(
    bozor: Bozor, sandbox: Sandbox, market: dict[str, Any]
) -> None:
    await submitted(market, sandbox, "Velosiped")
    async with bozor.pool.acquire() as conn:
        ad_id = await conn.fetchval("SELECT max(id) FROM ads")
        other = await channels.create_channel(conn, title="Other", chat_ref="@other_channel")
        names = {"uz": "Boshqa", "ru": "Другое", "en": "Other"}
        foreign_category = (await channels.add_category(conn, other.id, "other", names)).id
    existing = {"ad_id": str(ad_id), "value": str(foreign_category), "reason_id": "1", "page": "0"}
    answers: dict[str, list[str]] = {}
    pressed = 0
    overflows: set[str] = set()
    for persona in (market["seller"], market["olga"]):
        for cls, action in buttons():
            for data, overflow in forged(cls, action, existing):
                if len(data.encode()) > 64:
                    continue
                result = await persona.press(callback_data=data, forged=True)
                answer = await persona.callback_answer(result["callback_query_id"])
                answers.setdefault(answer.get("text") or "", []).append(data)
                if overflow:
                    overflows.add(data)
                pressed += 1
    print(f"bot fuzz: {pressed} forged buttons, answers: { {k: len(v) for k, v in answers.items()} }")
    async with bozor.pool.acquire() as conn:
        failures = await conn.fetch("SELECT error FROM update_journal WHERE error IS NOT NULL")
    apologies = [data for text, sent in answers.items() if text.startswith(APOLOGY) for data in sent]
    stale = {data for text, sent in answers.items() if text == STALE_UZ for data in sent}
    assert overflows <= stale, sorted(overflows - stale)[:10]  # "out of date", nothing else
    categories = {data for sent in answers.values() for data in sent if data.startswith("ad:category:")}
    foreign = {d for d in categories if d.split(":")[2] in (str(foreign_category), "999999", "-1")}
    assert foreign and foreign <= stale | set(answers.get(STALE_RU, [])), sorted(foreign - stale)
    # A menu button naming no submenu or answer (deleted, an action's, a link's) is out of date.
    menu_presses = {d for sent in answers.values() for d in sent if d.startswith("mn:")}
    assert menu_presses and menu_presses <= stale | set(answers.get(STALE_RU, [])), sorted(menu_presses)
    # A forged "reject" never shows someone who is not the channel's admin its canned reasons.
    seller_markup = [m.get("reply_markup") for m in await market["seller"].bot_messages()]
    assert not any("mod:reason" in str(markup) for markup in seller_markup)
    assert apologies == [] and failures == [], (
        f"{len(failures)} of {pressed} failed",
        apologies,
        failures[:5],
    )


async def test_a_nul_at_any_wizard_step_is_refused_clearly_and_the_wizard_goes_on(
    bozor: Bozor, sandbox: Sandbox, market: dict[str, Any]
) -> None:
    seller = market["seller"]
    await seller.press("📢 E'lon berish")
    await seller.wait_for_bot("Bo'limni tanlang")
    await seller.press("Transport")
    steps = (("sarlavhasini", "Velosiped"), ("tasvirlang", "Yaxshi holatda"), ("Narxi qancha", "1 500 000"))
    for prompt, answer in steps:
        await seller.wait_for_bot(prompt)
        await seller.send(f"bad\x00{answer}")
        await seller.wait_for_bot("belgi bor")  # "contains a character that cannot be used"
        await seller.send(answer)
    await seller.wait_for_bot("rasm yuboring")  # the wizard went on to the photos
    await seller.send_album([png(rgb=(200, 0, 0)), png(rgb=(0, 200, 0))])
    await seller.wait_for_bot("2-rasm qo'shildi")
    await seller.press("✅ Rasmlar tayyor")
    for prompt, answer in (("tuman", "Chilonzor"), ("Xaridorlar", "+998901234567")):
        await seller.wait_for_bot(prompt)
        await seller.send(f"bad\x00{answer}")
        await seller.wait_for_bot("belgi bor")
        await seller.send(answer)
    await seller.wait_for_bot("Tekshiruvga yuborasizmi")  # every step refused the NUL and went on
    async with bozor.pool.acquire() as conn:
        journaled = await conn.fetchval(
            "SELECT count(*) FROM update_journal WHERE payload::text LIKE '%bad%'"
        )
        failed = await conn.fetchval("SELECT count(*) FROM update_journal WHERE error IS NOT NULL")
    assert (journaled, failed) == (5, 0)


LONG = "9" * 4096  # the longest text Telegram delivers (clients split longer ones)
TEXT_HINT = "matnli xabar bilan javob bering"  # "Please answer with a text message."
PHOTO_HINT = "Rasm yuboring yoki"  # "Please send a photo, or press … when you have sent them all."
CONTACT_HINT = "+998901234567 kabi telefon"  # "Send a phone number like +998901234567 or …"


async def test_a_long_or_wrong_kind_answer_at_any_wizard_step_gets_its_hint_and_changes_nothing(
    bozor: Bozor, sandbox: Sandbox, market: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    seller = market["seller"]
    await sandbox.limits(private_per_second=50, private_burst=50)  # many answers, quickly
    kinds: dict[str, Callable[[], Awaitable[Any]]] = {
        "long text": lambda: seller.send(LONG),
        "photo": lambda: seller.send_photo(png(rgb=(1, 2, 3))),
        "document": lambda: seller.send_document(b"%PDF-1.4 x", "passport.pdf"),
        "contact": lambda: seller.share_contact("+998901234567"),
        "location": lambda: seller.send_location(41.3, 69.2),  # as a sticker would: neither text nor photo
    }
    # Per step, what each kind of answer is told (the step's hint, in the seller's Uzbek).
    steps = {
        "category": dict.fromkeys(kinds, "yuqoridagi tugmalar bilan bo'limni"),
        "title": {"long text": "Sarlavha juda uzun"}
        | dict.fromkeys(("photo", "document", "contact", "location"), TEXT_HINT),
        "description": {"long text": "Tavsif kanal uchun juda uzun"}
        | dict.fromkeys(("photo", "document", "contact", "location"), TEXT_HINT),
        "price": {"long text": "narx haddan tashqari"}
        | dict.fromkeys(("photo", "document", "contact", "location"), TEXT_HINT),
        "photos": {"document": "fayl emas, rasm sifatida"}
        | dict.fromkeys(("long text", "contact", "location"), PHOTO_HINT),
        "district": {"long text": "Tumanni 1 dan"}
        | dict.fromkeys(("photo", "document", "contact", "location"), TEXT_HINT),
        "contact": dict.fromkeys(("long text", "photo", "document", "location"), CONTACT_HINT),
        "preview": dict.fromkeys(kinds, "ko'rish ostidagi tugmalardan"),
    }

    async def conversation() -> tuple[str | None, Any]:
        async with bozor.pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT state, data FROM fsm_state WHERE key LIKE $1", f"%:{seller.id}:{seller.id}:%"
            )
        assert row is not None
        return row["state"], row["data"]

    async def hostile(step: str) -> None:
        before = await conversation()
        assert (before[0] or "").endswith(f":{step}"), before[0]
        for kind, hint in steps[step].items():
            await kinds[kind]()
            await seller.wait_for_bot(hint, timeout=10)
            assert await conversation() == before, (step, kind)  # the draft and the step as they were

    await seller.press("📢 E'lon berish")
    await seller.wait_for_bot("Bo'limni tanlang")
    await hostile("category")
    await seller.press("Transport")
    for step, prompt, answer in (
        ("title", "sarlavhasini", "Velosiped Forward"),
        ("description", "tasvirlang", "Yaxshi holatda, 26 dyuym"),
        ("price", "Narxi qancha", "1 500 000 so'm"),
    ):
        await seller.wait_for_bot(prompt)
        await hostile(step)
        await seller.send(answer)
    await seller.wait_for_bot("rasm yuboring")
    await hostile("photos")
    await seller.send_album([png(rgb=(200, 0, 0)), png(rgb=(0, 200, 0))])
    await seller.wait_for_bot("2-rasm qo'shildi")
    await seller.press("✅ Rasmlar tayyor")
    await seller.wait_for_bot("tuman")
    await hostile("district")
    await seller.send("Chilonzor")
    await seller.wait_for_bot("Xaridorlar")
    await hostile("contact")
    await seller.share_contact("+998901234567")
    await seller.wait_for_bot("Tekshiruvga yuborasizmi")
    await hostile("preview")
    await seller.press("✅ Yuborish")
    await seller.wait_for_bot("tekshiruvga yuborildi")

    async with bozor.pool.acquire() as conn:
        ad = await conn.fetchrow("SELECT title, district, contact, status FROM ads")
        failed = await conn.fetchval("SELECT count(*) FROM update_journal WHERE error IS NOT NULL")
    assert dict(ad) == {
        "title": "Velosiped Forward",
        "district": "Chilonzor",
        "contact": "+998901234567",
        "status": "pending",
    }
    apologies = [m for m in await seller.bot_messages() if m.get("text", "").startswith(APOLOGY)]
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert (failed, apologies, errors) == (0, [], [])
