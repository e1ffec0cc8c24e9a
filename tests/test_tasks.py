"""Tasks end to end: real aiogram, the sandbox over HTTP, real PostgreSQL. Check credits once,
a non-member is told, leaving within the window takes the reward back once, rejoining never
pays twice."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from app.bot.member_checks import MemberChecks
from app.domain import ledger, tasks
from app.domain.actors import TelegramUser
from app.domain.users import Languages
from tests.helpers.ledger import make_user, race
from tests.helpers.market import buttons
from tests.helpers.polling import eventually, outbox_settled
from tests.helpers.tasks import TASK_MSGS, entries, make_task, person, points


async def test_check_credits_a_member_once_and_tells_a_non_member(bozor, sandbox, db) -> None:
    owner = await sandbox.user("Owner")
    channel = await sandbox.channel("Tech News", username="tech_news_uz", admins=[owner])
    task = await make_task(db, channel, reward=40)
    ali = await person(sandbox, "Ali")

    await ali.press("🎯 Tasks")
    listed = await ali.wait_for_bot("Join a chat")
    assert "Join the channel — +40" in listed["text"] and "Your balance: 0 points" in listed["text"]
    assert buttons(listed)[:2] == ["➕ Join 1", "✅ Check 1"]
    join = next(
        b for row in listed["reply_markup"]["inline_keyboard"] for b in row if b["text"] == "➕ Join 1"
    )
    assert join["url"] == "https://t.me/tech_news_uz"

    pressed = await ali.press("✅ Check 1")
    answer = await ali.callback_answer(pressed["callback_query_id"])
    assert "You have not joined Tech News yet" in answer["text"]
    assert await entries(db, ali.id) == []

    await channel.join(ali)
    pressed = await ali.press("✅ Check 1")
    answer = await ali.callback_answer(pressed["callback_query_id"])
    assert answer["text"] == "✅ Done! +40 points. Your balance: 40 points."
    assert await entries(db, ali.id) == [("task_reward", 40)]
    relisted = await ali.wait_for_bot("no tasks for you")
    assert "Your balance: 40 points" in relisted["text"]
    # A stale or forged button (the sandbox presses only real ones): named, nothing credited.
    for forged in (999, 10**20, 0):
        with pytest.raises(tasks.TaskNotFound):
            await tasks.task_to_check(db, forged, TelegramUser(ali.id), datetime.now(UTC))
    with pytest.raises(tasks.AlreadyDone):
        await tasks.task_to_check(db, task.id, TelegramUser(ali.id), datetime.now(UTC))
    completion = await db.fetchrow("SELECT status, watch_until, next_check_at FROM task_completions")
    assert completion["status"] == "credited" and completion["next_check_at"] <= completion["watch_until"]
    assert await db.fetchval("SELECT completions FROM tasks WHERE id = $1", task.id) == 1


async def test_check_pressed_twice_at_once_credits_once(bozor, sandbox, db) -> None:
    owner = await sandbox.user("Owner")
    channel = await sandbox.channel("Tech News", username="tech_news_uz", admins=[owner])
    await make_task(db, channel, reward=25)
    ali = await person(sandbox, "Ali")
    await channel.join(ali)
    await ali.press("🎯 Tasks")
    listed = await ali.wait_for_bot("Join a chat")

    first, second = await asyncio.gather(
        ali.press("✅ Check 1", message_id=listed["message_id"]),
        ali.press("✅ Check 1", message_id=listed["message_id"]),
    )
    said = sorted(
        [
            (await ali.callback_answer(first["callback_query_id"]))["text"],
            (await ali.callback_answer(second["callback_query_id"]))["text"],
        ]
    )
    assert said == [
        "You have already done this task; it pays once.",
        "✅ Done! +25 points. Your balance: 25 points.",
    ]
    assert await entries(db, ali.id) == [("task_reward", 25)]
    assert await ledger.verify(db) == []


async def test_two_processes_crediting_the_same_check_at_once_credit_once(database_url, db) -> None:
    await make_user(db, 9101)
    task_id = await db.fetchval(
        """INSERT INTO tasks (chat_ref, chat_id, join_url, titles, reward, verification)
           VALUES ('@somechat', -100500, 'https://t.me/somechat', '{"en": "Join"}', 30, 'auto')
           RETURNING id"""
    )
    found = await tasks.get_task(db, task_id)
    assert found is not None
    now = datetime.now(UTC)

    async def credit(conn: asyncpg.Connection) -> object:
        return await tasks.credit_member(conn, found, TelegramUser(9101), now)

    raced = await race(database_url, credit, credit)

    assert raced.contended  # the second really waited for the first's uncommitted row
    kinds = sorted(type(o).__name__ for o in raced.outcomes)
    assert kinds == ["AlreadyDone", "Credited"]
    assert await points(db, 9101) == 30
    assert await db.fetchval("SELECT completions FROM tasks") == 1
    assert await db.fetchval("SELECT count(*) FROM task_completions") == 1


async def test_leaving_within_the_window_takes_back_once_and_rejoining_never_pays_again(
    bozor, sandbox, db
) -> None:
    owner = await sandbox.user("Owner")
    channel = await sandbox.channel("Tech News", username="tech_news_uz", admins=[owner])
    await make_task(db, channel, reward=60, leave_days=7)
    ali = await person(sandbox, "Ali")
    await channel.join(ali)
    await ali.press("🎯 Tasks")
    await ali.wait_for_bot("Join a chat")
    pressed = await ali.press("✅ Check 1")
    await ali.callback_answer(pressed["callback_query_id"])

    await channel.leave(ali)  # the bot is an administrator: Telegram sends it chat_member
    told = await ali.wait_for_bot("was taken back", timeout=10)
    assert "You left Tech News within 7 days" in told["text"] and "60 points" in told["text"]
    assert await entries(db, ali.id) == [("task_reward", 60), ("take_back", -60)]

    await channel.join(ali)
    await channel.leave(ali)  # a second leave: nothing more to take
    await channel.join(ali)
    await ali.press("⬅️ Back")
    await ali.wait_for_bot(lambda m: "🎯 Tasks" in buttons(m))
    await ali.press("🎯 Tasks")
    relisted = await ali.wait_for_bot("Your balance: 0 points")
    assert "no tasks for you" in relisted["text"]  # done once: never offered again
    await outbox_settled(bozor.pool)
    assert await entries(db, ali.id) == [("task_reward", 60), ("take_back", -60)]
    assert await db.fetchval("SELECT status FROM task_completions") == "taken_back"
    assert await ledger.verify(db) == []


async def test_the_scheduled_recheck_finds_who_left_where_the_bot_sees_no_updates(bozor, sandbox, db) -> None:
    """A group where the bot is a member but not an administrator: no chat_member updates, so
    the paced re-check (due dates in task_completions) is what notices the leaving."""
    stayer, leaver = await person(sandbox, "Stayer"), await person(sandbox, "Leaver")
    group = await sandbox.group("Chat UZ", username="chat_uz_group", members=[stayer, leaver])
    task = await make_task(db, group, reward=20, leave_days=3)
    now = datetime.now(UTC)
    for who in (stayer, leaver):
        await tasks.credit_member(db, task, TelegramUser(who.id), now)
    await group.leave(leaver)

    checks = MemberChecks(per_second=50)
    probe = lambda chat_id, user_id: checks.probe(bozor.bot, chat_id, user_id)  # noqa: E731

    async def sweep_at(at: datetime) -> tasks.Sweep:
        return await tasks.recheck_due(db, at, probe, msgs=TASK_MSGS, languages=Languages())

    early = await tasks.recheck_due(
        db, now + timedelta(hours=1), probe, msgs=TASK_MSGS, languages=Languages()
    )
    assert (early.checked, checks.calls) == (0, 0)  # nothing due yet: no call to Telegram

    sweep = await tasks.recheck_due(
        db, now + timedelta(days=1, minutes=1), probe, msgs=TASK_MSGS, languages=Languages()
    )
    assert (sweep.checked, sweep.taken_back, sweep.unknown) == (2, 1, 0)
    assert await points(db, leaver.id) == 0 and await points(db, stayer.id) == 20
    await leaver.wait_for_bot("taken back", timeout=10)

    again = await tasks.recheck_due(
        db, now + timedelta(days=1, minutes=2), probe, msgs=TASK_MSGS, languages=Languages()
    )
    assert again.checked == 0  # the stayer's next check is a day on; the leaver's is done
    last = await tasks.recheck_due(
        db, now + timedelta(days=3, minutes=1), probe, msgs=TASK_MSGS, languages=Languages()
    )
    assert (last.checked, last.taken_back) == (1, 0)
    assert (
        await db.fetchval("SELECT next_check_at FROM task_completions WHERE user_id = $1", stayer.id) is None
    )  # the window closed: never checked again
    await eventually(lambda: _sent_all(db), what="the outbox to deliver")


async def _sent_all(db: asyncpg.Connection) -> bool:
    return await db.fetchval("SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')") == 0


async def test_two_processes_sweeping_at_once_check_each_completion_once(database_url, db) -> None:
    """Two schedulers (two processes on one database) tick together: the lease gives each due
    completion to one of them, so every user is asked about once and taken back at most once."""
    task_id = await db.fetchval(
        """INSERT INTO tasks (chat_ref, chat_id, join_url, titles, reward, verification, leave_days)
           VALUES ('@somechat', -100500, 'https://t.me/somechat', '{"en": "Join"}', 10, 'auto', 7)
           RETURNING id"""
    )
    task = await tasks.get_task(db, task_id)
    assert task is not None
    now = datetime.now(UTC)
    users = list(range(9200, 9240))
    for user_id in users:
        await make_user(db, user_id)
        await tasks.credit_member(db, task, TelegramUser(user_id), now)
    asked: list[int] = []

    async def probe(_chat_id: int, user_id: int) -> bool:
        asked.append(user_id)
        await asyncio.sleep(0)  # let the other sweep run meanwhile
        return user_id % 4 != 0  # one in four left

    async def sweep(conn: asyncpg.Connection) -> tasks.Sweep:
        return await tasks.recheck_due(
            conn, now + timedelta(days=1, minutes=1), probe, msgs=TASK_MSGS, languages=Languages(), limit=15
        )

    first, second = await asyncpg.connect(database_url), await asyncpg.connect(database_url)
    try:
        results = []
        while not results or any(r.checked for r in results[-2:]):
            results += await asyncio.gather(sweep(first), sweep(second))
    finally:
        await first.close()
        await second.close()
    assert sorted(asked) == users  # each asked once
    assert sum(r.taken_back for r in results) == 10
    assert await db.fetchval("SELECT count(*) FROM ledger_entries WHERE kind = 'take_back'") == 10
    assert await ledger.verify(db) == []
