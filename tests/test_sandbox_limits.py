"""Sandbox rate limits, fault injection and Stars payments, as aiogram experiences them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiogram import Bot
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import BufferedInputFile, InputMediaPhoto, LabeledPrice

from app.sandbox.botapi import _sleep
from app.sandbox.driver import Persona, Sandbox, SandboxError
from app.sandbox.media import sample_png
from app.sandbox.world import World
from tests.helpers import sandbox as kit
from tests.helpers.sandbox import TOKEN, FastSession, next_updates, raw

base, bot, sandbox, ali, http = kit.base, kit.bot, kit.sandbox, kit.ali, kit.http


class FakeClock:
    """The World's clock, moved by hand so that rate limits are tested without sleeping."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def world(clock: FakeClock) -> AsyncIterator[World]:
    w = World(clock=clock, seed=1)
    yield w
    assert w.spec_violations == []


@pytest.fixture
async def chat(ali: Persona) -> int:
    await ali.send("/start")
    return ali.id


# ---------------------------------------------------------------- rate limits


async def test_a_private_chat_allows_a_burst_of_3_then_1_per_second(
    chat: int, clock: FakeClock, bot: Bot, base: str, http: aiohttp.ClientSession
) -> None:
    for i in range(3):
        await bot.send_message(chat, f"burst {i}")
    with pytest.raises(TelegramRetryAfter) as e:
        await bot.send_message(chat, "one too many")
    assert e.value.retry_after == 1 and "Too Many Requests: retry after 1" in e.value.message
    assert await raw(http, "POST", f"{base}/bot{TOKEN}/sendMessage", data={"chat_id": chat, "text": "x"}) == (
        429,
        {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 1",
            "parameters": {"retry_after": 1},
        },
    )
    for _ in range(3):  # private edits are free
        await bot.edit_message_text(f"edit {_}", chat_id=chat, message_id=2)
    clock.advance(1.0)
    assert await bot.send_message(chat, "after a second")


async def test_a_channel_takes_20_a_minute_and_edits_count(
    sandbox: Sandbox, ali: Persona, clock: FakeClock, bot: Bot
) -> None:
    channel = await sandbox.channel("Kanal", admins=[ali])
    posts = [await bot.send_message(channel.id, f"post {i}") for i in range(19)]
    await bot.edit_message_text("edited", chat_id=channel.id, message_id=posts[0].message_id)  # the 20th
    with pytest.raises(TelegramRetryAfter) as e:
        await bot.send_message(channel.id, "21st")
    assert e.value.retry_after == 3  # one message every 3 seconds
    clock.advance(3)
    assert await bot.send_message(channel.id, "21st")


async def test_an_album_counts_once_in_a_private_chat_and_per_item_in_a_channel(
    chat: int, sandbox: Sandbox, ali: Persona, clock: FakeClock, bot: Bot
) -> None:
    png = BufferedInputFile(sample_png(), filename="p.png")
    for _ in range(3):  # three albums of 10 fit a private burst of 3...
        await bot.send_media_group(chat, [InputMediaPhoto(media=png)] * 10)
    with pytest.raises(TelegramRetryAfter):  # ...and spend the chat burst and the bot total
        await bot.send_message(chat, "one more")
    clock.advance(1)
    channel = await sandbox.channel("Kanal", admins=[ali])
    await bot.send_media_group(channel.id, [InputMediaPhoto(media=png)] * 10)
    await bot.send_media_group(channel.id, [InputMediaPhoto(media=png)] * 10)
    with pytest.raises(TelegramRetryAfter) as e:
        await bot.send_media_group(channel.id, [InputMediaPhoto(media=png)] * 2)
    assert e.value.retry_after == 6  # two more messages at one per 3 seconds


async def test_the_bot_total_is_30_a_second_and_limits_can_be_switched_off(
    sandbox: Sandbox, world: World, clock: FakeClock, bot: Bot
) -> None:
    world.limits.update(bot_per_second=2, bot_burst=2)
    users = [await sandbox.user(f"U{i}") for i in range(3)]
    for user in users:
        await user.send("/start")
    await bot.send_message(users[0].id, "1")
    await bot.send_message(users[1].id, "2")
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(users[2].id, "3")  # a fresh chat, but the bot's total is spent
    await sandbox.limits(enabled=False)
    for _ in range(5):
        await bot.send_message(users[2].id, "free")
    assert world.limits.enabled is False


async def test_get_chat_member_takes_30_calls_a_second_per_bot(
    sandbox: Sandbox, ali: Persona, clock: FakeClock, world: World, bot: Bot
) -> None:
    group = await sandbox.group("Guruh", members=[ali])
    for _ in range(30):
        assert (await bot.get_chat_member(group.id, ali.id)).status == "member"
    with pytest.raises(TelegramRetryAfter) as e:
        await bot.get_chat_member(group.id, ali.id)
    assert e.value.retry_after == 1
    assert await bot.send_message(group.id, "other methods go on")
    clock.advance(1)
    assert await bot.get_chat_member(group.id, ali.id)
    await sandbox.limits(get_chat_member_per_second=2, get_chat_member_burst=2)  # configurable
    await bot.get_chat_member(group.id, ali.id)
    await bot.get_chat_member(group.id, ali.id)
    with pytest.raises(TelegramRetryAfter):
        await bot.get_chat_member(group.id, ali.id)
    assert world.limits.get_chat_member_per_second == 2


