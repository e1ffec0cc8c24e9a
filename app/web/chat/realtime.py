"""Real time for the web chat: each process delivers events to its own open pages at once and
tells the other processes by NOTIFY, one statement for all the events gathered meanwhile.

Every change (a message, a read receipt, typing, presence) is published by the domain through
the hub (ChatEvents), naming the accounts it is for. Made outside a transaction, it goes to this
process's sockets at once and into the next batch NOTIFY, which the other processes deliver to
theirs (their own batches they skip: those went out when published). Made inside a transaction,
it is a NOTIFY at that commit to every process alike, this one included — a change rolled back
reaches no page. The database stays the authority: a socket that falls behind, a process that
lost its LISTEN connection, or batches that could not be sent make the pages catch up from the
database by their last seen message id, and pages drop any id they already show — nothing lost,
nothing shown twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
from aiohttp import web

from app.db import Conn
from app.db.queries import chat as q
from app.domain.chat import conversations, notices
from app.domain.chat.accounts import SIGNED_OUT
from app.domain.chat.ports import Event
from app.web import keys

log = logging.getLogger(__name__)
QUEUE_SIZE = 512
HEARTBEAT = 30.0  # seconds between presence refreshes (a dead process stops counting after 90 s)
RECONNECT_DELAYS = (0.2, 0.5, 1, 2, 5)
MAX_OUTGOING = 10_000  # events waiting for their NOTIFY; beyond, every page catches up instead
# At most one batch NOTIFY per this many seconds: each is a commit PostgreSQL writes, and under
# load a short wait lets one carry many events. Only other processes' pages wait for it (an
# event's own process delivers at once); after a quiet spell the first event goes out at once.
NOTIFY_GAP = 0.005

CATCH_UP: Event = {"type": "catch_up"}  # "you may have missed something: ask the database"
CATCH_UP_ALL: Event = {"kind": "catch_up", "to": []}  # to every process: all pages catch up


Frame = tuple[Event, str]  # a frame for the pages and its JSON text, encoded once for all sockets
Drain = Callable[[Frame], Awaitable[None]]
Accept = Callable[[Frame], bool]
CATCH_UP_FRAME: Frame = (CATCH_UP, "")
RECHECK: Event = {"type": "recheck"}  # "a session or token of this account ended: check yours now"
RECHECK_FRAME: Frame = (RECHECK, "")


class Listener:
    """One open socket's inbox. Frames wait in a deque; a task sends them only while there is
    something to send, so an idle socket holds no task and no deque (memory per socket)."""

    __slots__ = ("accept", "account_id", "drain", "inbox", "task")

    def __init__(self, account_id: int) -> None:
        self.account_id = account_id
        self.inbox: deque[Frame] | None = None  # made when a frame waits, dropped when sent
        self.drain: Drain | None = None  # set once the socket is ready (its catch-up sent)
        self.accept: Accept | None = None  # the socket's filter (False: nothing to send)
        self.task: asyncio.Task[None] | None = None

    def put(self, frame: Frame) -> None:
        if self.accept is not None and not self.accept(frame):
            return
        if self.inbox is None:
            self.inbox = deque()
        elif len(self.inbox) >= QUEUE_SIZE:  # too slow to keep up: drop the backlog, catch up
            self.inbox.clear()
            frame = CATCH_UP_FRAME
        self.inbox.append(frame)
        self._wake()

    def start(self, drain: Drain, accept: Accept) -> None:
        """The socket is ready: send what waits, and every frame from now on that it accepts."""
        self.drain, self.accept = drain, accept
        if self.inbox:
            self.inbox = deque(frame for frame in self.inbox if accept(frame))
        self._wake()

    async def stop(self) -> None:
        self.drain = self.accept = None
        task, self.task = self.task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _wake(self) -> None:
        if self.drain is not None and self.task is None and self.inbox:
            self.task = asyncio.create_task(self._send_all())

    async def _send_all(self) -> None:
        try:
            while self.inbox and self.drain is not None:
                await self.drain(self.inbox.popleft())
            if not self.inbox:
                self.inbox = None
        finally:
            if self.task is asyncio.current_task():
                self.task = None


class ChatHub:
    """This process's sockets by account, and the task that LISTENs for the chat's events."""

    def __init__(self, pool: asyncpg.Pool | None) -> None:
        self.pool = pool
        self.node = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.listeners: dict[int, set[Listener]] = defaultdict(set)
        self.listening = asyncio.Event()  # set while the LISTEN connection is up
        self.closing: set[asyncio.Task[None]] = set()  # presence writes of closed pages
        self.outgoing: list[Event] = []  # published here, for the other processes' next NOTIFY
        self.flush_wanted = asyncio.Event()

    async def publish(self, conn: Conn, event: Event) -> None:
        """ChatEvents: this process's pages now, the others with the next batch NOTIFY."""
        if self.pool is None or conn.is_in_transaction():  # at commit, to every process alike
            await q.notify(conn, event)
            return
        self.deliver_now(event)
        self._queue([event])

    def _queue(self, events: list[Event]) -> None:
        if len(self.outgoing) + len(events) > MAX_OUTGOING:
            # The database is down or far behind: rather than grow, have every page catch up.
            self.outgoing = [CATCH_UP_ALL]
        else:
            self.outgoing += events
        self.flush_wanted.set()

    async def send_notifications(self) -> None:
        """Until cancelled: the events published here go to the other processes, each NOTIFY
        carrying all that gathered while the one before was sent (like a group commit)."""
        assert self.pool is not None
        loop = asyncio.get_running_loop()
        failures, last = 0, 0.0
        while True:
            await self.flush_wanted.wait()
            if (gap := last + NOTIFY_GAP - loop.time()) > 0:
                await asyncio.sleep(gap)  # more events may come meanwhile: one NOTIFY for all
            self.flush_wanted.clear()
            last = loop.time()
            try:
                await self.flush()
                failures = 0
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
                log.warning("web chat: could not NOTIFY the other processes (%r); retrying", exc)
                self.flush_wanted.set()  # what failed went back to the front of the queue
                await asyncio.sleep(RECONNECT_DELAYS[min(failures, len(RECONNECT_DELAYS) - 1)])
                failures += 1

    async def flush(self) -> None:
        """Send what waits now; on failure it stays queued, in order, for the next try."""
        assert self.pool is not None
        while self.outgoing:
            batch, self.outgoing = self.outgoing, []
            try:
                async with self.pool.acquire() as conn:
                    await q.notify_many(conn, pack(self.node, batch))
            except BaseException:
                self.outgoing, queued = [], self.outgoing
                self._queue(batch + queued)
                raise

    @contextlib.asynccontextmanager
    async def subscribe(self, account_id: int) -> AsyncIterator[Listener]:
        listener = Listener(account_id)
        self.listeners[account_id].add(listener)
        if self.pool is not None:
            async with self.pool.acquire() as conn:
                await notices.page_opened(conn, account_id, self.node, self)
        try:
            yield listener
        finally:
            self.listeners[account_id].discard(listener)
            if not self.listeners[account_id]:
                del self.listeners[account_id]
            if self.pool is not None:  # a task of its own: aiohttp cancels a closed socket's handler
                task = asyncio.create_task(self._page_closed(account_id))
                self.closing.add(task)
                task.add_done_callback(self.closing.discard)

    async def _page_closed(self, account_id: int) -> None:
        assert self.pool is not None
        with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            async with self.pool.acquire() as conn:
                await notices.page_closed(conn, account_id, self.node, self)

    def sockets(self) -> int:
        return sum(len(group) for group in self.listeners.values())

    async def deliver(self, event: Event) -> None:
        """One notification to the local sockets of the accounts it names."""
        if event.get("kind") == "message" and event.get("message") is None:
            if not any(account in self.listeners for account in event.get("to", ())):
                return
            if self.pool is None:
                return
            async with self.pool.acquire() as conn:  # too long for NOTIFY: read it once
                found = await conversations.message(conn, int(event["id"]))
            if found is None:
                return
            event = {**event, "message": found.as_json()}
        self.deliver_now(event)

    def deliver_now(self, event: Event) -> None:
        """A notification that carries all it needs, straight into the sockets' inboxes."""
        targets = [one for account in event.get("to", ()) for one in self.listeners.get(account, ())]
        if not targets:
            return
        kind = event.get("kind")
        if kind == "message":
            frame: Event = {"type": "message", "message": event["message"]}
        elif kind == "read":
            frame = {"type": "read", **{k: event[k] for k in ("conversation_id", "reader_id", "upto")}}
        elif kind == "typing":
            frame = {"type": "typing", **{k: event[k] for k in ("conversation_id", "account_id")}}
        elif kind == "presence":
            frame = {"type": "presence", **{k: event[k] for k in ("account_id", "online")}}
        elif kind == SIGNED_OUT:
            for listener in targets:
                listener.put(RECHECK_FRAME)
            return
        else:
            return
        encoded: Frame = (frame, json.dumps(frame, ensure_ascii=False))
        for listener in targets:
            listener.put(encoded)

    def catch_up_all(self) -> None:
        for group in self.listeners.values():
            for listener in group:
                listener.put(CATCH_UP_FRAME)

    async def run(self) -> None:
        """LISTEN until cancelled; after a lost connection every page catches up from the DB."""
        assert self.pool is not None
        failures = 0
        while True:
            try:
                await self._listen_once(catch_up=failures > 0)
                failures = 0
            except Exception as exc:  # whatever broke the connection, this loop must go on
                log.warning("web chat: LISTEN connection lost (%r); reconnecting", exc)
            self.listening.clear()
            await asyncio.sleep(RECONNECT_DELAYS[min(failures, len(RECONNECT_DELAYS) - 1)])
            failures += 1

    async def _listen_once(self, *, catch_up: bool) -> None:
        assert self.pool is not None
        async with self.pool.acquire() as conn:
            lost = asyncio.Event()
            conn.add_termination_listener(lambda _conn: lost.set())
            pending: set[asyncio.Task[None]] = set()

            def notified(_conn: object, _pid: int, _channel: str, payload: object) -> None:
                try:
                    events = unpack(self.node, str(payload))
                except (ValueError, TypeError, KeyError):
                    log.warning("web chat: ignored a malformed notification: %.200s", payload)
                    return
                for event in events:
                    if event.get("kind") == "catch_up":
                        self.catch_up_all()
                    elif event.get("kind") == "message" and event.get("message") is None:
                        task = asyncio.create_task(self.deliver(event))  # it reads the message first
                        pending.add(task)
                        task.add_done_callback(pending.discard)
                    else:
                        self.deliver_now(event)

            try:  # cancelled even while adding: the listener never outlives the connection's loan
                await conn.add_listener(q.CHANNEL, notified)
                self.listening.set()
                if catch_up:
                    self.catch_up_all()
                await lost.wait()
            finally:
                if not conn.is_closed():
                    # Lost, cancelled (even mid-LISTEN) or failed: never lent again in an unknown
                    # state; the pool opens a fresh connection for the next loan.
                    conn.terminate()

    async def heartbeat(self) -> None:
        assert self.pool is not None
        while True:
            await asyncio.sleep(HEARTBEAT)
            with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                async with self.pool.acquire() as conn:
                    await notices.still_here(conn, self.node)


