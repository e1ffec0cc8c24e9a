"""Route fuzz: every route of the app's router (and of the sandbox's) gets hostile paths, queries
and bodies, logged out and logged in as an admin; not one may answer 5xx.

The routes, their path parameters and the names their views read come from the router and the
views' own source, so a new route or field is fuzzed without touching this file.
"""

from __future__ import annotations

import inspect
import re
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import asyncpg
from aiogram import Bot, Dispatcher
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import BaseModel

from app.bot.dispatcher import WEBHOOK_PATH
from app.bot.middlewares import InFlight
from app.domain import staff as staff_domain
from app.domain import staff_tokens
from app.domain.channels import add_category
from app.domain.chat import accounts
from app.domain.staff import Role
from app.sandbox.app import make_sandbox_app
from app.sandbox.world import World
from app.storage import DiskStorage
from app.web import keys
from app.web.api import operations
from app.web.forms import BAD_JSON, input_guard
from app.web.webhook import SECRET_HEADER, WebhookEndpoint
from tests.helpers.ads import PANEL_SELLER, market_channel, pending_ad
from tests.helpers.panel import SECRET_KEY, Panel, build_panel, csrf, login, make_staff, with_ad_messages
from tests.helpers.servers import TEST_TOKEN

ROOT = Path(__file__).resolve().parents[1]
LONG = "a" * 5000
PATH_VALUES = ("0", "9" * 30, "-1", "%C3%A9", "%00", "%FF", "..%2F..%2Fetc", LONG)
QUERY_VALUES = ("%00", "%FF%FE", "9999-12-31", "0001-01-01", "9" * 30, "-5", "x" * 3000, "%E2%80%AE")
# Path parameters that name rows the seeded database has (any other: "1").
EXISTING = {"user_id": str(PANEL_SELLER), "token": "not-a-token"}
TEMPLATE = re.compile(r"""["']([\w/]+\.html)["']""")
FIELD = re.compile(r'name="(\w+)"')
NAME = re.compile(r"""["'](\w{1,40})["']""")
FIELD_LINE = re.compile(r"\bget\(|getall\(|query|form|data\[|body|_int\(|_str\(|for (k|name) in")


@dataclass
class Tally:
    requests: int = 0
    errors: list[str] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    reached_staff_api: int = 0

    async def send(self, client: TestClient, method: str, url: str, **kwargs: object) -> int:
        self.requests += 1
        response = await client.request(
            method,
            url,
            allow_redirects=False,
            skip_auto_headers=("Content-Type",),
            **kwargs,  # type: ignore[arg-type]
        )
        await response.read()
        self.statuses[response.status] += 1
        if url.startswith("/api/v1/staff") and response.status not in (401, 404, 405):
            self.reached_staff_api += 1
        if response.status >= 500:
            self.errors.append(f"{method} {url[:100]} {str(kwargs)[:140]} -> {response.status}")
        return response.status

    def report(self) -> str:
        return "\n".join(self.errors[:40]) + f"\n{len(self.errors)} of {self.requests}"


def _names(handler: object) -> tuple[list[str], list[str]]:
    """What the view's module reads from queries (its string literals on lines that read input:
    a generous guess) and from forms (those, and the fields of the templates it renders)."""
    module = inspect.getmodule(inspect.unwrap(handler))  # type: ignore[arg-type]
    try:
        source = inspect.getsource(module) if module is not None else ""
    except (OSError, TypeError):
        source = ""
    found = {name for line in source.splitlines() if FIELD_LINE.search(line) for name in NAME.findall(line)}
    fields = {
        name
        for template in TEMPLATE.findall(source)
        if (ROOT / "templates" / template).is_file()
        for name in FIELD.findall((ROOT / "templates" / template).read_text())
    }
    return sorted(found), sorted(found | fields)


def _model_fields(model: type[BaseModel] | None, prefix: str = "") -> list[str]:
    """A JSON API body's field names, those of nested objects too (as "audience.channel_id")."""
    names: list[str] = []
    for name, info in model.model_fields.items() if model is not None else ():
        names.append(prefix + name)
        nested = info.annotation
        if isinstance(nested, type) and issubclass(nested, BaseModel):
            names += _model_fields(nested, f"{prefix}{name}.")
    return names


def _nested(name: str, value: object) -> dict[str, object]:
    """{"audience": {"channel_id": value}} for "audience.channel_id"."""
    head, _sep, rest = name.partition(".")
    return {head: _nested(rest, value) if rest else value}


