"""Builders for the tasks tests: a task on a sandbox chat, a person with the bot started."""

from __future__ import annotations

from typing import Any

import asyncpg

from app.bot.task_messages import BotTaskMessages
from app.domain import staff as staff_domain
from app.domain import tasks
from app.domain.staff import Role, Staff
from app.domain.tasks import ChatRef, Task, TaskInput, Verification
from app.i18n import Translator
from tests.helpers.ledger import make_staff

TASK_MSGS = BotTaskMessages(Translator("uz"))


async def admin(conn: asyncpg.Connection, username: str = "tasks_admin") -> Staff:
    """The tasks admin (made once per database)."""
    found = await conn.fetchval("SELECT id FROM staff WHERE username = $1", username)
    if found is not None:
        staff = await staff_domain.get_staff(conn, found)
        assert staff is not None
        return staff
    return await make_staff(conn, username, Role.ADMIN)


async def make_task(
    conn: asyncpg.Connection,
    chat: Any | None = None,
    *,
    staff: Staff | None = None,
    reward: int = 50,
    verification: Verification = Verification.AUTO,
    leave_days: int | None = 7,
    max_completions: int | None = None,
    title: str = "Kanalga obuna bo'ling",
) -> Task:
    """A task on a sandbox chat (its id and @username), or a screenshot task on an invite link."""
    staff = staff or await admin(conn)
    if chat is not None:
        ref = (
            ChatRef(chat.username, None, None)
            if chat.username
            else ChatRef(None, chat.id, "https://t.me/+abcdef123")
        )
        chat_id, chat_title = chat.id, chat.data.get("title")
    else:
        ref, chat_id, chat_title = ChatRef(None, None, "https://t.me/+abcdef123"), None, None
    return await tasks.create_task(
        conn,
        staff,
        TaskInput(
            chat=ref,
            chat_id=chat_id,
            chat_title=chat_title,
            titles={"uz": title, "ru": "Подпишитесь на канал", "en": "Join the channel"},
            descriptions={},
            reward=reward,
            max_completions=max_completions,
            starts_at=None,
            ends_at=None,
            verification=verification,
            leave_days=leave_days,
        ),
    )


async def person(sandbox: Any, name: str, **kw: Any) -> Any:
    """A user who has started the bot (so they exist in our users table)."""
    who = await sandbox.user(name, **({"language_code": "en"} | kw))
    await who.send("/start")
    await who.wait_for_bot(lambda m: bool(m.get("reply_markup")))
    return who


async def points(conn: asyncpg.Connection, user_id: int) -> int:
    return await conn.fetchval(
        "SELECT coalesce(sum(amount), 0) FROM ledger_entries WHERE account = $1 AND currency = 'points'",
        user_id,
    )


async def entries(conn: asyncpg.Connection, user_id: int) -> list[tuple[str, int]]:
    rows = await conn.fetch("SELECT kind, amount FROM ledger_entries WHERE account = $1 ORDER BY id", user_id)
    return [(r["kind"], r["amount"]) for r in rows]