CHAT_HUB = web.AppKey("chat_hub", ChatHub)


async def chat_realtime(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: the hub, its LISTEN task and its presence heartbeat."""
    pool = app.get(keys.POOL)
    hub = app[CHAT_HUB] = ChatHub(pool)
    tasks = []
    if pool is not None:
        tasks = [
            asyncio.create_task(hub.run(), name="chat-listen"),
            asyncio.create_task(hub.heartbeat(), name="chat-presence"),
            asyncio.create_task(hub.send_notifications(), name="chat-notify"),
        ]
    yield
    for task in tasks:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    if pool is not None:
        await asyncio.gather(*hub.closing, return_exceptions=True)
        with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
            await hub.flush()  # the last events (closed pages' presence) for the other processes
        with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            async with pool.acquire() as conn:
                await notices.node_gone(conn, hub.node)


def pack(node: str, events: list[Event]) -> list[str]:
    """Events as few NOTIFY payloads as fit: {"from": node, "events": [...]}, in order."""
    head = '{"from":' + json.dumps(node) + ',"events":['
    room = q.NOTIFY_BYTES - len(head.encode()) - 2
    payloads: list[str] = []
    texts: list[str] = []
    size = 0
    for event in events:
        text = q.notify_text(event)
        if len(text.encode()) > room:  # too big even alone (a huge name?): the pages ask the DB
            text = json.dumps(CATCH_UP_ALL)
        if texts and size + len(text.encode()) + 1 > room:
            payloads.append(head + ",".join(texts) + "]}")
            texts, size = [], 0
        texts.append(text)
        size += len(text.encode()) + 1
    if texts:
        payloads.append(head + ",".join(texts) + "]}")
    return payloads


def unpack(node: str, payload: str) -> list[Event]:
    """The events of one notification for this process: none of its own batches (delivered
    when published), one event NOTIFYed at a transaction's commit, or another process's batch."""
    found = json.loads(payload)
    if not isinstance(found, dict):
        raise ValueError("not an object")
    if "events" not in found:
        return [found]
    if found.get("from") == node:
        return []
    return [event for event in found["events"] if isinstance(event, dict)]