def _api_bodies(names: list[str]) -> Iterator[tuple[str, bytes]]:
    """A JSON API body with one field (at any depth) hostile at a time."""
    import json

    for name in names:
        for value in ("\u0000", 10**30, -(10**30), "\ud800", ["x"], {"x": 1}, "x" * 20_000, None, True, 1.5):
            yield "application/json", json.dumps(_nested(name, value)).encode()


def _is_api(resource: web.AbstractResource) -> bool:
    return str(resource.get_info().get("path") or resource.get_info().get("formatter") or "").startswith(
        "/api/"
    )


def _paths(resource: web.AbstractResource) -> Iterator[str]:
    info = resource.get_info()
    if "directory" in info:  # static files
        prefix = info["prefix"]
        yield from (f"{prefix}/{value}" for value in ("style.css", LONG, "..%2F..%2Fsecret", "%00"))
        return
    if "path" in info:
        yield info["path"] or "/"
        return
    formatter: str = info["formatter"]
    names = re.findall(r"{(\w+)}", formatter)
    yield formatter.format(**{n: EXISTING.get(n, "1") for n in names})  # the example: rows that exist
    for value in PATH_VALUES:
        for name in names:  # one hostile part at a time, the others plausible
            yield formatter.format(**{n: (value if n == name else EXISTING.get(n, "1")) for n in names})


HOSTILE_HEADERS: list[dict[str, str]] = [
    {"Referer": "http://[::1", "Origin": "http://[::1"},
    {"Referer": "https://x:99999/panel", "Origin": "https://x:99999", "Accept-Language": "\u00e9" * 300},
    {"Origin": "null", "Referer": "//", "X-Forwarded-For": "not-an-address"},
    {
        "Connection": "Upgrade",
        "Upgrade": "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Origin": "http://[::1",
    },
]
BODIES: list[tuple[str, bytes]] = [
    ("multipart/form-data", b"zzz"),
    ("multipart/form-data; boundary=XX", b"--XX\r\nContent-Disposition: form-data\r\n\r\nzz"),
    ("multipart/form-data; boundary=XX", b"--XX\r\nbroken\r\n--XX--\r\n"),
    ("application/x-www-form-urlencoded; charset=klingon", b"a=b"),
    ("application/x-www-form-urlencoded", b"a=%FF%FE&b=\xff\xfe"),
    ("application/x-www-form-urlencoded; charset=utf-16", b"\xff\xfea\x00=\x00"),
    ("application/json", b"[" * 100_000 + b"]" * 100_000),
    ("application/json", b'{"a": "\\ud800", "b": "\\u0000"}'),
    ("application/json", b"\xff\xfe{}"),
    ("application/json; charset=klingon", b"{}"),
    ("application/json", b'"just a string"'),
    ("text/plain", b"\x00\x01\x02"),
]


def _field_bodies(names: list[str]) -> Iterator[tuple[str, bytes]]:
    """Every field the view may read, with a NUL, an overflow, a long text and a bad date: one
    field at a time (the others "1", so checks of other fields do not hide it), then all."""
    for value in ("%00", "9" * 30, "x" * 20_000, "9999-12-31", "%ED%A0%80"):
        for hostile in [*names, None] if value == "9" * 30 else [None]:
            body = "&".join(f"{name}={value if hostile in (name, None) else 1}" for name in names)
            yield "application/x-www-form-urlencoded", body.encode()
    for value in ("\u0000", 10**30, "\ud800", ["x"], {"x": 1}):
        import json

        yield "application/json", json.dumps(dict.fromkeys(names, value)).encode()
        multipart = "".join(
            f'--XX\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value!s}\r\n' for name in names
        )
        yield "multipart/form-data; boundary=XX", (multipart + "--XX--\r\n").encode("utf-8", "surrogatepass")


