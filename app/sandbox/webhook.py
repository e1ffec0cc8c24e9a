"""Webhook delivery: POST pending updates to the bot's URL, up to max_connections at once.

As Telegram: updates leave in order, but up to `max_connections` deliveries are in flight at
once (with max_connections=1 they arrive strictly one after another); a failed delivery is
retried after a growing pause while the others go on; an update leaves the queue when its
delivery got a 2xx answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any
from urllib.parse import parse_qsl

import aiohttp

from . import spec
from .methods import call_method
from .world import Bot, TelegramError, Webhook, World

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class WebhookDelivery:
    """One worker task per bot with a webhook; all share one ClientSession."""

    def __init__(
        self,
        world: World,
        *,
        timeout: float = 10.0,
        min_backoff: float = 0.1,
        max_backoff: float = 5.0,
    ):
        self.world = world
        self.timeout = timeout
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self.session: aiohttp.ClientSession | None = None
        self.tasks: dict[int, asyncio.Task[None]] = {}  # one worker per bot
        self.deliveries: set[asyncio.Task[None]] = set()  # POSTs in flight, any bot
        self.backoff: dict[int, float] = {}  # bot -> pause before its next retry

    async def start(self) -> None:
        self.session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.timeout),
            json_serialize=_dumps,
        )
        self.world.webhook_listeners.append(self.ensure)
        for bot in self.world.bots.values():
            self.ensure(bot)

    async def stop(self) -> None:
        with contextlib.suppress(ValueError):
            self.world.webhook_listeners.remove(self.ensure)
        tasks = [*self.tasks.values(), *self.deliveries]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.tasks.clear()
        self.deliveries.clear()
        if self.session is not None:
            await self.session.close()

    def ensure(self, bot: Bot) -> None:
        """Start the bot's worker if it has a webhook and no live worker (World listener)."""
        if bot.webhook is None or self.session is None:
            return
        task = self.tasks.get(bot.id)
        if task is None or task.done():
            self.tasks[bot.id] = asyncio.get_running_loop().create_task(
                self._run(bot), name=f"sandbox-webhook-{bot.id}"
            )

    async def _run(self, bot: Bot) -> None:
        """Start deliveries while fewer than max_connections are in flight; sleep otherwise."""
        while (hook := bot.webhook) is not None:
            free = hook.max_connections - len(bot.in_flight)
            waiting = [u for u in bot.updates if u[0] not in bot.in_flight][: max(free, 0)]
            for update_id, _, update in waiting:
                bot.in_flight.add(update_id)
                task = asyncio.get_running_loop().create_task(self._deliver(bot, hook, update_id, update))
                self.deliveries.add(task)
                task.add_done_callback(self.deliveries.discard)
            if not waiting:
                await bot.wait(None)  # woken by a new update, a finished delivery or a webhook change
        self.tasks.pop(bot.id, None)

    async def _deliver(self, bot: Bot, hook: Webhook, update_id: int, update: dict[str, Any]) -> None:
        try:
            delivered, reply = await self._post(hook, update)
            if not delivered:
                backoff = self.backoff.get(bot.id, self.min_backoff)
                self.backoff[bot.id] = min(backoff * 2, self.max_backoff)
                await asyncio.sleep(backoff)
                return
            self.backoff.pop(bot.id, None)
            _remove(bot, update_id)
            self.world.save()
            if reply is not None:
                await self._execute(bot, reply)
        finally:
            bot.in_flight.discard(update_id)
            bot.wake()

    async def _post(self, hook: Webhook, update: dict[str, Any]) -> tuple[bool, dict[str, Any] | None]:
        assert self.session is not None
        if self.world.validate:
            self.world.spec_violations.extend(("webhook", v) for v in spec.check_object("Update", update))
        headers = {"Content-Type": "application/json"}
        if hook.secret_token:
            headers[SECRET_HEADER] = hook.secret_token
        try:
            async with self.session.post(hook.url, data=_dumps(update), headers=headers) as resp:
                if not 200 <= resp.status < 300:
                    self._failed(hook, f"Wrong response from the webhook: {resp.status} {resp.reason}")
                    return False, None
                return True, await _read_reply(resp)
        except (aiohttp.ClientError, TimeoutError, OSError) as e:
            self._failed(hook, f"Connection failed: {type(e).__name__}: {e}")
            return False, None

    def _failed(self, hook: Webhook, message: str) -> None:
        hook.last_error_date = self.world.now()
        hook.last_error_message = message

    async def _execute(self, bot: Bot, reply: dict[str, Any]) -> None:
        """Run the method a webhook answered with, as Telegram does; its result goes nowhere."""
        params = dict(reply)
        name = str(params.pop("method"))
        try:
            await call_method(self.world, bot, name, params)
        except TelegramError as e:
            log.warning("sandbox: webhook reply %s for bot %s failed: %s", name, bot.id, e.description)


def _remove(bot: Bot, update_id: int) -> None:
    """Take a delivered update out of the queue (it may have been dropped meanwhile)."""
    for i, (uid, _, _) in enumerate(bot.updates):
        if uid == update_id:
            del bot.updates[i]
            return


async def _read_reply(resp: aiohttp.ClientResponse) -> dict[str, Any] | None:
    """The {"method": ..., params} a webhook may answer with (JSON, form or multipart)."""
    ctype = resp.content_type
    reply: dict[str, Any] | None = None
    try:
        if ctype == "application/json":
            body = await resp.json(content_type=None)
            reply = body if isinstance(body, dict) else None
        elif ctype == "application/x-www-form-urlencoded":
            reply = dict(parse_qsl(await resp.text()))
        elif ctype == "multipart/form-data":
            reply = {}
            async for part in aiohttp.MultipartReader.from_response(resp):
                if isinstance(part, aiohttp.BodyPartReader) and part.name:
                    reply[part.name] = await (part.read() if part.filename else part.text())
    except (ValueError, aiohttp.ClientError) as e:
        log.warning("sandbox: unreadable webhook reply: %s", e)
        return None
    if not reply or not reply.get("method"):
        return None
    return reply


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
