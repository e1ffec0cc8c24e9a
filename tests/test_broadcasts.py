"""Broadcasts: a segment in each user's language, pause/resume, priority, blocked users."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from aiogram import Bot

from app.bot.dispatcher import create_bot
from app.bot.outbox import OutboxSender, SendLimits
from app.db.pool import create_pool
from app.db.queries import outbox as outbox_q
from app.domain import broadcasts, channels, ledger, outbox
from app.domain import staff as staff_domain
from app.domain.actors import StaffMember
from app.domain.broadcasts import Audience, BroadcastError, BroadcastStatus
from app.domain.ledger import Currency
from app.domain.staff import Role
from app.domain.tasks import Verification
from app.domain.users import Languages
from app.sandbox.driver import Persona, Sandbox
from app.scheduler.jobs import JobContext, broadcasts_tick
from tests.helpers import crash
from tests.helpers.ledger import credit, spend
from tests.helpers.polling import eventually, outbox_settled
from tests.helpers.servers import TEST_TOKEN, SandboxServer
from tests.helpers.tasks import make_task

TEXTS = {"default": "Hello <b>all</b>", "uz": "Salom <b>hammaga</b>", "ru": "Привет <i>всем</i>"}
LANGS = Languages()  # every language enabled, as a fresh install


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url)
    yield pool
    await pool.close()


@pytest.fixture
def limits() -> SendLimits:
    return SendLimits()


@pytest.fixture
async def sender(
    pool: asyncpg.Pool, sandbox_server: SandboxServer, limits: SendLimits
) -> AsyncIterator[OutboxSender]:
    sandbox_server.world.add_bot(TEST_TOKEN)
    bot: Bot = create_bot(TEST_TOKEN, sandbox_server.url, wait_on_flood=False)
    sender = OutboxSender(
        pool, bot, limits=limits, request_timeout=2.0, backoff=0.05, backoff_cap=0.2, tick=0.5
    )
    await sender.start()
    yield sender
    await sender.stop(drain=2.0)
    await bot.session.close()


async def admin(db: asyncpg.Connection, telegram_user_id: int | None = None) -> StaffMember:
    boss = await staff_domain.create_staff(db, "boss", None, Role.ADMIN, telegram_user_id=telegram_user_id)
    return StaffMember(boss)


async def member(
    sandbox: Sandbox, db: asyncpg.Connection, name: str, language: str | None, seen_days_ago: int = 0
) -> Persona:
    persona = await sandbox.user(name)
    await persona.send("/start")
    await db.execute(
        "INSERT INTO users (id, first_name, language, last_seen) "
        "VALUES ($1, $2, $3, now() - make_interval(days => $4))",
        persona.id,
        name,
        language,
        seen_days_ago,
    )
    return persona


async def texts(persona: Persona) -> list[str]:
    return [m.get("text") or "" for m in await persona.bot_messages()]


async def broadcast_rows(db: asyncpg.Connection, broadcast_id: int, status: str) -> int:
    return await db.fetchval(
        "SELECT count(*) FROM outbox WHERE ref_kind = 'broadcast' AND ref_id = $1 AND status = $2",
        broadcast_id,
        status,
    )


async def test_a_segment_gets_it_once_each_in_their_language_and_blocked_users_are_marked(
    db: asyncpg.Connection, sandbox: Sandbox, sender: OutboxSender
) -> None:
    boss = await admin(db)
    aziz = await member(sandbox, db, "Aziz", "uz")
    olga = await member(sandbox, db, "Olga", "ru")
    john = await member(sandbox, db, "John", None)  # no variant of his own: the default
    away = await member(sandbox, db, "Away", "uz", seen_days_ago=30)  # outside the segment
    gone = await member(sandbox, db, "Gone", "ru")
    await db.execute("UPDATE users SET blocked_bot_at = now() WHERE id = $1", gone.id)
    quiet = await member(sandbox, db, "Quiet", "en")
    await quiet.block()  # blocked in Telegram, not yet known to us

    segment = Audience(seen_days=7)
    assert await broadcasts.count_audience(db, segment, LANGS) == 4  # the known-blocked user never counts
    made = await broadcasts.create(
        db, boss, TEXTS, broadcasts.parse_buttons("Shop | https://example.com/shop"), segment
    )
    assert await broadcasts.start(db, boss, made.id, languages=LANGS) == 4
    await outbox_settled(db)

    assert await texts(aziz) == ["Salom hammaga"]
    assert await texts(olga) == ["Привет всем"]
    assert await texts(john) == ["Hello all"]
    assert await texts(away) == [] and await texts(gone) == []
    assert (await aziz.bot_messages())[0]["reply_markup"]["inline_keyboard"][0][0]["url"] == (
        "https://example.com/shop"
    )
    # The 403 marked Quiet as having blocked the bot; the progress counts it.
    assert await db.fetchval("SELECT blocked_bot_at IS NOT NULL FROM users WHERE id = $1", quiet.id)
    progress = await broadcasts.progress(db, made.id)
    assert (progress.total, progress.sent, progress.blocked, progress.left) == (4, 3, 1, 0)
    await broadcasts.feed_running(db, LANGS)
    assert (await broadcasts.get(db, made.id)).status == BroadcastStatus.DONE  # type: ignore[union-attr]

    # The next broadcast skips Quiet from the start.
    assert await broadcasts.count_audience(db, segment, LANGS) == 3


async def test_a_language_segment_reaches_the_users_telegram_says_speak_it_as_well_as_those_who_chose_it(
    db: asyncpg.Connection,
) -> None:
    boss = await admin(db)
    await db.execute(
        "INSERT INTO users (id, first_name, language, language_code) VALUES "
        "(1, 'Telegram uz', NULL, 'uz'), (2, 'Telegram uz-UZ', NULL, 'uz-UZ'), (3, 'Chose uz', 'uz', 'ru'), "
        "(4, 'Chose ru', 'ru', 'uz'), (5, 'Telegram de', NULL, 'de')"
    )
    uzbek = Audience(languages=("uz",))
    assert await broadcasts.count_audience(db, uzbek, LANGS) == 3  # the count shown before sending
    made = await broadcasts.create(db, boss, TEXTS, [], uzbek)
    assert await broadcasts.start(db, boss, made.id, languages=LANGS) == 3
    rows = await db.fetch(
        "SELECT chat_id, params->>'text' AS text FROM outbox WHERE ref_kind = 'broadcast' ORDER BY chat_id"
    )
    assert [(r["chat_id"], r["text"]) for r in rows] == [(n, "Salom <b>hammaga</b>") for n in (1, 2, 3)]
    # A language an admin turned off is nobody's: its segment is empty, as its variant goes to nobody.
    assert await broadcasts.count_audience(db, uzbek, Languages(enabled=("ru", "en"), default="ru")) == 0


UZ, RU, DEFAULT = "Salom <b>hammaga</b>", "Привет <i>всем</i>", "Hello <b>all</b>"


async def people(db: asyncpg.Connection, *rows: tuple[int, str | None]) -> None:
    """Users by (id, chosen language); none has blocked the bot unless a test says so."""
    for user_id, language in rows:
        await db.execute(
            "INSERT INTO users (id, first_name, language) VALUES ($1, $2, $3)",
            user_id,
            f"U{user_id}",
            language,
        )


async def send_to(db: asyncpg.Connection, boss: StaffMember, audience: Audience) -> dict[int, str]:
    """Start a broadcast to `audience`: who gets a message and which variant. The count shown
    before sending is the number of messages queued at start."""
    counted = await broadcasts.count_audience(db, audience, LANGS)
    made = await broadcasts.create(db, boss, TEXTS, [], audience)
    assert await broadcasts.start(db, boss, made.id, languages=LANGS) == counted
    rows = await db.fetch(
        "SELECT chat_id, params->>'text' AS text FROM outbox WHERE ref_kind = 'broadcast' AND ref_id = $1",
        made.id,
    )
    assert len(rows) == counted
    return {r["chat_id"]: r["text"] for r in rows}


async def test_a_channel_segment_reaches_the_sellers_with_a_live_ad_there(db: asyncpg.Connection) -> None:
    boss = await admin(db)
    market = (await channels.create_channel(db, title="Bozor", chat_ref="@bozor")).id
    elsewhere = (await channels.create_channel(db, title="Boshqa", chat_ref="@boshqa")).id
    await people(db, (1, "uz"), (2, "ru"), (3, "uz"), (4, "uz"), (5, "uz"), (6, "uz"), (7, "uz"), (8, None))
    for seller, channel, status in (
        (1, market, "published"),
        (1, market, "published"),  # two live ads: still one message
        (2, market, "published"),
        (3, market, "pending"),  # not live yet
        (4, elsewhere, "published"),  # live, in another channel
        (5, market, "sold"),  # no longer live
        (6, market, "published"),  # blocked the bot: never counted
        (8, market, "published"),
    ):
        await db.execute(
            """INSERT INTO ads (seller_id, channel_id, title, description, negotiable, district,
                                contact, status, text_key)
               VALUES ($1, $2, 'Velosiped', 'Yaxshi', true, 'Chilonzor', '+998901234567', $3, 'k')""",
            seller,
            channel,
            status,
        )
    await db.execute("UPDATE users SET blocked_bot_at = now() WHERE id = 6")

    assert await send_to(db, boss, Audience(channel_id=market)) == {1: UZ, 2: RU, 8: DEFAULT}
    assert await send_to(db, boss, Audience(channel_id=market, languages=("uz",))) == {1: UZ}
    assert await send_to(db, boss, Audience(channel_id=elsewhere, languages=("ru",))) == {}


async def test_a_task_segment_reaches_users_with_a_credited_task(db: asyncpg.Connection) -> None:
    boss = await admin(db)
    task = await make_task(db, verification=Verification.SCREENSHOT, leave_days=None)
    other = await make_task(db, verification=Verification.SCREENSHOT, leave_days=None, title="Boshqa")
    await people(db, (11, "uz"), (12, "ru"), (13, "uz"), (14, "uz"), (15, "uz"), (16, "uz"), (17, "ru"))
    for user_id, task_id, status in (
        (11, task.id, "credited"),
        (12, task.id, "credited"),
        (13, task.id, "pending"),  # a screenshot waiting for review
        (14, task.id, "rejected"),
        (15, task.id, "taken_back"),  # left the channel too soon
        (17, task.id, "rejected"),
        (17, other.id, "credited"),  # one credited task is enough
    ):
        await db.execute(
            """INSERT INTO task_completions (task_id, user_id, status, reward, credited_at, taken_back)
               VALUES ($1, $2, $3, 10, CASE WHEN $3 IN ('credited', 'taken_back') THEN now() END,
                       CASE WHEN $3 = 'taken_back' THEN 10 END)""",
            task_id,
            user_id,
            status,
        )

    assert await send_to(db, boss, Audience(task_participants=True)) == {11: UZ, 12: RU, 17: RU}
    assert await send_to(db, boss, Audience(task_participants=True, languages=("ru",))) == {12: RU, 17: RU}
    # Without the condition, everyone (16 never did a task).
    assert set(await send_to(db, boss, Audience())) == {11, 12, 13, 14, 15, 16, 17}


async def test_a_balance_segment_reaches_users_with_more_points_than_n(db: asyncpg.Connection) -> None:
    boss = await admin(db)
    await people(db, (21, "uz"), (22, "ru"), (23, "uz"), (24, "uz"), (25, "uz"), (26, "uz"), (27, "ru"))
    for user_id, amount in ((21, 100), (22, 51), (23, 50), (24, 10), (27, 80)):
        await credit(db, user_id, amount)
    await credit(db, 26, 500, currency=Currency.XTR)  # Stars are not points
    await credit(db, 27, 60)
    await ledger.post(db, spend(27, 100, "promo-27"))  # 140 earned, 100 spent: 40 left

    assert await send_to(db, boss, Audience(min_balance=50)) == {21: UZ, 22: RU}  # above 50, not 50
    assert await send_to(db, boss, Audience(min_balance=50, languages=("uz",))) == {21: UZ}
    # Above 0: anyone with points at all (25 has no account, 26 only Stars).
    assert await send_to(db, boss, Audience(min_balance=0)) == {21: UZ, 22: RU, 23: UZ, 24: UZ, 27: RU}
    assert await send_to(db, boss, Audience(min_balance=39, languages=("ru",))) == {22: RU, 27: RU}
    assert await send_to(db, boss, Audience(min_balance=40, languages=("ru",))) == {22: RU}


async def test_paused_nothing_more_goes_until_resumed(db: asyncpg.Connection) -> None:
    boss = await admin(db)
    for n in range(1, 8):
        await db.execute("INSERT INTO users (id, first_name, language) VALUES ($1, 'u', 'en')", n)
    made = await broadcasts.create(db, boss, {"default": "Hi"}, [], Audience())
    await broadcasts.start(db, boss, made.id, languages=LANGS)
    assert await broadcast_rows(db, made.id, "pending") == 7

    await broadcasts.pause(db, boss, made.id)
    assert await broadcast_rows(db, made.id, "pending") == 0  # taken back: nothing can be claimed
    assert await broadcasts.feed_running(db, LANGS) == 0  # the tick does not feed a paused broadcast
    assert await broadcast_rows(db, made.id, "pending") == 0
    with pytest.raises(BroadcastError):
        await broadcasts.pause(db, boss, made.id)

    await broadcasts.resume(db, boss, made.id)
    assert await broadcast_rows(db, made.id, "pending") == 7
    # Each recipient has exactly one outbox row, whatever was taken back and fed again.
    assert await db.fetchval(
        "SELECT count(DISTINCT chat_id) = count(*) FROM outbox WHERE ref_kind = 'broadcast'"
    )

    await broadcasts.cancel(db, boss, made.id)
    assert await broadcast_rows(db, made.id, "pending") == 0
    assert await broadcasts.feed_running(db, LANGS) == 0


async def test_the_feed_keeps_a_window_and_a_transactional_message_goes_first(db: asyncpg.Connection) -> None:
    boss = await admin(db)
    for n in range(1, 11):
        await db.execute("INSERT INTO users (id, first_name) VALUES ($1, 'u')", n)
    made = await broadcasts.create(db, boss, {"default": "Sale!"}, [], Audience())
    async with db.transaction():
        ticket_reply = await outbox.enqueue(db, "sendMessage", {"chat_id": 999, "text": "Your ticket"})
    await broadcasts.start(db, boss, made.id, languages=LANGS)
    assert await broadcasts.feed_running(db, LANGS, window=10) == 0  # the window is full already

    # Queued after the broadcast, the transactional row is the first one any sender claims.
    async with db.transaction():
        notice = await outbox.enqueue(db, "sendMessage", {"chat_id": 998, "text": "Ad approved"})
    claimed = await outbox_q.claim(
        db, limit=2, lease_seconds=30, resting_chats=[], claimer="test", claimer_key=1
    )
    assert [row.id for row in claimed] == [ticket_reply, notice]


async def test_bad_input_is_refused_with_nothing_made(db: asyncpg.Connection) -> None:
    boss = await admin(db)
    for bad in ({"default": "<b>open"}, {"default": ""}, {"uz": "only uz"}):
        with pytest.raises(BroadcastError):
            await broadcasts.create(db, boss, bad, [], Audience())
    with pytest.raises(BroadcastError):
        broadcasts.parse_buttons("no link here")
    assert broadcasts.render_text('<script>x</script> <a href="https://a.uz">a</a>') == (
        '&lt;script&gt;x&lt;/script&gt; <a href="https://a.uz">a</a>'
    )
    moderator = StaffMember(await staff_domain.create_staff(db, "mod", None, Role.MODERATOR))
    with pytest.raises(BroadcastError):
        await broadcasts.create(db, moderator, {"default": "Hi"}, [], Audience())
    assert await db.fetchval("SELECT count(*) FROM broadcasts") == 0


async def test_killed_with_kill_9_mid_broadcast_it_resumes_and_nobody_gets_it_twice(
    db: asyncpg.Connection, sandbox: Sandbox, sandbox_server: SandboxServer, database_url: str
) -> None:
    """A child process sends; it is killed with SIGKILL after 15 messages and restarted."""
    sandbox_server.world.add_bot(TEST_TOKEN)
    boss = await admin(db)
    people = [await member(sandbox, db, f"P{i}", "uz") for i in range(40)]
    made = await broadcasts.create(db, boss, {"default": "Once only"}, [], Audience())
    await broadcasts.start(db, boss, made.id, languages=LANGS)

    async def sent_at_least(n: int) -> bool:
        return await broadcast_rows(db, made.id, "sent") >= n

    child = crash.start_child(database_url, sandbox_server.url, TEST_TOKEN, 2.0)
    try:
        await eventually(lambda: sent_at_least(15), 20, "15 messages sent")
        child.send_signal(signal.SIGKILL)
        await asyncio.to_thread(child.wait)
        child = crash.start_child(database_url, sandbox_server.url, TEST_TOKEN, 2.0)
        await outbox_settled(db, 30)
    finally:
        child.send_signal(signal.SIGKILL)
        await asyncio.to_thread(child.wait)

    uncertain = {
        r["chat_id"]
        for r in await db.fetch(
            "SELECT chat_id FROM outbox WHERE ref_kind = 'broadcast' AND status = 'uncertain'"
        )
    }
    for person in people:
        got = (await texts(person)).count("Once only")
        assert got == 1 or (person.id in uncertain and got <= 1), (person.id, got)
    progress = await broadcasts.progress(db, made.id)
    assert progress.sent + progress.uncertain == 40 and progress.left == 0


@pytest.mark.parametrize("limits", [SendLimits(per_second=20.0, burst=1.0)])
async def test_a_ticket_reply_queued_mid_broadcast_overtakes_the_broadcast_queue(
    db: asyncpg.Connection, sandbox: Sandbox, sender: OutboxSender
) -> None:
    boss = await admin(db)
    for i in range(60):
        await member(sandbox, db, f"B{i}", None)
    customer = await sandbox.user("Customer")  # started the bot; not among the recipients
    await customer.send("/start")
    made = await broadcasts.create(db, boss, {"default": "Big sale"}, [], Audience())
    await broadcasts.start(db, boss, made.id, languages=LANGS)

    async def ten_sent() -> bool:
        return await broadcast_rows(db, made.id, "sent") >= 10

    await eventually(ten_sent, 20, "10 broadcast messages sent")
    async with db.transaction():
        reply = await outbox.enqueue(db, "sendMessage", {"chat_id": customer.id, "text": "Your ticket"})
    await outbox_settled(db, 30)
    assert await texts(customer) == ["Your ticket"]
    # In arrival order it would have waited for ~50 broadcast messages; it left after a few.
    after = await db.fetchval(
        "SELECT count(*) FROM outbox WHERE ref_kind = 'broadcast' AND ref_id = $1 "
        "AND done_at > (SELECT done_at FROM outbox WHERE id = $2)",
        made.id,
        reply,
    )
    assert after >= 30, after


async def test_a_broadcast_sent_at_a_time_is_started_by_the_tick_once_its_time_comes(
    db: asyncpg.Connection,
) -> None:
    boss = await admin(db)
    await db.execute("INSERT INTO users (id, first_name) VALUES (1, 'u'), (2, 'v')")
    later = await broadcasts.create(db, boss, {"default": "Tomorrow"}, [], Audience())
    due = await broadcasts.create(db, boss, {"default": "Now"}, [], Audience())
    await broadcasts.schedule(db, boss, later.id, datetime.now(UTC) + timedelta(days=1))
    await broadcasts.schedule(db, boss, due.id, datetime.now(UTC) - timedelta(seconds=1))

    await broadcasts.feed_running(db, LANGS)
    assert (await broadcasts.get(db, due.id)).status == BroadcastStatus.RUNNING  # type: ignore[union-attr]
    assert await broadcast_rows(db, due.id, "pending") == 2
    assert (await broadcasts.get(db, later.id)).status == BroadcastStatus.DRAFT  # type: ignore[union-attr]
    assert await broadcast_rows(db, later.id, "pending") == 0
    with pytest.raises(BroadcastError):  # a started broadcast has no start time to change
        await broadcasts.schedule(db, boss, due.id, None)


async def test_the_log_says_when_a_broadcast_starts_and_finishes_and_its_ticks_only_at_debug(
    db: asyncpg.Connection, pool: asyncpg.Pool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="app")
    boss = await admin(db)
    await db.execute("INSERT INTO users (id, first_name) SELECT n, 'u' FROM generate_series(1, 400) n")
    made = await broadcasts.create(db, boss, {"default": "Hi"}, [], Audience())
    await broadcasts.schedule(db, boss, made.id, datetime.now(UTC) - timedelta(seconds=1))
    ctx = JobContext(pool=pool, languages=LANGS)

    async def deliver_and_tick() -> None:
        """The sender's part done (every open row sent), then the scheduler's tick."""
        await db.execute("UPDATE outbox SET status = 'sent', done_at = now() WHERE status = 'pending'")
        await broadcasts_tick(ctx)

    await broadcasts_tick(ctx)  # starts it: the first window of rows
    await deliver_and_tick()  # feeds the other 100
    assert await broadcast_rows(db, made.id, "pending") == 400 - broadcasts.FEED_WINDOW
    await deliver_and_tick()  # closes it
    assert (await broadcasts.get(db, made.id)).status == BroadcastStatus.DONE  # type: ignore[union-attr]

    def lines(level: int) -> list[str]:
        return [r.getMessage() for r in caplog.records if r.levelno == level]

    assert lines(logging.INFO) == [
        f"broadcast {made.id} started: 400 recipient(s)",
        f"broadcast {made.id} finished: 400 sent, 0 failed, 0 blocked, 0 uncertain, 0 not sent",
    ]
    assert "broadcasts: 100 message(s) fed to the outbox" in lines(logging.DEBUG)