async def fuzz(
    client: TestClient,
    app: web.Application,
    tally: Tally,
    headers: dict[str, str],
    skip: frozenset[str] = frozenset(),
    *,
    only_api: bool = False,
) -> None:
    bodies = {(op.method, op.path): _model_fields(op.body) for op in operations()}
    for resource in app.router.resources():
        if resource.name in skip or (only_api and not _is_api(resource)):  # logging out would end a pass
            continue
        for route in resource:
            method = route.method if route.method != "*" else "POST"
            if method == "HEAD":
                continue
            names, fields = _names(route.handler)
            api_fields = bodies.get((method, resource.canonical), [])
            statuses = [await tally.send(client, method, path, headers=headers) for path in _paths(resource)]
            for hostile in HOSTILE_HEADERS:  # what views read of the headers: Referer, Origin…
                await tally.send(client, method, next(_paths(resource)), headers={**headers, **hostile})
            if statuses[0] in (302, 401):
                continue  # it sends this visitor to log in (or sign in) before reading anything else
            example = next(_paths(resource))
            for name in names if method == "GET" else ():  # forms post their fields in the body
                for value in QUERY_VALUES:
                    await tally.send(client, method, f"{example}?{name}={value}", headers=headers)
            if method in ("POST", "PUT", "PATCH", "DELETE"):
                for content_type, body in [*BODIES, *_field_bodies(fields), *_api_bodies(api_fields)]:
                    await tally.send(
                        client, method, example, data=body, headers={**headers, "Content-Type": content_type}
                    )


async def test_no_route_of_the_app_answers_5xx_to_hostile_input(
    aiohttp_client, make_config, database_url: str, db: asyncpg.Connection, tmp_path: Path
) -> None:
    def with_storage_and_webhook(app: web.Application) -> None:
        """What app.main adds to the panel: storage, and in webhook mode Telegram's endpoint."""
        with_ad_messages(app)
        app[keys.STORAGE] = DiskStorage(tmp_path / "media", "/media")
        endpoint = WebhookEndpoint(Bot(TEST_TOKEN), "the-secret", InFlight())
        endpoint.dispatcher = Dispatcher()
        app.router.add_post(WEBHOOK_PATH, endpoint.handle)

    config = make_config(SECRET_KEY=SECRET_KEY, DEFAULT_LANGUAGE="en")
    await make_staff(db, "boss", Role.ADMIN)
    await make_staff(db, "colleague", Role.MODERATOR)  # staff 2
    channel = await market_channel(db)  # channel 1
    await add_category(db, channel, "bikes", {"uz": "Velosiped", "ru": "Велосипеды", "en": "Bikes"})
    await pending_ad(db, channel, "Velosiped")  # ad 1, by PANEL_SELLER
    async for panel in build_panel(aiohttp_client, config, database_url, with_storage_and_webhook):
        anonymous, admin = Tally(), Tally()
        await fuzz(panel.client, panel.app, anonymous, {})
        assert (await login(panel.client, "boss")).status == 303
        token = await csrf(panel.client, "/panel")
        # The admin's staff API token too: the staff API's views are fuzzed past their sign-in.
        boss = await staff_domain.find_staff(db, "boss")
        assert boss is not None
        await staff_tokens.create_token(db, boss, "revoked by the fuzz")  # token 1: the example id
        bearer = f"Bearer {(await staff_tokens.create_token(db, boss, 'fuzz'))[1]}"
        headers = {"X-CSRF-Token": token, "Authorization": bearer}
        await fuzz(panel.client, panel.app, admin, headers, skip=frozenset({"panel.logout"}))
        reached = admin.reached_staff_api
        assert reached > 500, f"only {reached} requests reached a staff API view"
        # A web chat account's API token: the JSON API's own views, past their sign-in.
        panel.client.session.cookie_jar.clear()
        kamola = await accounts.register(
            db, "kamola", "a good long password", "a good long password", "K", None
        )
        chat_bearer = f"Bearer {(await accounts.create_api_token(db, kamola.id, 'fuzz'))[1]}"
        chat = Tally()
        await fuzz(panel.client, panel.app, chat, {"Authorization": chat_bearer}, only_api=True)
        assert chat.statuses[200] > 20, sorted(chat.statuses.items())  # it got past the sign-in
        for who, tally in (("anonymous", anonymous), ("admin", admin), ("web chat token", chat)):
            print(f"route fuzz (app, {who}): {tally.requests} requests, {sorted(tally.statuses.items())}")
        assert anonymous.errors == [], anonymous.report()
        assert admin.errors == [], admin.report()
        assert chat.errors == [], chat.report()


async def test_no_route_of_the_sandbox_answers_5xx_to_hostile_input(aiohttp_client) -> None:
    app = make_sandbox_app(World())
    client = await aiohttp_client(app)
    tally = Tally()
    await fuzz(client, app, tally, {})
    print(f"route fuzz (sandbox): {tally.requests} requests, {sorted(tally.statuses.items())}")
    assert tally.errors == [], tally.report()


