"""The outbox end to end: real PostgreSQL, the real aiogram Bot, the sandbox over HTTP."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramRetryAfter

from app.bot.dispatcher import create_bot
from app.bot.outbox import OutboxSender, SendLimits
from app.db.pool import create_pool
from app.domain.outbox import OutboxStatus, Outgoing, enqueue, enqueue_many, list_uncertain, result_of
from app.main import free_port
from app.sandbox.driver import Persona, Sandbox
from app.sandbox.media import sample_png
from app.sandbox.world import World
from app.storage.disk import DiskStorage
from tests.helpers.polling import eventually, outbox_settled
from tests.helpers.servers import TEST_TOKEN, SandboxServer

ROOT = Path(__file__).resolve().parents[1]
FAST = {"request_timeout": 2.0, "backoff": 0.05, "backoff_cap": 0.2, "tick": 5.0}

StartSender = Callable[..., Awaitable[OutboxSender]]


def count_429s(bot: Bot) -> list[str]:
    """Every 429 the bot receives, as seen from our side of the wire."""
    seen: list[str] = []

    async def middleware(make_request, bot, method):
        try:
            return await make_request(bot, method)
        except TelegramRetryAfter:
            seen.append(method.__api_method__)
            raise

    bot.session.middleware(middleware)
    return seen


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url)
    yield pool
    await pool.close()


@pytest.fixture
async def bot(sandbox_server: SandboxServer) -> AsyncIterator[Bot]:
    sandbox_server.world.add_bot(TEST_TOKEN)
    bot = create_bot(TEST_TOKEN, sandbox_server.url, wait_on_flood=False)
    yield bot
    await bot.session.close()


@pytest.fixture
def world(sandbox_server: SandboxServer) -> World:
    return sandbox_server.world


@pytest.fixture
async def start_sender(pool: asyncpg.Pool, bot: Bot) -> AsyncIterator[StartSender]:
    """Start an OutboxSender (as app/main.py will); every one started is stopped after the test."""
    started: list[OutboxSender] = []

    async def start(**options: Any) -> OutboxSender:
        sender = OutboxSender(pool, options.pop("bot", bot), **(FAST | options))
        await sender.start()
        started.append(sender)
        return sender

    yield start
    for sender in started:
        await sender.stop(drain=2.0)


async def user(sandbox: Sandbox, db: asyncpg.Connection, name: str) -> Persona:
    """A user who has started the bot (so the bot may write to them) and whom Bozor knows."""
    persona = await sandbox.user(name)
    await persona.send("/start")
    await db.execute("INSERT INTO users (id, first_name) VALUES ($1, $2)", persona.id, name)
    return persona


async def texts(persona: Persona) -> list[str]:
    return [m.get("text") or m.get("caption") or "" for m in await persona.bot_messages()]


async def row(db: asyncpg.Connection, outbox_id: int) -> asyncpg.Record:
    return await db.fetchrow("SELECT * FROM outbox WHERE id = $1", outbox_id)


async def send(db: asyncpg.Connection, persona: Persona, text: str, **kw: Any) -> int:
    async with db.transaction():
        return await enqueue(db, "sendMessage", {"chat_id": persona.id, "text": text}, **kw)


# ------------------------------------------------------------ delivery


async def test_a_committed_row_goes_out_at_once_and_its_message_id_is_kept(
    start_sender: StartSender, sandbox: Sandbox, db: asyncpg.Connection
) -> None:
    # The safety poll is an hour away: within this test only a NOTIFY can wake the sender.
    aziz = await user(sandbox, db, "Aziz")
    first = await send(db, aziz, "Xush kelibsiz")  # queued before it starts: its first pass sends it
    await start_sender(tick=3600.0)
    await eventually(lambda: _sent(db, first), what="the row queued before the start")
    async with db.transaction():
        outbox_id = await enqueue(
            db,
            "sendMessage",
            {"chat_id": aziz.id, "text": "E'loningiz tasdiqlandi"},
            ref_kind="ad",
            ref_id=17,
        )
    message = await aziz.wait_for_bot("E'loningiz tasdiqlandi")  # woken by the NOTIFY of the commit
    stored = await eventually(lambda: _sent(db, outbox_id))
    assert stored["result"] == {"message_id": message["message_id"]}
    [delivery] = await result_of(db, "ad", 17)
    assert delivery.message_ids == [message["message_id"]] and delivery.status is OutboxStatus.SENT


async def test_the_status_enum_names_every_status_the_table_allows(db: asyncpg.Connection) -> None:
    check = await db.fetchval(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = 'outbox'::regclass AND pg_get_constraintdef(oid) LIKE '%status%'"
    )
    assert sorted(re.findall(r"'(\w+)'", check)) == sorted(s.value for s in OutboxStatus)


async def _sent(db: asyncpg.Connection, outbox_id: int) -> asyncpg.Record | None:
    record = await row(db, outbox_id)
    return record if record["status"] == "sent" else None


async def test_a_rolled_back_change_sends_nothing(
    start_sender: StartSender, sandbox: Sandbox, db: asyncpg.Connection
) -> None:
    await start_sender()
    ali = await user(sandbox, db, "Ali")
    with pytest.raises(RuntimeError):
        async with db.transaction():
            await enqueue(db, "sendMessage", {"chat_id": ali.id, "text": "never"})
            raise RuntimeError("the ad could not be saved")
    await send(db, ali, "after")
    await ali.wait_for_bot("after")
    assert await texts(ali) == ["after"]
    assert await db.fetchval("SELECT count(*) FROM outbox") == 1


async def test_an_edit_queued_after_its_send_applies_to_that_message(
    start_sender: StartSender, sandbox: Sandbox, db: asyncpg.Connection
) -> None:
    await start_sender()
    olga = await user(sandbox, db, "Olga")
    async with db.transaction():
        first = await enqueue(db, "sendMessage", {"chat_id": olga.id, "text": "Pending review"})
        await enqueue(
            db,
            "editMessageText",
            {"chat_id": olga.id, "message_id": {"$message_id_of": first}, "text": "Approved"},
        )
        await enqueue(db, "sendMessage", {"chat_id": olga.id, "text": "Thank you"})
    await olga.wait_for_bot("Thank you")
    messages = await olga.bot_messages()
    assert [m["text"] for m in messages] == ["Approved", "Thank you"]
    assert messages[0]["message_id"] == (await row(db, first))["result"]["message_id"]


async def test_an_album_in_a_channel_is_posted_before_its_caption_is_edited(
    start_sender: StartSender, world: World, db: asyncpg.Connection, tmp_path: Path
) -> None:
    storage = DiskStorage(tmp_path / "media", "http://127.0.0.1/media")
    for key in ("ads/1/p1.png", "ads/1/p2.png"):
        await storage.put(key, sample_png(), "image/png")
    channel = world.add_chat("channel", "Bozor market")
    world.set_member(
        channel.id,
        world.add_bot(TEST_TOKEN).id,
        "administrator",
        can_post_messages=True,
        can_edit_messages=True,
    )
    await start_sender(storage=storage)
    media = [
        {"type": "photo", "media": {"$storage": "ads/1/p1.png"}, "caption": "Bike, 100$"},
        {"type": "photo", "media": {"$storage": "ads/1/p2.png"}},
    ]
    async with db.transaction():
        album = await enqueue(
            db, "sendMediaGroup", {"chat_id": channel.id, "media": media}, ref_kind="ad_post", ref_id=1
        )
        await enqueue(
            db,
            "editMessageCaption",
            {"chat_id": channel.id, "caption": "Bike — SOLD", "message_id": {"$message_id_of": album}},
            ref_kind="ad_post",
            ref_id=1,
        )
    deliveries = await eventually(lambda: _all_sent(db, "ad_post", 1))
    assert deliveries, await result_of(db, "ad_post", 1)
    ids = deliveries[0].message_ids
    assert len(ids) == 2
    assert [channel.messages[i].get("caption") for i in ids] == ["Bike — SOLD", None]


async def _all_sent(db: asyncpg.Connection, kind: str, ref: int) -> list | None:
    deliveries = await result_of(db, kind, ref)
    return deliveries if deliveries and all(d.status == "sent" for d in deliveries) else None


async def test_a_row_that_depends_on_a_failed_row_fails_too(
    start_sender: StartSender, sandbox: Sandbox, db: asyncpg.Connection
) -> None:
    await start_sender()
    nodira = await user(sandbox, db, "Nodira")
    async with db.transaction():
        bad = await enqueue(db, "sendMessage", {"chat_id": nodira.id, "text": "x" * 5000})
        edit = await enqueue(
            db, "editMessageText", {"chat_id": nodira.id, "text": "y", "message_id": {"$message_id_of": bad}}
        )
    failed = await eventually(lambda: _status(db, edit, "failed"))
    assert failed and f"outbox row {bad}, which is failed" in failed["error"]


async def _status(db: asyncpg.Connection, outbox_id: int, status: str) -> asyncpg.Record | None:
    record = await row(db, outbox_id)
    return record if record["status"] == status else None


# ------------------------------------------------------------ Telegram saying no


async def test_a_429_storm_is_waited_out_and_each_message_arrives_once(
    start_sender: StartSender, sandbox: Sandbox, db: asyncpg.Connection, world: World
) -> None:
    people = [await user(sandbox, db, f"User{i}") for i in range(3)]
    await start_sender()
    world.faults.configure(world.clock(), storm={"seconds": 1.5, "retry_after": 1})
    started = time.monotonic()
    ids = [await send(db, p, f"Hello {p.id}") for p in people]
    for p in people:
        await p.wait_for_bot(f"Hello {p.id}", timeout=6)
    assert time.monotonic() - started >= 1.4, "nothing gets through while the storm lasts"
    for p in people:
        assert await texts(p) == [f"Hello {p.id}"]
    rows = [await eventually(lambda i=i: _sent(db, i)) for i in ids]
    assert all(rows)
    assert any(r["attempts"] > 1 for r in rows), [(r["attempts"], r["error"], r["claimed_by"]) for r in rows]


async def test_server_errors_are_retried_and_the_message_arrives_once(
    start_sender: StartSender, sandbox: Sandbox, db: asyncpg.Connection, world: World
) -> None:
    jasur = await user(sandbox, db, "Jasur")
    world.faults.configure(world.clock(), errors={"rate": 1.0, "status": 502, "methods": ["sendMessage"]})
    await start_sender()
    outbox_id = await send(db, jasur, "Your ad is live")
    failing = await eventually(lambda: _attempted(db, outbox_id, 2))
    assert failing["status"] in ("pending", "sending") and "Bad Gateway" in failing["error"]
    world.faults.clear()
    await jasur.wait_for_bot("Your ad is live")
    assert (await eventually(lambda: _sent(db, outbox_id)))["attempts"] >= 2
    await outbox_settled(db)
    assert await texts(jasur) == ["Your ad is live"]


async def _attempted(db: asyncpg.Connection, outbox_id: int, attempts: int) -> asyncpg.Record | None:
    record = await row(db, outbox_id)
    return record if record["attempts"] >= attempts and record["error"] else None


async def test_a_send_that_timed_out_after_it_applied_is_uncertain_not_repeated(
    start_sender: StartSender,
    sandbox: Sandbox,
    db: asyncpg.Connection,
    world: World,
    caplog: pytest.LogCaptureFixture,
) -> None:
    bobur = await user(sandbox, db, "Bobur")
    world.faults.configure(world.clock(), timeouts={"rate": 1.0, "seconds": 3, "methods": ["sendMessage"]})
    await start_sender(request_timeout=0.5)
    with caplog.at_level(logging.WARNING, logger="app.bot.outbox"):
        outbox_id = await send(db, bobur, "Payment received")
        stored = await eventually(lambda: _status(db, outbox_id, "uncertain"))
    assert stored and "timeout" in stored["error"].lower()
    assert [d.id for d in await list_uncertain(db)] == [outbox_id]
    assert any("uncertain" in r.getMessage() and str(outbox_id) in r.getMessage() for r in caplog.records)
    world.faults.clear()
    await send(db, bobur, "Next")
    await bobur.wait_for_bot("Next")
    assert await texts(bobur) == ["Payment received", "Next"], "seen exactly once, never re-sent"


async def test_an_edit_that_timed_out_is_retried_and_applied(
    start_sender: StartSender, sandbox: Sandbox, db: asyncpg.Connection, world: World
) -> None:
    lola = await user(sandbox, db, "Lola")
    await start_sender(request_timeout=0.5)
    first = await send(db, lola, "Price: 100$")
    await lola.wait_for_bot("Price: 100$")
    world.faults.configure(
        world.clock(), timeouts={"rate": 1.0, "seconds": 3, "methods": ["editMessageText"]}
    )
    async with db.transaction():
        edit = await enqueue(
            db,
            "editMessageText",
            {"chat_id": lola.id, "text": "Price: 90$", "message_id": {"$message_id_of": first}},
        )
    assert await eventually(lambda: _attempted(db, edit, 1))
    world.faults.clear()
    done = await eventually(lambda: _sent(db, edit))
    assert done and done["attempts"] >= 2
    assert await texts(lola) == ["Price: 90$"]


async def test_a_user_who_blocked_the_bot_is_marked_and_sent_nothing_more(
    start_sender: StartSender, sandbox: Sandbox, db: asyncpg.Connection
) -> None:
    ali, vali = await user(sandbox, db, "Ali"), await user(sandbox, db, "Vali")
    await ali.block()
    async with db.transaction():
        ids = await enqueue_many(
            db, [Outgoing("sendMessage", {"chat_id": ali.id, "text": f"n{i}"}) for i in range(3)]
        )
        await enqueue(db, "sendMessage", {"chat_id": vali.id, "text": "for Vali"})
    await start_sender()
    await vali.wait_for_bot("for Vali")
    blocked = await eventually(
        lambda: db.fetchval("SELECT count(*) = 3 FROM outbox WHERE status = 'blocked' AND id = ANY($1)", ids)
    )
    assert blocked
    assert await db.fetchval("SELECT blocked_bot_at FROM users WHERE id = $1", ali.id) is not None
    await ali.unblock()
    assert await texts(ali) == []


async def test_nothing_is_tried_for_a_user_already_known_to_have_blocked_the_bot(
    start_sender: StartSender, sandbox: Sandbox, db: asyncpg.Connection
) -> None:
    await start_sender()
    gone = await user(sandbox, db, "Gone")
    await db.execute("UPDATE users SET blocked_bot_at = now() WHERE id = $1", gone.id)
    outbox_id = await send(db, gone, "Still there?")
    assert await eventually(lambda: _status(db, outbox_id, "blocked"))
    assert await texts(gone) == []


async def test_an_unreachable_telegram_is_retried_never_taken_for_uncertain(
    start_sender: StartSender, sandbox: Sandbox, db: asyncpg.Connection
) -> None:
    dilnoza = await user(sandbox, db, "Dilnoza")
    nowhere = create_bot(TEST_TOKEN, f"http://127.0.0.1:{free_port()}", wait_on_flood=False)
    try:
        offline = await start_sender(bot=nowhere)
        outbox_id = await send(db, dilnoza, "Your ad expires tomorrow")
        failing = await eventually(lambda: _attempted(db, outbox_id, 2))
        assert failing["status"] in ("pending", "sending") and "Connect" in failing["error"]
        await offline.stop()
    finally:
        await nowhere.session.close()
    await start_sender()
    await dilnoza.wait_for_bot("Your ad expires tomorrow")
    assert await eventually(lambda: _sent(db, outbox_id))


async def test_stopping_gives_back_the_rows_it_had_not_sent_yet(
    start_sender: StartSender, sandbox: Sandbox, db: asyncpg.Connection
) -> None:
    people = [await user(sandbox, db, f"S{i}") for i in range(4)]
    sender = await start_sender(limits=SendLimits(per_second=1.0, burst=1.0))  # one at a time
    async with db.transaction():
        await enqueue_many(db, [Outgoing("sendMessage", {"chat_id": p.id, "text": "Hi"}) for p in people])
    assert await eventually(lambda: db.fetchval("SELECT count(*) >= 1 FROM outbox WHERE status = 'sent'"))
    await sender.stop()
    statuses = dict(await db.fetch("SELECT status, count(*) FROM outbox GROUP BY status"))
    assert set(statuses) <= {"sent", "pending"} and statuses["pending"] >= 2, statuses
    assert await db.fetchval("SELECT max(attempts) FROM outbox WHERE status = 'pending'") == 0


async def test_a_permanent_bad_request_is_failed_with_telegrams_description(
    start_sender: StartSender, sandbox: Sandbox, db: asyncpg.Connection
) -> None:
    await start_sender()
    malika = await user(sandbox, db, "Malika")
    too_long = await send(db, malika, "x" * 5000)
    await send(db, malika, "short")
    await malika.wait_for_bot("short")
    failed = await row(db, too_long)
    assert failed["status"] == "failed" and "message is too long" in failed["error"]


# ------------------------------------------------------------ limits and processes


async def test_the_configured_cap_is_kept_without_a_single_429(
    start_sender: StartSender, sandbox: Sandbox, db: asyncpg.Connection, bot: Bot
) -> None:
    people = [await user(sandbox, db, f"P{i}") for i in range(40)]
    rejected = count_429s(bot)
    await start_sender(limits=SendLimits(per_second=20.0))
    async with db.transaction():
        await enqueue_many(db, [Outgoing("sendMessage", {"chat_id": p.id, "text": "News"}) for p in people])
    started = time.monotonic()
    done = await eventually(
        lambda: db.fetchval("SELECT count(*) = 40 FROM outbox WHERE status = 'sent'"), seconds=10
    )
    elapsed = time.monotonic() - started
    assert done and rejected == []
    assert 1.6 < elapsed < 4.0, f"40 messages at 20/s took {elapsed:.2f}s"


async def test_a_chat_gets_its_messages_in_order_and_within_its_own_limit(
    start_sender: StartSender, sandbox: Sandbox, db: asyncpg.Connection, bot: Bot
) -> None:
    admin = await user(sandbox, db, "Admin")
    rejected = count_429s(bot)
    await start_sender()
    async with db.transaction():
        await enqueue_many(
            db, [Outgoing("sendMessage", {"chat_id": admin.id, "text": f"ad {i}"}) for i in range(5)]
        )
    await admin.wait_for_bot("ad 4", timeout=8)
    assert await texts(admin) == [f"ad {i}" for i in range(5)]
    assert rejected == []


async def test_two_senders_on_one_database_never_send_a_row_twice(
    start_sender: StartSender, sandbox: Sandbox, db: asyncpg.Connection, database_url: str, sandbox_url: str
) -> None:
    people = [await user(sandbox, db, f"U{i}") for i in range(8)]
    other_pool = await create_pool(database_url)
    other_bot = create_bot(TEST_TOKEN, sandbox_url, wait_on_flood=False)
    other = OutboxSender(other_pool, other_bot, **FAST, limits=SendLimits(per_second=15.0))
    try:
        await start_sender(limits=SendLimits(per_second=15.0))
        await other.start()
        async with db.transaction():
            await enqueue_many(
                db,
                [
                    Outgoing("sendMessage", {"chat_id": p.id, "text": f"m{i}"})
                    for i in range(3)
                    for p in people
                ],
            )
        assert await eventually(
            lambda: db.fetchval("SELECT count(*) = 24 FROM outbox WHERE status = 'sent'"), seconds=10
        )
        await outbox_settled(db)
        for p in people:
            assert await texts(p) == ["m0", "m1", "m2"]
    finally:
        await other.stop(drain=2.0)
        await other_bot.session.close()
        await other_pool.close()


async def test_rows_left_by_a_killed_process_are_delivered_once_by_the_next(
    start_sender: StartSender, sandbox: Sandbox, db: asyncpg.Connection, database_url: str, sandbox_url: str
) -> None:
    people = [await user(sandbox, db, f"K{i}") for i in range(20)]
    async with db.transaction():
        await enqueue_many(db, [Outgoing("sendMessage", {"chat_id": p.id, "text": "Sale!"}) for p in people])
    child = subprocess.Popen(
        [sys.executable, __file__, database_url, sandbox_url],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert await eventually(
            lambda: db.fetchval("SELECT count(*) >= 3 FROM outbox WHERE status = 'sent'"),
            seconds=40,  # the child imports aiogram first: slow on a busy machine
        )
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    await start_sender(tick=0.3)
    assert await eventually(
        lambda: db.fetchval("SELECT bool_and(status IN ('sent', 'uncertain')) FROM outbox"), seconds=10
    )
    statuses = dict(await db.fetch("SELECT status, count(*) FROM outbox GROUP BY status"))
    assert statuses.get("uncertain", 0) <= 2, "only what the dead process held can be in doubt"
    received = [len(await texts(p)) for p in people]
    assert max(received) == 1, "nobody gets the message twice"
    assert sum(received) >= statuses["sent"]


async def test_rows_a_killed_process_was_pacing_go_back_to_pending_at_once(
    start_sender: StartSender, sandbox: Sandbox, db: asyncpg.Connection, database_url: str, sandbox_url: str
) -> None:
    """Killed while its claims waited for their rate-limit slots (a long lease, 90 s): nothing was
    called, so nothing is in doubt, and the next sender takes them over without waiting out the
    lease (the dead process's lock is gone)."""
    people = [await user(sandbox, db, f"W{i}") for i in range(6)]
    async with db.transaction():
        await enqueue_many(db, [Outgoing("sendMessage", {"chat_id": p.id, "text": "Hello"}) for p in people])
    child = subprocess.Popen(
        [sys.executable, __file__, database_url, sandbox_url, "pacing"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert await eventually(
            lambda: db.fetchval(
                "SELECT count(*) FILTER (WHERE status = 'sent') >= 1 "
                "AND count(*) FILTER (WHERE status = 'sending') >= 3 FROM outbox"
            ),
            seconds=40,  # the child imports aiogram first: slow on a busy machine
        )
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    await start_sender(tick=0.3)
    assert await eventually(
        lambda: db.fetchval("SELECT bool_and(status = 'sent') FROM outbox"), seconds=10
    ), dict(await db.fetch("SELECT status, count(*) FROM outbox GROUP BY status"))
    assert [len(await texts(p)) for p in people] == [1] * 6


async def test_an_uncertain_channel_post_is_resent_when_the_ids_around_it_show_it_never_came(
    start_sender: StartSender, world: World, db: asyncpg.Connection, bot: Bot
) -> None:
    channel = world.add_chat("channel", "Bozor market")
    world.set_member(channel.id, world.add_bot(TEST_TOKEN).id, "administrator", can_post_messages=True)

    async def post(text: str) -> int:
        async with db.transaction():
            return await enqueue(db, "sendMessage", {"chat_id": channel.id, "text": text})

    async def in_doubt(outbox_id: int, started_ago: int) -> None:
        # As a sender killed inside the call leaves a row (the test cannot time a real kill).
        await db.execute(
            "UPDATE outbox SET status = 'uncertain', attempts = 1, done_at = now(), "
            "call_started_at = now() - make_interval(secs => $2) WHERE id = $1",
            outbox_id,
            started_ago,
        )

    sender = await start_sender(tick=0.3)
    first = await post("Bike")
    await eventually(lambda: _status(db, first, "sent"))
    await sender.stop()
    await db.execute("UPDATE outbox SET call_started_at = now() - interval '60 s' WHERE id = $1", first)
    lost = await post("Sofa")  # its call never reached Telegram
    await in_doubt(lost, 40)
    sender = await start_sender(tick=0.3)
    await post("Chair")  # the next post's id follows Bike's: Sofa made no message
    resent = await eventually(lambda: _status(db, lost, "sent"), what="the lost post to be sent again")
    assert resent["auto_checked"] and resent["attempts"] == 2
    await sender.stop()
    await db.execute("UPDATE outbox SET call_started_at = now() - interval '20 s' WHERE status = 'sent'")
    arrived = await post("Lamp")  # it reached Telegram, the answer was lost
    await bot.send_message(channel.id, "Lamp")
    await in_doubt(arrived, 10)
    await post("Table")  # an id between the last two posts is unexplained: an admin looks
    await start_sender(tick=0.3)
    await outbox_settled(db)
    kept = await eventually(
        lambda: db.fetchrow("SELECT * FROM outbox WHERE id = $1 AND auto_checked", arrived)
    )
    assert kept["status"] == "uncertain" and "not ours: look there" in kept["error"]
    texts_in_channel = sorted(m.get("text") for m in channel.messages.values())
    assert texts_in_channel == ["Bike", "Chair", "Lamp", "Sofa", "Table"]


async def _child(database_url: str, sandbox_url: str, mode: str = "slow") -> None:
    """The 'process' the tests above kill: a slow sender (short leases), or one that claims
    several rows and paces them far apart (the default lease)."""
    pool = await create_pool(database_url)
    bot = create_bot(TEST_TOKEN, sandbox_url, wait_on_flood=False)
    if mode == "pacing":
        limits = SendLimits(per_second=0.1, burst=1.0)  # 10 s between sends
        sender = OutboxSender(pool, bot, limits=limits, concurrency=4)
    else:
        sender = OutboxSender(pool, bot, limits=SendLimits(per_second=4.0), concurrency=2, lease=1.0)
    await sender.start()
    await asyncio.Event().wait()  # sends until the test kills this process


if __name__ == "__main__":
    asyncio.run(_child(*sys.argv[1:]))
