"""Realistic rows for every area beside the market (support, tasks, promotion, web chat,
broadcasts, recorded messages, the ledger), so a screen test has something to show: Uzbek and
Russian people, their words, and staff who answered them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import asyncpg

from app.bot.support_messages import BotDeskMessages
from app.bot.task_messages import BotTaskMessages
from app.db.queries.support_desk import NewMessage
from app.domain import broadcasts, ledger, promotions, tasks
from app.domain import record as record_domain
from app.domain.actors import StaffMember, TelegramUser
from app.domain.broadcasts import Audience
from app.domain.chat import accounts, conversations
from app.domain.promotions import PromotionKind
from app.domain.record import Direction, Kind
from app.domain.staff import Staff
from app.domain.support import desk
from app.domain.support.settings import DeskSettings
from app.domain.users import Languages
from app.i18n import Translator
from tests.helpers.ads import REAL_SELLERS
from tests.helpers.ledger import credit
from tests.helpers.support import load_sample_kb
from tests.helpers.tasks import make_task

UZ_DESK = BotDeskMessages(Translator("uz"), "uz")
LANGS = Languages(default="uz")
TICKETS = [  # (user, language, what they wrote, the operator's answer)
    (0, "uz", "Assalomu alaykum! E'lonim kanalga chiqmadi, uch kundan beri kutyapman.", "Tekshiramiz."),
    (1, "ru", "Здравствуйте, не могу изменить цену в объявлении, кнопка «Изменить» не работает.", None),
]
CANNED = {
    "Salomlashish": "Assalomu alaykum! Murojaatingiz uchun rahmat, hozir tekshiramiz.",
    "Цена": "Цену можно изменить в «Мои объявления» → «Изменить».",
}
RECORDED = [  # (which user, direction, text)
    (0, Direction.IN, "Velosipedni qanday sotsam bo'ladi?"),
    (1, Direction.IN, "Сколько стоит закрепить объявление?"),
    (1, Direction.OUT, "Закрепление стоит 50 звёзд."),
]


async def fill_every_area(db: asyncpg.Connection, boss: Staff, market: dict[str, Any]) -> dict[str, str]:
    """Rows on every screen the market leaves empty; returns the paths of the detail pages."""
    users = [seller[0] for seller in REAL_SELLERS]
    return {
        "support-ticket": await _support(db, boss, users),
        **await _tasks(db, boss, users),
        "broadcast": await _broadcast(db, boss),
        **await _balances(db, users),
    } | await _rest(db, boss, market, users)


async def _support(db: asyncpg.Connection, boss: Staff, users: list[int]) -> str:
    ticket_ids = []
    for who, language, text, answer in TICKETS:
        async with db.transaction():
            taken = await desk.take_message(
                db,
                TelegramUser(users[who]),
                NewMessage("user", text),
                language=language,
                settings=DeskSettings(),
                msgs=UZ_DESK,
            )
            if answer:
                await desk.reply(db, StaffMember(boss), taken.ticket.id, answer, msgs=UZ_DESK)
        ticket_ids.append(taken.ticket.id)
    for title, text in CANNED.items():
        await desk.add_canned(db, StaffMember(boss), title, text)
    await load_sample_kb(db)
    return f"/panel/support/tickets/{ticket_ids[0]}"


async def _tasks(db: asyncpg.Connection, boss: Staff, users: list[int]) -> dict[str, str]:
    """A screenshot task done by one user (accepted) and waiting for review from another."""
    task = await make_task(
        db, None, staff=boss, verification=tasks.Verification.SCREENSHOT, leave_days=None, reward=25
    )
    now = datetime.now(UTC)
    done = await tasks.submit_screenshot(db, task.id, TelegramUser(users[0]), "file-shot-1", now)
    await tasks.approve_screenshot(
        db, done.id, boss, msgs=BotTaskMessages(Translator("uz")), languages=LANGS, now=now
    )
    await tasks.submit_screenshot(db, task.id, TelegramUser(users[1]), "file-shot-2", now)
    key = quote(tasks.chat_key(task), safe="/")
    return {"task": f"/panel/tasks/{task.id}", "task-chat": f"/panel/task-chat?key={key}"}


async def _broadcast(db: asyncpg.Connection, boss: Staff) -> str:
    """A finished broadcast to everyone: its rows marked as the outbox would, one of them failed."""
    texts = {
        "default": "Hurmatli foydalanuvchilar! Bayram munosabati bilan e'lonlar bepul.",
        "ru": "Уважаемые пользователи! В честь праздника объявления бесплатны.",
    }
    made = await broadcasts.create(db, StaffMember(boss), texts, [], Audience())
    await broadcasts.start(db, StaffMember(boss), made.id, languages=LANGS)
    while True:
        await db.execute(
            """UPDATE outbox SET status = CASE WHEN id = first THEN 'failed' ELSE 'sent' END, done_at = now(),
                      error = CASE WHEN id = first THEN 'Bad Request: chat not found' END
               FROM (SELECT min(id) AS first FROM outbox WHERE ref_kind = 'broadcast') AS f
               WHERE ref_kind = 'broadcast' AND status = 'pending'"""
        )
        if not await broadcasts.feed_running(db, LANGS):
            break
    return f"/panel/broadcasts/{made.id}"


async def _balances(db: asyncpg.Connection, users: list[int]) -> dict[str, str]:
    await credit(db, users[0], 500)
    await credit(db, users[1], 1200)
    await ledger.request_withdrawal(db, users[1], 1000)
    return {"balance": f"/panel/balances/{users[1]}"}


async def _rest(
    db: asyncpg.Connection, boss: Staff, market: dict[str, Any], users: list[int]
) -> dict[str, str]:
    """Promotion prices, a reported web-chat conversation, recorded bot messages."""
    channel_id = market["channel_id"]
    await promotions.save_option(db, boss, channel_id, PromotionKind.PIN, None, 50, 500, True)
    await promotions.save_option(db, boss, channel_id, PromotionKind.REPOSTS, 3, 30, 300, True)

    buyer = await accounts.account_for_telegram(db, users[2])
    talk = await conversations.start_about_ad(db, buyer, market["ad_ids"][0])
    question = "Assalomu alaykum, velosiped hali sotuvdami?"
    await conversations.send(db, buyer, talk.id, body=question, via="web", msgs=None, languages=LANGS)
    reason = "Sotuvchi oldindan to'lov so'rayapti, karta raqami yubordi"
    await conversations.report(db, buyer.id, talk.id, reason)

    await record_domain.record(
        db, [record_domain.entry(users[n], users[n], way, Kind.TEXT, text) for n, way, text in RECORDED]
    )
    return {}
