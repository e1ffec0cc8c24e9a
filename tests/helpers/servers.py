"""What the shared fixtures start: per-test databases, the standalone sandbox, the test bot's token."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from aiohttp import web

from app.sandbox.world import World

TEST_TOKEN = "4242424242:TestTokenForTheBozorSuiteOnlyXXXXXXXX"


def with_database(dsn: str, database: str) -> str:
    """The same server's DSN for another database."""
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{database}"))


@dataclass
class SandboxServer:
    app: web.Application
    url: str
    world: World
