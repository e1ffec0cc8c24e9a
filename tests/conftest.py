"""Shared fixtures: a real PostgreSQL, a database per test, the sandbox over HTTP, Bozor itself."""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import asyncpg
import pytest

from app.config import Config, load_config
from app.db.embedded import EmbeddedPostgres
from app.db.migrations import migrate
from app.db.pool import init_connection
from app.main import Bozor, free_port
from app.sandbox.app import make_sandbox_app
from app.sandbox.driver import Sandbox
from app.sandbox.world import World
from tests.helpers.llm import FakeLlm, fake_llm_app
from tests.helpers.market import open_market
from tests.helpers.panel import SECRET_KEY, Panel, build_panel
from tests.helpers.servers import TEST_TOKEN, SandboxServer, with_database

TEMPLATE_DB = "bozor_test_template"
_db_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def pg_admin_dsn() -> Iterator[str]:
    """DATABASE_URL when given (a server of your own), else an embedded server for the run."""
    given = os.environ.get("DATABASE_URL")
    if given:
        yield given
        return
    root = Path(tempfile.mkdtemp(prefix="bozor-test-pg-"))
    server = EmbeddedPostgres(root, fast=True, database="postgres")
    try:
        yield server.start()
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_root() -> Iterator[Path]:
    """A folder for an embedded server whose parents the server's user can traverse.

    pytest's own tmp_path sits under a 0700 folder, which `nobody` cannot enter when the
    suite runs as root; /tmp can be.
    """
    root = Path(tempfile.mkdtemp(prefix="bozor-test-pg-"))
    root.chmod(0o755)  # like ./data made by `make run`: others may traverse it
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def template_dsn(pg_admin_dsn: str) -> str:
    """A database with every migration applied, cloned for each test (fast, isolated)."""

    async def build() -> None:
        admin = await asyncpg.connect(pg_admin_dsn)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE_DB}" WITH (FORCE)')
            await admin.execute(f'CREATE DATABASE "{TEMPLATE_DB}"')
        finally:
            await admin.close()
        conn = await asyncpg.connect(with_database(pg_admin_dsn, TEMPLATE_DB))
        try:
            await migrate(conn)
        finally:
            await conn.close()

    asyncio.run(build())
    return with_database(pg_admin_dsn, TEMPLATE_DB)


@pytest.fixture
async def database_url(pg_admin_dsn: str, template_dsn: str) -> AsyncIterator[str]:
    """A fresh, migrated database of this test's own."""
    name = f"bozor_test_{os.getpid()}_{next(_db_numbers)}"
    admin = await asyncpg.connect(pg_admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE_DB}"')
    finally:
        await admin.close()
    yield with_database(pg_admin_dsn, name)
    admin = await asyncpg.connect(pg_admin_dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to this test's database, for asserting what was stored."""
    conn = await asyncpg.connect(database_url)
    await init_connection(conn)
    yield conn
    await conn.close()


@pytest.fixture
async def sandbox_server(aiohttp_server) -> AsyncIterator[SandboxServer]:
    """The Telegram sandbox on its own port, as Telegram would be: outside Bozor."""
    world = World()
    app = make_sandbox_app(world, validate=True, http_webhooks=True)  # tests' webhooks are local
    server = await aiohttp_server(app)
    yield SandboxServer(app, str(server.make_url("")).rstrip("/"), world)
    assert world.spec_violations == [], "sandbox results broke the Bot API spec"


@pytest.fixture
def sandbox_url(sandbox_server: SandboxServer) -> str:
    return sandbox_server.url


@pytest.fixture
async def sandbox(sandbox_url: str) -> AsyncIterator:
    """The user-side driver: personas that send, press and read."""
    async with Sandbox(sandbox_url) as driver:
        yield driver


@pytest.fixture
def make_config(tmp_path: Path, database_url: str) -> Callable[..., Config]:
    """Config as the environment would give it, pointed at this test's database."""

    def build(**overrides: str) -> Config:
        env = {
            "DATABASE_URL": database_url,
            "DATA_DIR": str(tmp_path / "data"),
            "PORT": str(free_port()),
            "LOG_LEVEL": "INFO",
        }
        env.update(overrides)
        return load_config(env, dotenv=tmp_path / "no.env")

    return build


@pytest.fixture
def bot_config(make_config: Callable[..., Config], sandbox_url: str) -> Config:
    """Bozor with a bot token, talking to the standalone sandbox by long polling."""
    return make_config(BOT_TOKEN=TEST_TOKEN, TELEGRAM_API_URL=sandbox_url)


@pytest.fixture
async def bozor(bot_config: Config) -> AsyncIterator[Bozor]:
    app = Bozor(bot_config)
    await app.start()
    yield app
    await app.stop()


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """A moto S3 server on loopback (a module's tests share it; each uses its own bucket)."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
async def panel(aiohttp_client, make_config, database_url: str) -> AsyncIterator[Panel]:
    """The web app alone (no bot, no scheduler) on a test client, in English."""
    config = make_config(SECRET_KEY=SECRET_KEY, DEFAULT_LANGUAGE="en")
    async for built in build_panel(aiohttp_client, config, database_url):
        yield built


@pytest.fixture
async def market(bozor: Bozor, sandbox: Sandbox) -> dict:
    """Bozor with a channel, its two admins and a seller, all in the sandbox."""
    return await open_market(bozor, sandbox)


@pytest.fixture
async def fake_llm(aiohttp_server) -> AsyncIterator[FakeLlm]:
    """A small OpenAI-compatible server of our own on loopback (tests/helpers/llm.py)."""
    fake = FakeLlm()
    server = await aiohttp_server(fake_llm_app(fake))
    fake.url = str(server.make_url("/v1"))
    yield fake
    fake.release.set()  # requests still held end before the server closes