# ---------------------------------------------------------------- faults


async def test_server_errors_can_hit_one_method_only(chat: int, world: World, bot: Bot) -> None:
    world.faults.configure(world.clock(), errors={"rate": 1.0, "methods": ["sendMediaGroup"]})
    png = sample_png()
    with pytest.raises(TelegramServerError, match="Bad Gateway"):
        await bot.send_media_group(
            chat, [InputMediaPhoto(media=BufferedInputFile(png, filename="p.png"))] * 2
        )
    assert await bot.send_message(chat, "other methods work")
    world.faults.configure(world.clock(), errors={"rate": 1.0, "status": 500})
    with pytest.raises(TelegramServerError, match="Internal Server Error"):
        await bot.get_me()
    world.faults.clear()
    assert await bot.get_me()


def test_a_seeded_error_share_is_repeatable() -> None:
    def pattern(seed: int) -> list[bool]:
        world = World(seed=seed)
        world.faults.configure(0, errors={"rate": 0.5}, seed=seed)
        return [world.faults.roll(world.faults.errors, "sendMessage") for _ in range(40)]

    assert pattern(3) == pattern(3) and 8 < sum(pattern(3)) < 32


async def test_latency_is_added(chat: int, sandbox: Sandbox, bot: Bot) -> None:
    await sandbox.faults(latency={"min_seconds": 0.2, "max_seconds": 0.3, "methods": ["sendMessage"]})
    started = time.monotonic()
    await bot.send_message(chat, "slow")
    assert 0.2 <= time.monotonic() - started < 1.5
    started = time.monotonic()
    await bot.get_me()
    assert time.monotonic() - started < 0.2


@pytest.mark.parametrize("drop", [False, True])
async def test_applied_then_timed_out(
    drop: bool, chat: int, sandbox: Sandbox, ali: Persona, base: str
) -> None:
    """The message IS sent, but the bot gets no answer: a retry would duplicate it."""
    impatient = Bot(TOKEN, session=FastSession(api=TelegramAPIServer.from_base(base), timeout=0.3))
    try:
        await sandbox.faults(timeouts={"rate": 1.0, "seconds": 3, "drop": drop, "methods": ["sendMessage"]})
        with pytest.raises(TelegramNetworkError):
            await impatient.send_message(chat, "did it arrive?")
        assert (await ali.last_bot_message())["text"] == "did it arrive?"
    finally:
        await impatient.session.close()


async def test_a_429_storm_hits_sends_for_a_while(
    chat: int, sandbox: Sandbox, clock: FakeClock, bot: Bot
) -> None:
    state = await sandbox.faults(storm={"seconds": 10, "retry_after": 7})
    assert state["storm"]["remaining"] == 10
    with pytest.raises(TelegramRetryAfter) as e:
        await bot.send_message(chat, "storm")
    assert e.value.retry_after == 7
    assert await bot.get_me()  # only sending methods
    clock.advance(10)
    assert await bot.send_message(chat, "calm")


async def test_fault_plans_are_checked(sandbox: Sandbox) -> None:
    with pytest.raises(SandboxError, match="unknown fault"):
        await sandbox.faults(floods={"rate": 1})
    with pytest.raises(SandboxError, match="status must be 500 or 502"):
        await sandbox.faults(errors={"status": 503})
    with pytest.raises(SandboxError, match="unknown limit"):
        await sandbox.limits(speed=3)


# ---------------------------------------------------------------- Stars payments


async def test_a_stars_invoice_paid_and_declined(chat: int, world: World, ali: Persona, bot: Bot) -> None:
    world.limits.enabled = False
    prices = [LabeledPrice(label="Top e'lon", amount=50)]
    sent = await bot.send_invoice(chat, "Top", "Top for 7 days", "ad:42", currency="XTR", prices=prices)
    assert (sent.invoice.currency, sent.invoice.total_amount) == ("XTR", 50)
    assert sent.reply_markup.inline_keyboard[0][0].pay is True
    with pytest.raises(TelegramBadRequest, match="STARS_INVOICE_INVALID"):
        await bot.send_invoice(chat, "T", "D", "p", currency="XTR", prices=prices * 2)

    (start,) = await bot.get_updates()
    paid = await ali.pay()
    (update,) = await next_updates(bot, start.update_id)
    query = update.pre_checkout_query
    assert (query.id, query.invoice_payload, query.total_amount) == (
        paid["pre_checkout_query_id"],
        "ad:42",
        50,
    )
    assert await bot.answer_pre_checkout_query(query.id, ok=True)
    (update,) = await next_updates(bot, update.update_id)
    payment = update.message.successful_payment
    assert (payment.invoice_payload, payment.currency, payment.total_amount) == ("ad:42", "XTR", 50)
    assert payment.telegram_payment_charge_id

    await ali.pay(sent.message_id)
    (update,) = await next_updates(bot, update.update_id)
    await bot.answer_pre_checkout_query(update.pre_checkout_query.id, ok=False, error_message="Sold out")
    assert [(p["status"], p.get("error_message")) for p in await ali.payments()] == [
        ("paid", None),
        ("declined", "Sold out"),
    ]
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_pre_checkout_query(update.pre_checkout_query.id, ok=True)


async def test_held_answers_do_not_hold_up_shutdown(world: World) -> None:
    world.release_waiters()
    started = time.monotonic()
    await asyncio.wait_for(_sleep(world, 5), 1)
    assert time.monotonic() - started < 0.5