async def test_the_reviews_examples_are_clear_4xx(panel: Panel, db: asyncpg.Connection) -> None:
    client = panel.client
    response = await client.post("/panel/login", data=b"zzz", headers={"Content-Type": "multipart/form-data"})
    assert response.status == 400
    assert "This form could not be read. Reload the page and send it again." in await response.text()
    response = await client.get("/panel/login?next=%00", headers={"Accept-Language": "ru"})
    assert (
        response.status == 400 and "недопустимые символы" in await response.text()
    )  # in the reader's language
    response = await client.get("/static/" + "a" * 5000)
    assert response.status == 414 and "This address is too long." in await response.text()
    # Telegram's endpoint: a non-ASCII secret is a wrong secret; deep JSON is not an update.
    endpoint = WebhookEndpoint(Bot(TEST_TOKEN), "the-secret", InFlight())
    endpoint.dispatcher = Dispatcher()
    app = web.Application(middlewares=[input_guard])
    app.router.add_post(WEBHOOK_PATH, endpoint.handle)
    hook = await TestClient(TestServer(app)).__aenter__()
    try:
        response = await hook.post(WEBHOOK_PATH, data=b"{}", headers={SECRET_HEADER: "sécret"})
        assert response.status == 401
        deep = b'{"update_id": 1, "message": ' + b"[" * 5000 + b"]" * 5000 + b"}"
        response = await hook.post(WEBHOOK_PATH, data=deep, headers={SECRET_HEADER: "the-secret"})
        assert response.status == 400 and (await response.json())["error"] == BAD_JSON
    finally:
        await hook.close()


async def test_a_big_login_body_is_refused_before_it_is_read(panel: Panel, db: asyncpg.Connection) -> None:
    await make_staff(db, "boss", Role.ADMIN)
    token = await csrf(panel.client)
    big = {"csrf_token": token, "username": "boss", "password": "x" * (2 * 1024 * 1024)}
    response = await panel.client.post("/panel/login", data=big, allow_redirects=False)
    assert response.status == 413 and "The request is too large." in await response.text()

    async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: the limit stops the reading
        yield f"csrf_token={token}&username=boss&password=".encode()
        for _ in range(64):
            yield b"x" * 65536

    response = await panel.client.post(
        "/panel/login",
        data=chunked(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        allow_redirects=False,
    )
    assert response.status == 413
    assert await db.fetchval("SELECT count(*) FROM staff_sessions") == 0  # nobody logged in


async def test_files_go_only_to_views_that_take_uploads_each_within_its_limit(
    panel: Panel, db: asyncpg.Connection
) -> None:
    await make_staff(db, "boss", Role.ADMIN)
    assert (await login(panel.client, "boss")).status == 303
    token = await csrf(panel.client, "/panel/support/kb")

    def form(name: str, data: bytes, filename: str) -> aiohttp.FormData:
        sent = aiohttp.FormData()
        sent.add_field("csrf_token", token)
        sent.add_field(name, data, filename=filename, content_type="application/octet-stream")
        return sent

    # a form that takes no file refuses one, saying so; nothing is saved
    before = await db.fetch("SELECT * FROM settings ORDER BY name")
    sent = form("section", b"languages", "a.txt")
    sent.add_field("languages", "uz")
    response = await panel.client.post("/panel/settings", data=sent)
    assert response.status == 400 and "This form does not take files." in await response.text()
    assert await db.fetch("SELECT * FROM settings ORDER BY name") == before
    # a file input left empty (a nameless, empty part, as browsers send it) is no file at all
    response = await panel.client.post("/panel/support/kb/import", data=form("file", b"", ""))
    assert response.status == 400 and "Choose a JSON or CSV file." in await response.text()
    # the import's file field takes a file over the 64 KiB of a form (read, then judged on content)
    response = await panel.client.post(
        "/panel/support/kb/import", data=form("file", b"x" * (1024 * 1024), "kb.json")
    )
    assert response.status == 400 and "The file is neither JSON nor CSV." in await response.text()
    # and stops at its own limit before reading
    response = await panel.client.post(
        "/panel/support/kb/import", data=form("file", b"x" * (6 * 1024 * 1024), "kb.json")
    )
    assert response.status == 413 and "The request is too large." in await response.text()
