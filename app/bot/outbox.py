"""The outbox sender: delivers outbox rows in per-chat order within Telegram's rate limits."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import random
import socket
from dataclasses import dataclass
from typing import Any, Literal

import aiogram.methods
import aiohttp
import asyncpg
from aiogram import Bot
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import TelegramMethod
from aiogram.types import BufferedInputFile
from asyncpg.pool import PoolConnectionProxy
from pydantic import ValidationError

from app.db.queries import outbox as q
from app.db.queries.outbox import Claimed, OutboxStatus
from app.domain import record, users
from app.domain.outbox import MESSAGE_ID_OF, MESSAGE_IDS_OF, STORAGE, resolve_reference
from app.domain.record import Entry
from app.metrics import SENDS
from app.storage import Storage

log = logging.getLogger(__name__)

# Answers that mean an edit or deletion already took effect (e.g. a retry after a time-out
# whose first try did get through): the goal is reached.
ALREADY_DONE = ("message is not modified", "message to delete not found")


@dataclass(frozen=True)
class SendLimits:
    """Telegram's limits as this process keeps them; with several processes, divide per_second.

    Bursts stay below Telegram's (the sandbox allows 3 per private chat, 20 per group) so
    that network jitter between our clock and Telegram's never tips a chat into a 429."""

    per_second: float = 30.0  # the whole bot, in messages (an album counts its items)
    # A small burst: a notification to a few admins goes out at once (1.0 spaced every message
    # 33 ms apart: 170 ms for 3 admins), while 600 messages still average the cap within 1 %.
    burst: float = 5.0
    private_per_second: float = 1.0
    private_burst: float = 2.0
    group_per_minute: float = 20.0
    group_burst: float = 5.0


class TokenBucket:
    """GCRA: `reserve` books the next slot for `cost` tokens and says how long to wait for it."""

    def __init__(self, per_second: float, burst: float):
        self.interval = 1.0 / per_second
        self.burst = burst
        self.tat = 0.0  # theoretical arrival time: when the bucket is full again

    def wait_time(self, now: float, cost: float = 1.0) -> float:
        tat = max(self.tat, now)
        # A cost above the burst is let through on a full bucket, leaving it in debt.
        return max(0.0, tat + (cost - max(self.burst, cost)) * self.interval - now)

    def reserve(self, now: float, cost: float = 1.0) -> float:
        wait = self.wait_time(now, cost)
        self.tat = max(self.tat, now) + cost * self.interval
        return wait

    def idle(self, now: float) -> bool:
        return self.tat <= now


@dataclass(frozen=True)
class Outcome:
    """What became of one attempt: a final status, or "retry" (pending again after `delay`)."""

    status: OutboxStatus | Literal["retry"]
    result: dict[str, Any] | None = None
    error: str | None = None
    delay: float = 0.0  # retry: seconds until the row is due again
    pause: bool = False  # retry after a 429: the whole sender rests for `delay`
    label: str | None = None  # how /metrics counts it when its status does not say (5xx)


class Permanent(Exception):
    """The row cannot be sent as written (unknown method, bad params, missing file or result)."""


