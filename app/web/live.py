"""Live panel updates: one LISTEN connection per process fans PostgreSQL notifications out to WebSockets."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from urllib.parse import urlsplit

import asyncpg
from aiohttp import WSMsgType, web

from app.db.queries.ads import MODERATION_CHANNEL
from app.db.queries.panel_admin import SETTINGS_CHANNEL
from app.db.queries.support_desk import SUPPORT_CHANNEL
from app.db.queries.tasks import TASKS_CHANNEL
from app.domain import settings as settings_domain
from app.domain.support import commands as bot_commands
from app.domain.support import llm_settings, menus
from app.domain.support import settings as support_settings
from app.urls import split
from app.web import keys

log = logging.getLogger(__name__)

# PostgreSQL channels this process listens to; a topic each.
TOPICS = (MODERATION_CHANNEL, SETTINGS_CHANNEL, SUPPORT_CHANNEL, TASKS_CHANNEL)
QUEUE_SIZE = 256
RECONNECT_DELAYS = (0.5, 1, 2, 5, 10)
LISTEN_SETUP_SECONDS = 10.0  # a connection that cannot even start LISTENing is given up

Event = dict[str, object]
RESYNC: Event = {"event": "resync"}  # "you may have missed something: reload the list"


class Hub:
    """Fans events out to subscribers of a topic; a browser too slow to keep up gets a resync
    instead of making everyone else wait."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[Event]]] = defaultdict(set)

    @contextlib.contextmanager
    def subscribe(self, topic: str) -> Iterator[asyncio.Queue[Event]]:
        queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=QUEUE_SIZE)
        self._subscribers[topic].add(queue)
        try:
            yield queue
        finally:
            self._subscribers[topic].discard(queue)

    def publish(self, topic: str, event: Event) -> None:
        for queue in list(self._subscribers.get(topic, ())):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait(RESYNC)

    def subscribers(self, topic: str) -> int:
        return len(self._subscribers.get(topic, ()))


LIVE = web.AppKey("live", Hub)


async def live_updates(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: the hub, and (with a database) the task that LISTENs for it."""
    hub = app[LIVE] = Hub()
    pool = app.get(keys.POOL)
    tasks = (
        [
            asyncio.create_task(_listen(pool, hub), name="panel-listen"),
            asyncio.create_task(_follow_settings(app, pool, hub), name="settings-follow"),
        ]
        if pool
        else []
    )
    yield
    for task in tasks:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _follow_settings(app: web.Application, pool: asyncpg.Pool, hub: Hub) -> None:
    """Languages saved by another process (several behind nginx) apply here too: reload them
    on its notification, and after a lost connection (a resync) in case one was missed."""
    with hub.subscribe(SETTINGS_CHANNEL) as queue:
        while True:
            await queue.get()
            try:
                async with pool.acquire() as conn:
                    fresh = await settings_domain.load_languages(conn, app[keys.CONFIG].default_language)
                    desk = await support_settings.load(conn)
                    book = await bot_commands.load(conn)
                    llm = await llm_settings.load(conn)
                    menu = await menus.load(conn, fresh.default)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("could not reload the settings (%s); keeping the current ones", exc)
                continue
            app[keys.RUNNING_SETTINGS].languages.update(fresh)
            app[keys.RUNNING_SETTINGS].desk.update(desk)  # the support desk's thresholds and hours
            app[keys.RUNNING_SETTINGS].commands.update(book)  # the bot's commands and texts (S1)
            app[keys.RUNNING_SETTINGS].llm.update(llm)  # LLM help for operators (E6)
            app[keys.RUNNING_SETTINGS].menu.update(menu)  # the bot's main menu (S4)


async def _listen(pool: asyncpg.Pool, hub: Hub) -> None:
    """Hold one connection LISTENing; after a lost connection, reconnect and tell browsers to
    resync (notifications sent meanwhile are gone: PostgreSQL does not keep them)."""
    failures = 0
    while True:
        try:
            await _listen_once(pool, hub, resync=failures > 0)
        except Exception as exc:  # whatever broke the connection, this loop must go on LISTENing
            log.warning("panel live updates: database connection lost (%r); reconnecting", exc)
        delay = RECONNECT_DELAYS[min(failures, len(RECONNECT_DELAYS) - 1)]
        failures += 1
        await asyncio.sleep(delay)


async def _listen_once(pool: asyncpg.Pool, hub: Hub, *, resync: bool) -> None:
    """LISTEN on one connection until it is lost."""
    async with pool.acquire() as conn:
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _conn: lost.set())

        def deliver(_conn: object, _pid: int, channel: str, payload: object) -> None:
            try:
                hub.publish(channel, json.loads(str(payload)))
            except ValueError:
                log.warning("ignored a malformed notification on %s: %.200s", channel, payload)

        try:
            async with asyncio.timeout(LISTEN_SETUP_SECONDS):
                for topic in TOPICS:
                    await conn.add_listener(topic, deliver)
        except BaseException:
            conn.terminate()  # in an unknown state (e.g. cancelled mid-statement): never lent again
            raise
        if resync:
            for topic in TOPICS:
                hub.publish(topic, RESYNC)
        try:
            await lost.wait()
        finally:
            if not conn.is_closed():
                conn.terminate()  # lost or cancelled: a fresh connection serves the next LISTEN


async def serve_events(
    request: web.Request, topic: str, shape: Callable[[Event], Awaitable[Event | None]]
) -> web.WebSocketResponse:
    """A WebSocket that sends this topic's events, each passed through `shape` (which may drop
    it, e.g. a channel this staff member does not moderate, or add what the page shows)."""
    if not same_origin(request):
        raise web.HTTPForbidden(text="This WebSocket is for the panel's own pages.")
    ws = web.WebSocketResponse(heartbeat=30)
    await ws.prepare(request)
    request.app[keys.WEBSOCKETS].add(ws)
    with request.app[LIVE].subscribe(topic) as queue:
        reader = asyncio.create_task(_drain(ws))
        try:
            while not ws.closed:
                getter = asyncio.ensure_future(queue.get())
                done, _pending = await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    getter.cancel()
                    break
                shaped = await shape(getter.result())
                if shaped is not None:
                    await ws.send_json(shaped)
        except ConnectionResetError:
            pass  # the browser went away mid-send; it reconnects and resyncs
        finally:
            reader.cancel()
            await ws.close()
    return ws


def same_origin(request: web.Request) -> bool:
    """A browser's WebSocket from our own pages: its Origin is this host (or PUBLIC_URL's).
    Browsers always send Origin; another site's page could otherwise ride the staff cookie."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser: it holds no one's cookie by accident
    public_url = request.app[keys.CONFIG].public_url
    hosts = {request.host, urlsplit(public_url).netloc if public_url else request.host}
    given = split(origin)
    return given is not None and given.netloc in hosts


async def _drain(ws: web.WebSocketResponse) -> None:
    """Read (and ignore) what the browser sends, so that its close is noticed at once."""
    async for msg in ws:
        if msg.type == WSMsgType.ERROR:
            break
