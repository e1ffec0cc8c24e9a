"""aiohttp application keys shared by the sandbox's handlers."""

from __future__ import annotations

from aiohttp import web

from .webhook import WebhookDelivery
from .world import World

WORLD_KEY = web.AppKey("sandbox_world", World)
WEBHOOKS_KEY = web.AppKey("sandbox_webhooks", WebhookDelivery)