class OutboxSender:
    """Claims due rows (FOR UPDATE SKIP LOCKED, at most one per chat) and sends them in parallel.

    Woken by NOTIFY at each committed enqueue; a safety tick every `tick` seconds also takes
    back the claims of senders that died and catches anything a lost notification missed."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        bot: Bot,
        *,
        storage: Storage | None = None,
        limits: SendLimits = SendLimits(),
        concurrency: int = 8,
        tick: float = 5.0,
        request_timeout: float = 30.0,
        lease: float | None = None,
        backoff: float = 0.5,
        backoff_cap: float = 300.0,
        max_attempts: int = 50,
        name: str | None = None,
    ):
        self.pool, self.bot, self.storage, self.limits = pool, bot, storage, limits
        self.concurrency, self.tick, self.request_timeout = concurrency, tick, request_timeout
        # A claim outlives the slowest attempt: waiting for a slot plus the HTTP call.
        self.lease = lease if lease is not None else request_timeout * 2 + 30.0
        self.backoff, self.backoff_cap, self.max_attempts = backoff, backoff_cap, max_attempts
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        # Held as an advisory lock while this sender lives: its claims die with its process.
        self.key = random.randint(1, 2**31 - 1)
        self.bucket = TokenBucket(limits.per_second, limits.burst)
        self.chats: dict[int, TokenBucket] = {}
        self.resting: dict[int, float] = {}  # chat -> loop time its 429 wait ends
        self.paused_until = 0.0
        # Storage key -> the file_id Telegram gave its first upload as a photo: a broadcast's
        # photo is uploaded once, then 100,000 sends name it (this process's memory only).
        self.file_ids: dict[str, str] = {}
        self._wake = asyncio.Event()
        self._tasks: dict[asyncio.Task[None], str] = {}  # -> phase: "waiting" or "calling"
        self._loop_task: asyncio.Task[None] | None = None
        self._listener: PoolConnectionProxy[asyncpg.Record] | None = None
        self._next_reap = 0.0
        self._stopping = False

    # ------------------------------------------------------------ life cycle

    async def start(self) -> None:
        self._stopping = False
        await self._listen()
        self._loop_task = asyncio.create_task(self._run(), name="outbox-sender")

    async def stop(self, drain: float = 10.0) -> None:
        """Stop claiming; give back claims not yet tried; let calls under way finish (bounded)."""
        if self._loop_task is not None:
            # Not cancelled mid-pump: a claim made but not yet handed to a task would be lost
            # until its lease ran out. The loop ends at its next wait; a hung query is cut.
            self._stopping = True
            self._wake.set()
            _, hung = await asyncio.wait([self._loop_task], timeout=drain)
            for task in hung:
                task.cancel()
                await asyncio.wait([task])
            self._loop_task = None
        for task, phase in list(self._tasks.items()):
            if phase == "waiting":
                task.cancel()
        if self._tasks:
            _, late = await asyncio.wait(list(self._tasks), timeout=drain)
            for task in late:  # their outcome is unknown: recorded as such by _deliver
                task.cancel()
            if late:
                await asyncio.wait(late)
        await self._unlisten()

    async def _listen(self) -> None:
        conn = await self.pool.acquire()
        try:
            await q.hold_sender_lock(conn, self.key)  # released with the connection
            await conn.add_listener(q.CHANNEL, self._notified)
        except BaseException:
            conn.terminate()  # an interrupted LISTEN leaves the connection unusable
            await self.pool.release(conn)
            raise
        conn.add_termination_listener(lambda _conn: self._wake.set())
        self._listener = conn

    async def _unlisten(self) -> None:
        conn, self._listener = self._listener, None
        if conn is None:
            return
        # A broken connection may already be back in the pool (InterfaceError): nothing to undo.
        with contextlib.suppress(asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
            if not conn.is_closed():
                await conn.remove_listener(q.CHANNEL, self._notified)
                await q.drop_sender_lock(conn, self.key)  # pooled connections keep session state
            await self.pool.release(conn)

    def _listening(self) -> bool:
        try:
            return self._listener is not None and not self._listener.is_closed()
        except asyncpg.InterfaceError:
            return False

    def _notified(self, *_: object) -> None:
        self._wake.set()

    # ------------------------------------------------------------ the loop

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()  # before pumping: a wake-up during the pump runs it again
            try:
                if not self._listening():
                    await self._unlisten()
                    await self._listen()
                delay = await self._pump()
            except Exception as exc:  # the loop must outlive any outage: log and go on
                log.warning("outbox sender: %s: %s; retrying", type(exc).__name__, exc)
                delay = min(self.tick, 1.0)
            if self._stopping:
                break
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(delay, 0.0)):
                    await self._wake.wait()

    async def _pump(self) -> float:
        """Claim what may go now; returns how long to sleep unless woken earlier."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        if now >= self._next_reap:
            await self._reap()
            self._next_reap = now + self.tick
        free = self.concurrency - len(self._tasks)
        if now < self.paused_until:
            return self.paused_until - now
        if free <= 0:
            return self.tick  # a finishing delivery wakes us
        async with self.pool.acquire() as conn:
            rows = await q.claim(
                conn,
                limit=free,
                lease_seconds=self.lease,
                resting_chats=self._resting_chats(now),
                claimer=self.name,
                claimer_key=self.key,
            )
            for row in rows:
                task = asyncio.create_task(self._deliver(row), name=f"outbox-{row.id}")
                self._tasks[task] = "waiting"
                task.add_done_callback(self._delivered)
            if len(rows) == free:
                return self.tick  # more may be due: the next finishing delivery wakes us
            next_due = await q.seconds_to_next_due(conn)
        # Nothing else may go now: sleep until a resting chat or a delayed row comes due.
        waits = [self.tick, *(t - now for t in self.resting.values())]
        waits += [b.wait_time(now) for b in self.chats.values() if not b.idle(now)]
        if next_due is not None:
            waits.append(next_due)
        return min(w for w in waits if w > 0)

    def _delivered(self, task: asyncio.Task[None]) -> None:
        self._tasks.pop(task, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("outbox delivery crashed", exc_info=task.exception())
        self._wake.set()

    def _resting_chats(self, now: float) -> list[int]:
        """Chats that may not take a message yet; forgets chats whose buckets are full again."""
        for chat in [c for c, b in self.chats.items() if b.idle(now)]:
            del self.chats[chat]
        for chat in [c for c, t in self.resting.items() if t <= now]:
            del self.resting[chat]
        return [c for c, b in self.chats.items() if b.wait_time(now) > 0] + list(self.resting)

    async def _reap(self) -> None:
        async with self.pool.acquire() as conn:
            for row in await q.reap_expired(conn):
                if row.status == OutboxStatus.UNCERTAIN:
                    log.warning(
                        "outbox row %d (%s to chat %d) is uncertain: its sender stopped "
                        "during the call; not re-sent, see list_uncertain",
                        row.id,
                        row.method,
                        row.chat_id,
                    )
                else:
                    log.info("outbox row %d: its sender stopped before calling; pending again", row.id)
            await self._resolve_uncertain_posts(conn)

    async def _resolve_uncertain_posts(self, conn: PoolConnectionProxy[asyncpg.Record]) -> None:
        """Settle uncertain channel posts by the channel's message ids, where they tell.

        The Bot API cannot read a channel's history, but a channel numbers its messages one
        after another, and every later post tells us its id. Take the last id our calls made
        before the uncertain call and the first id a call made long enough after it (a request
        timeout: Telegram has answered or dropped the uncertain one by then). When our own sent
        calls account for every id between the two, the uncertain call made no message: it is
        sent again, automatically. When some id is unexplained, it may be that post (or an
        admin's, posted by hand): an admin decides, told which ids to look at — never a blind
        re-send, which could show an ad twice, and never "delivered" on a guess, which could
        lose one."""
        for post in await q.uncertain_posts(conn, limit=50):
            ids = await q.ids_around(conn, post.chat_id, post.call_started_at, self.request_timeout)
            if ids.after is None:
                continue  # no later post yet: ask again at the next tick
            if ids.before is None:
                await q.leave_to_admin(conn, post.id, "no earlier post of ours to compare its id with")
            elif ids.unexplained == 0:
                note = f"not sent: message ids {ids.before} and {ids.after} are consecutive posts of ours"
                if await q.resend_unsent(conn, post.id, note):
                    log.info("outbox row %d: the uncertain post did not arrive; sending it again", post.id)
            else:
                await q.leave_to_admin(
                    conn,
                    post.id,
                    f"message ids between {ids.before} and {ids.after} include {ids.unexplained} "
                    "not ours: look there",
                )

    # ------------------------------------------------------------ one row

    async def _deliver(self, row: Claimed) -> None:
        task = asyncio.current_task()
        assert task is not None, "rows are delivered in tasks of their own"
        try:
            if row.recipient_blocked:
                outcome = Outcome(OutboxStatus.BLOCKED, error="the user has blocked the bot")
            elif (called_off := _called_off(row)) is not None:
                outcome = Outcome(OutboxStatus.FAILED, error=called_off)
            else:
                method = await self._build(row)
                await self._take_turn(row.chat_id, _cost(method))
                if not row.idempotent and not await self._start_call(row):
                    return  # the claim was taken back before the call: another sender has it
                self._tasks[task] = "calling"
                outcome = await self._call(row, method)
        except Permanent as exc:
            outcome = Outcome(OutboxStatus.FAILED, error=str(exc))
        except asyncio.CancelledError:
            if self._tasks.get(task) != "calling":
                await self._release(row)
                raise
            # Cancelled inside the call (stop ran out of time): the outcome is unknown.
            outcome = self._unknown(row, "the sender stopped during the call")
            await self._record(row, outcome)
            raise
        await self._record(row, outcome)

    async def _start_call(self, row: Claimed) -> bool:
        """Record that the call goes now (a death from here on leaves the row uncertain)."""
        async with self.pool.acquire() as conn:
            return await q.start_call(conn, row.id, row.attempts, self.request_timeout + 30.0)

    async def _release(self, row: Claimed) -> None:
        async with self.pool.acquire() as conn:
            await q.release(conn, row.id, row.attempts)

    async def _build(self, row: Claimed) -> TelegramMethod[Any]:
        name = row.method
        cls = getattr(aiogram.methods, name[:1].upper() + name[1:], None)
        if not (isinstance(cls, type) and issubclass(cls, TelegramMethod) and cls.__api_method__ == name):
            raise Permanent(f"{name} is not a Bot API method aiogram knows")
        params = await self._resolve(row.params, row.deps)
        try:
            return cls(**params)
        except ValidationError as exc:
            raise Permanent(f"bad parameters for {name}: {exc}") from exc

    async def _resolve(self, value: Any, deps: dict[str, Any]) -> Any:
        """Replace result placeholders with message ids and storage keys with uploads."""
        if isinstance(value, list):
            return [await self._resolve(v, deps) for v in value]
        if not isinstance(value, dict):
            return value
        if MESSAGE_ID_OF in value or MESSAGE_IDS_OF in value:
            try:
                return resolve_reference(value, deps)
            except LookupError as exc:
                raise Permanent(str(exc)) from exc
        if STORAGE in value:
            return await self._file(value[STORAGE])
        return {k: await self._resolve(v, deps) for k, v in value.items()}

    async def _file(self, key: str) -> BufferedInputFile | str:
        if (file_id := self.file_ids.get(key)) is not None:
            return file_id
        if self.storage is None:
            raise Permanent(f"{STORAGE} {key!r}: this sender has no storage")
        try:
            stored = await self.storage.get(key)
        except (KeyError, ValueError) as exc:  # storage's NotFound, InvalidKey
            raise Permanent(f"{STORAGE} {key!r}: no such file") from exc
        return BufferedInputFile(stored.data, filename=key.rsplit("/", 1)[-1])

    async def _take_turn(self, chat_id: int, cost: int) -> None:
        """Wait for a slot in the bot's bucket, then in the chat's; a 429 met meanwhile (by this
        delivery or another) sends us back to wait it out first."""
        loop = asyncio.get_running_loop()
        while True:
            rest = max(self.paused_until, self.resting.get(chat_id, 0.0)) - loop.time()
            if rest > 0:
                await asyncio.sleep(rest)
                continue
            now = loop.time()
            wait = self.bucket.reserve(now, cost)
            # The chat's slot is booked for when the bot's slot comes: the moment the call goes.
            wait += self._chat_bucket(chat_id).reserve(now + wait, 1 if chat_id > 0 else cost)
            await asyncio.sleep(wait)
            if max(self.paused_until, self.resting.get(chat_id, 0.0)) <= loop.time():
                return

    def _chat_bucket(self, chat_id: int) -> TokenBucket:
        if (bucket := self.chats.get(chat_id)) is None:
            limits = self.limits  # private chats have positive ids; groups and channels negative
            bucket = self.chats[chat_id] = (
                TokenBucket(limits.private_per_second, limits.private_burst)
                if chat_id > 0
                else TokenBucket(limits.group_per_minute / 60.0, limits.group_burst)
            )
        return bucket

    async def _call(self, row: Claimed, method: TelegramMethod[Any]) -> Outcome:
        try:
            # aiohttp takes any number of seconds, despite aiogram's `int` hint.
            value = await self.bot(method, request_timeout=self.request_timeout)  # type: ignore[arg-type]
        except TelegramRetryAfter as exc:
            return Outcome("retry", error=exc.message, delay=float(exc.retry_after), pause=True)
        except TelegramEntityTooLarge as exc:
            return Outcome(OutboxStatus.FAILED, error=exc.message)
        except TelegramNetworkError as exc:
            if isinstance(exc.__cause__, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError):
                return self._retry(row, exc.message)  # never reached Telegram
            return self._unknown(row, exc.message)
        except TelegramServerError as exc:
            if "gateway time" in exc.message.lower():  # 504: the proxy gave up, Telegram may not
                return self._unknown(row, exc.message)
            return dataclasses.replace(self._retry(row, exc.message), label="5xx")
        except TelegramForbiddenError as exc:
            private = row.chat_id > 0
            return Outcome(OutboxStatus.BLOCKED if private else OutboxStatus.FAILED, error=exc.message)
        except TelegramBadRequest as exc:
            if row.idempotent and any(s in exc.message for s in ALREADY_DONE):
                return Outcome(OutboxStatus.SENT, result={"ok": True, "note": exc.message})
            return Outcome(OutboxStatus.FAILED, error=exc.message)
        except TelegramAPIError as exc:
            return Outcome(OutboxStatus.FAILED, error=f"{type(exc).__name__}: {exc.message}")
        except ClientDecodeError as exc:  # not Telegram's answer: a proxy's
            return self._unknown(row, str(exc))
        self._remember_photo(row, value)
        return Outcome(OutboxStatus.SENT, result=_result(value))

    def _remember_photo(self, row: Claimed, value: Any) -> None:
        """After a photo's upload from Storage, keep its file_id to send it by name next time."""
        photo = row.params.get("photo") if row.method == "sendPhoto" else None
        sizes = getattr(value, "photo", None)
        if isinstance(photo, dict) and isinstance(photo.get(STORAGE), str) and sizes:
            self.file_ids[photo[STORAGE]] = sizes[-1].file_id

    def _unknown(self, row: Claimed, error: str) -> Outcome:
        """The call may or may not have taken effect: repeat only what is safe to repeat."""
        return self._retry(row, error) if row.idempotent else Outcome(OutboxStatus.UNCERTAIN, error=error)

    def _retry(self, row: Claimed, error: str) -> Outcome:
        if row.attempts >= self.max_attempts:
            return Outcome(OutboxStatus.FAILED, error=f"gave up after {row.attempts} attempts: {error}")
        delay = min(self.backoff_cap, self.backoff * 2 ** (row.attempts - 1))
        return Outcome("retry", error=error, delay=delay * random.uniform(0.8, 1.2))

    async def _record(self, row: Claimed, outcome: Outcome) -> None:
        outbox_id, attempt, chat_id = row.id, row.attempts, row.chat_id
        SENDS.labels(_result_label(outcome)).inc()
        if outcome.pause:
            self._rest(chat_id, outcome.delay)
        async with self.pool.acquire() as conn:
            if outcome.status == "retry":
                await q.retry_later(conn, outbox_id, attempt, outcome.error or "", outcome.delay)
            elif outcome.status == OutboxStatus.BLOCKED and chat_id > 0:
                async with conn.transaction():
                    await users.mark_blocked(conn, chat_id, True)
                    await q.block_chat(conn, outbox_id, chat_id, outcome.error or "blocked")
            elif outcome.status == OutboxStatus.SENT and (sent := _on_record(row)) is not None:
                await record.record_outbox_sent(conn, outbox_id, attempt, outcome.result, sent)  # S5
            else:
                await q.finish(conn, outbox_id, attempt, outcome.status, outcome.result, outcome.error)
        if outcome.status == OutboxStatus.FAILED:  # e.g. an admin who never started the bot
            log.warning(
                "outbox row %d (%s to chat %d) failed: %s", outbox_id, row.method, chat_id, outcome.error
            )
        if outcome.status == OutboxStatus.UNCERTAIN:
            log.warning(
                "outbox row %d (%s to chat %d) is uncertain, not re-sent: %s",
                outbox_id,
                row.method,
                chat_id,
                outcome.error,
            )

    def _rest(self, chat_id: int, seconds: float) -> None:
        """After a 429: Telegram does not say which limit was hit, and our buckets keep us under
        the chat's, so the bot as a whole is over its budget: everything waits `seconds`."""
        until = asyncio.get_running_loop().time() + seconds
        self.resting[chat_id] = max(self.resting.get(chat_id, 0.0), until)
        self.paused_until = max(self.paused_until, until)


def _result_label(outcome: Outcome) -> str:
    """How /metrics counts an attempt: ok, 429, 403, 5xx, uncertain, failed, retry."""
    if outcome.status == "retry":
        return outcome.label or ("429" if outcome.pause else "retry")
    return {
        OutboxStatus.SENT: "ok",
        OutboxStatus.BLOCKED: "403",
        OutboxStatus.UNCERTAIN: "uncertain",
    }.get(outcome.status, "failed")


def _called_off(row: Claimed) -> str | None:
    """Why a row that goes only after another was sent must not go (None: it may)."""
    if row.after_sent is None:
        return None
    status = (row.deps.get(str(row.after_sent)) or {}).get("status", "missing")
    if status == OutboxStatus.SENT:
        return None
    return f"not called: it goes only after outbox row {row.after_sent} is sent, which is {status}"


def _on_record(row: Claimed) -> Entry | None:
    """The message a delivered row sent, for the record (S5); None for calls that send none."""
    return record.outgoing(
        row.method, lambda name: row.chat_id if name == "chat_id" else row.params.get(name)
    )


def _cost(method: TelegramMethod[Any]) -> int:
    """Messages a call creates: an album counts each item (as Telegram counts them)."""
    media = getattr(method, "media", None)
    return len(media) if isinstance(media, list) else 1


def _result(value: Any) -> dict[str, Any]:
    if isinstance(value, list):
        return {"message_ids": [getattr(v, "message_id", None) for v in value]}
    if hasattr(value, "message_id"):
        return {"message_id": value.message_id}
    return {"ok": bool(value)}
