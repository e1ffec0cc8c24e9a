"""Panel security: login, throttling, sessions, CSRF, roles on every route, secrets at rest."""

from __future__ import annotations

import argparse
import asyncio
import io
import re
import subprocess
from urllib.parse import urlsplit

import asyncpg
import pytest
from aiohttp import web

from app import crypto
from app.cli.admin import add_parsers, cli_create_admin, create_admin_command, login_link_command
from app.db.embedded import bin_dir
from app.domain import settings as settings_domain
from app.domain import staff as staff_domain
from app.domain import staff_tokens
from app.domain.chat import accounts
from app.domain.staff import Role
from app.web.api import operations
from app.web.panel import routes
from app.web.panel.auth.access import public, require
from tests.helpers.panel import (
    PASSWORD,
    SECRET_KEY,
    TOKEN_RE,
    Panel,
    audit_actions,
    build_panel,
    csrf,
    login,
    make_staff,
)

# Login, cookie, logout -------------------------------------------------------------------


async def test_login_sets_an_httponly_samesite_cookie_and_greets_by_name_and_role(
    panel: Panel, db: asyncpg.Connection
) -> None:
    await staff_domain.create_staff(db, "boss", PASSWORD, Role.ADMIN, display_name="Boss <b>")
    client = panel.client
    first = await client.get("/panel", allow_redirects=False)
    assert first.status == 302 and first.headers["Location"] == "/panel/login?next=/panel"

    response = await login(client, "boss", next_url="/panel")
    assert response.status == 303 and response.headers["Location"] == "/panel"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("bozor_session=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    home = await client.get("/panel")
    body = await home.text()
    assert home.status == 200
    assert "Welcome, Boss &lt;b&gt; (Administrator)" in body  # escaped, never raw HTML
    assert home.headers["X-Frame-Options"] == "DENY"
    assert "login" in await audit_actions(db)


async def test_the_cookie_is_secure_behind_an_https_public_url(
    aiohttp_client, make_config, database_url: str
) -> None:
    config = make_config(SECRET_KEY=SECRET_KEY, DEFAULT_LANGUAGE="en", PUBLIC_URL="https://bozor.example")
    async for built in build_panel(aiohttp_client, config, database_url):
        response = await built.client.get("/panel/login")
        cookie = response.headers["Set-Cookie"]
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


async def test_a_wrong_password_is_refused_and_the_sixth_try_is_throttled(
    panel: Panel, db: asyncpg.Connection
) -> None:
    await make_staff(db, "mod", Role.MODERATOR)
    for _ in range(5):
        response = await login(panel.client, "mod", "wrong password!")
        assert response.status == 401
        assert "Wrong username or password." in await response.text()
    response = await login(panel.client, "mod", PASSWORD)  # right, but too late
    assert response.status == 429
    assert "Too many failed attempts. Try again in 15 min." in await response.text()
    assert (await panel.client.get("/panel", allow_redirects=False)).status == 302
    assert (await audit_actions(db)).count("login.failed") == 5
    throttled = "SELECT sum(attempts) FROM auth_failures WHERE action = 'login.throttled'"
    assert await db.fetchval(throttled) == 1  # counted per hour and address, not in audit_log
    # Cool-down over (the failures left the window): the right password works again.
    await db.execute("UPDATE login_failures SET at = at - interval '16 minutes'")
    assert (await login(panel.client, "mod", PASSWORD)).status == 303


async def test_a_successful_login_resets_the_accounts_count_but_not_the_addresss(
    panel: Panel, db: asyncpg.Connection
) -> None:
    await make_staff(db, "oper", Role.OPERATOR)
    for _ in range(4):
        assert (await login(panel.client, "oper", "nope nope nope")).status == 401
    assert (await login(panel.client, "oper")).status == 303
    assert (
        await db.fetchval(
            "SELECT count(*) FROM login_failures WHERE username = 'oper' AND counts_for_account"
        )
        == 0
    )
    # A guessed account name counts too, and per address: 20 failures stop that address.
    for i in range(16):
        assert (await login(panel.client, f"ghost{i}", "x" * 12)).status == 401
    response = await login(panel.client, "oper")
    assert response.status == 429


async def test_behind_nginx_each_client_address_is_counted_on_its_own(
    panel: Panel, db: asyncpg.Connection
) -> None:
    await make_staff(db, "oper", Role.OPERATOR)
    token = await csrf(panel.client)

    async def attempt(address: str, username: str, password: str) -> int:
        response = await panel.client.post(
            "/panel/login",
            allow_redirects=False,
            data={"csrf_token": token, "username": username, "password": password},
            headers={"X-Forwarded-For": f"6.6.6.6, {address}"},
        )
        return response.status

    for i in range(20):
        assert await attempt("10.0.0.1", f"ghost{i}", "guess guess") == 401
    assert await attempt("10.0.0.1", "oper", PASSWORD) == 429
    assert await attempt("10.0.0.2", "oper", PASSWORD) == 303
    assert await staff_domain.prune_login_failures(db) == 0


async def test_logout_ends_the_session(panel: Panel, db: asyncpg.Connection) -> None:
    await make_staff(db, "oper", Role.OPERATOR)
    assert (await login(panel.client, "oper")).status == 303
    token = await csrf(panel.client, "/panel")
    response = await panel.client.post("/panel/logout", data={"csrf_token": token}, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/panel/login"
    again = await panel.client.get("/panel", allow_redirects=False)
    assert again.status == 302 and again.headers["Location"].startswith("/panel/login")
    assert (await audit_actions(db))[-1] == "logout"


async def test_a_cookie_copied_before_logout_no_longer_works_after_it(
    panel: Panel, db: asyncpg.Connection
) -> None:
    await make_staff(db, "oper", Role.OPERATOR)
    assert (await login(panel.client, "oper")).status == 303
    stolen = panel.client.session.cookie_jar.filter_cookies(panel.client.make_url("/"))
    copied = {name: morsel.value for name, morsel in stolen.items()}
    token = await csrf(panel.client, "/panel")
    await panel.client.post("/panel/logout", data={"csrf_token": token}, allow_redirects=False)
    panel.client.session.cookie_jar.clear()
    replay = await panel.client.get("/panel", cookies=copied, allow_redirects=False)
    assert replay.status == 302 and replay.headers["Location"].startswith("/panel/login")


async def test_login_never_redirects_to_another_site(panel: Panel, db: asyncpg.Connection) -> None:
    await make_staff(db, "oper", Role.OPERATOR)
    response = await login(panel.client, "oper", next_url="//evil.example/panel")
    assert response.headers["Location"] == "/panel"


# CSRF ---------------------------------------------------------------------------------------


async def test_a_post_without_the_csrf_token_is_refused_and_with_it_passes(
    panel: Panel, db: asyncpg.Connection
) -> None:
    await make_staff(db, "boss", Role.ADMIN)
    assert (await login(panel.client, "boss")).status == 303
    form = {"name": "bot_token", "value": "123:abc"}

    refused = await panel.client.post("/panel/settings/secrets", data=form, allow_redirects=False)
    assert refused.status == 403 and refused.content_type == "text/html"
    assert "This form has expired. Reload the page and try again." in await refused.text()
    wrong = await panel.client.post(
        "/panel/settings/secrets", data={**form, "csrf_token": "x" * 43}, allow_redirects=False
    )
    assert wrong.status == 403
    api = await panel.client.post(
        "/panel/settings/secrets",
        json={"name": "bot_token"},
        headers={"Accept": "application/json"},
        allow_redirects=False,
    )
    assert api.status == 403 and (await api.json())["status"] == 403
    assert not await staff_domain.secret_is_set(db, "bot_token")

    token = await csrf(panel.client, "/panel/settings/secrets")
    passed = await panel.client.post(
        "/panel/settings/secrets", data={**form, "csrf_token": token}, allow_redirects=False
    )
    assert passed.status == 303
    by_header = await panel.client.post(
        "/panel/settings/secrets", data=form, headers={"X-CSRF-Token": token}, allow_redirects=False
    )
    assert by_header.status == 303
    assert await staff_domain.secret_is_set(db, "bot_token")


async def test_even_the_login_form_needs_the_csrf_token(panel: Panel, db: asyncpg.Connection) -> None:
    await make_staff(db, "boss", Role.ADMIN)
    response = await panel.client.post(
        "/panel/login", data={"username": "boss", "password": PASSWORD}, allow_redirects=False
    )
    assert response.status == 403


# Roles: every registered route × every identity -------------------------------------------

IDENTITIES = ("anonymous", "operator", "moderator", "admin")
LOGIN = "login"
# What each current route answers; a route added later without a row here is checked
# against its own declaration (below), so the matrix always covers every route.
EXPECTED = {
    "panel.login": {"anonymous": 200, "operator": 200, "moderator": 200, "admin": 200},
    "panel.login_submit": {"anonymous": 401, "operator": 401, "moderator": 401, "admin": 401},
    "panel.login_once": {"anonymous": 410, "operator": 410, "moderator": 410, "admin": 410},
    "panel.login_once_submit": {"anonymous": 410, "operator": 410, "moderator": 410, "admin": 410},
    "panel.logout": {"anonymous": LOGIN, "operator": 303, "moderator": 303, "admin": 303},
    "panel.home": {"anonymous": LOGIN, "operator": 200, "moderator": 200, "admin": 200},
    "panel.secrets": {"anonymous": LOGIN, "operator": 403, "moderator": 403, "admin": 200},
    "panel.secrets_set": {"anonymous": LOGIN, "operator": 403, "moderator": 403, "admin": 400},
    # The support desk: operators (and admins) work on tickets; only admins manage the knowledge base.
    "panel.support": {"anonymous": LOGIN, "operator": 200, "moderator": 403, "admin": 200},
    "panel.support_ws": {"anonymous": LOGIN, "operator": 400, "moderator": 403, "admin": 400},
    "panel.support_ticket": {"anonymous": LOGIN, "operator": 404, "moderator": 403, "admin": 404},
    "panel.support_reply": {"anonymous": LOGIN, "operator": 404, "moderator": 403, "admin": 404},
    "panel.support_note": {"anonymous": LOGIN, "operator": 404, "moderator": 403, "admin": 404},
    "panel.support_assign": {"anonymous": LOGIN, "operator": 404, "moderator": 403, "admin": 404},
    "panel.support_close": {"anonymous": LOGIN, "operator": 404, "moderator": 403, "admin": 404},
    "panel.support_learn": {"anonymous": LOGIN, "operator": 404, "moderator": 403, "admin": 404},
    "panel.support_file": {"anonymous": LOGIN, "operator": 404, "moderator": 403, "admin": 404},
    "panel.support_canned": {"anonymous": LOGIN, "operator": 200, "moderator": 403, "admin": 200},
    "panel.support_canned_add": {"anonymous": LOGIN, "operator": 400, "moderator": 403, "admin": 400},
    "panel.support_canned_delete": {"anonymous": LOGIN, "operator": 303, "moderator": 403, "admin": 303},
    "panel.account_telegram": {"anonymous": LOGIN, "operator": 200, "moderator": 403, "admin": 200},
    "panel.support_kb": {"anonymous": LOGIN, "operator": 403, "moderator": 403, "admin": 200},
    "panel.support_kb_new": {"anonymous": LOGIN, "operator": 403, "moderator": 403, "admin": 200},
    "panel.support_kb_entry": {"anonymous": LOGIN, "operator": 403, "moderator": 403, "admin": 404},
    "panel.support_kb_save": {"anonymous": LOGIN, "operator": 403, "moderator": 403, "admin": 400},
    "panel.support_kb_toggle": {"anonymous": LOGIN, "operator": 403, "moderator": 403, "admin": 404},
    "panel.support_kb_json": {"anonymous": LOGIN, "operator": 403, "moderator": 403, "admin": 200},
    "panel.support_kb_csv": {"anonymous": LOGIN, "operator": 403, "moderator": 403, "admin": 200},
    "panel.support_kb_import": {"anonymous": LOGIN, "operator": 403, "moderator": 403, "admin": 400},
    "panel.support_settings": {"anonymous": LOGIN, "operator": 403, "moderator": 403, "admin": 200},
    "panel.support_settings_save": {"anonymous": LOGIN, "operator": 403, "moderator": 403, "admin": 400},
    # The bot's menu (S4): admins only; a change to a node that does not exist is a 400 in the form.
    "panel.menu": {"anonymous": LOGIN, "operator": 403, "moderator": 403, "admin": 200},
    "panel.menu_add": {"anonymous": LOGIN, "operator": 403, "moderator": 403, "admin": 400},
    "panel.menu_save": {"anonymous": LOGIN, "operator": 403, "moderator": 403, "admin": 400},
    "panel.menu_move": {"anonymous": LOGIN, "operator": 403, "moderator": 403, "admin": 400},
    "panel.menu_delete": {"anonymous": LOGIN, "operator": 403, "moderator": 403, "admin": 400},
    "panel.menu_reset": {"anonymous": LOGIN, "operator": 403, "moderator": 403, "admin": 303},
    # Everything on record (S5): for those who serve users, not for moderators.
    "panel.messages": {"anonymous": LOGIN, "operator": 200, "moderator": 403, "admin": 200},
}


def declared(route, identity: str) -> int | str:
    if route.access.public:
        return route.ok_status
    if identity == "anonymous":
        return LOGIN
    staff = staff_domain.Staff(0, identity, None, Role(identity), None)
    return route.ok_status if route.access.allows(staff) else 403


async def test_every_panel_route_answers_every_role_as_declared(panel: Panel, db: asyncpg.Connection) -> None:
    for role in ("operator", "moderator", "admin"):
        await make_staff(db, role, Role(role))
    registered = routes()
    assert set(EXPECTED) <= {r.name for r in registered}
    # Every /panel route the application serves is in the registry (nothing undeclared).
    served = {
        (r.method, r.resource.canonical)
        for r in panel.app.router.routes()
        if r.resource is not None and r.resource.canonical.startswith("/panel")
    }
    assert served == {(r.method, r.path) for r in registered}

    answers = {}
    for route in registered:
        for identity in IDENTITIES:
            client = panel.client
            client.session.cookie_jar.clear()
            if identity != "anonymous":
                assert (await login(client, identity)).status == 303
            token = await csrf(client)
            if route.method == "GET":
                response = await client.get(route.example, allow_redirects=False)
            else:
                response = await client.request(
                    route.method, route.example, allow_redirects=False, data={"csrf_token": token}
                )
            got: int | str = response.status
            if response.status == 302 and response.headers["Location"].startswith("/panel/login"):
                got = LOGIN
            answers[route.name, identity] = got
            if got == 403:
                assert "Your role does not give access to this page." in await response.text()
            want = EXPECTED.get(route.name, {}).get(identity, declared(route, identity))
            assert got == want, f"{route.method} {route.example} as {identity}: {got}, want {want}"
            assert declared(route, identity) == want, f"{route.name} declares other roles"
    assert len(answers) == len(registered) * len(IDENTITIES)


async def test_a_panel_route_without_an_access_rule_is_refused(
    aiohttp_client, make_config, database_url: str
) -> None:
    async def naked(request: web.Request) -> web.Response:
        return web.Response(text="secret stuff")

    def add(app: web.Application) -> None:
        app.router.add_get("/panel/naked", naked)

    config = make_config(SECRET_KEY=SECRET_KEY, DEFAULT_LANGUAGE="en")
    async for built in build_panel(aiohttp_client, config, database_url, add):
        response = await built.client.get("/panel/naked")
        assert response.status == 403 and "secret stuff" not in await response.text()


async def test_a_missing_page_is_a_panel_page_with_the_menu_and_the_security_headers(
    panel: Panel, db: asyncpg.Connection
) -> None:
    await make_staff(db, "boss", Role.ADMIN)
    await login(panel.client, "boss")
    for path, message in (
        ("/panel/ads/999999", "This ad does not exist."),
        ("/panel/no-such-screen", "This page does not exist."),
    ):
        response = await panel.client.get(path)
        html = await response.text()
        assert response.status == 404, path
        assert message in html and 'href="/panel/channels"' in html, path  # the menu is there
        assert response.headers["Cache-Control"] == "no-store"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    # A refused form is no exception: its page carries the same headers.
    response = await panel.client.post("/panel/settings", data={"section": "languages"})
    assert response.status == 403 and response.headers["X-Frame-Options"] == "DENY"


def test_the_registry_refuses_a_view_that_does_not_declare_its_access() -> None:
    from app.web.panel.auth.routes import PanelRoutes

    async def view(request: web.Request) -> web.Response:
        return web.Response()

    registry = PanelRoutes()
    with pytest.raises(TypeError):
        registry.get("/panel/x", name="x")(view)
    registry.get("/panel/y", name="y")(require(Role.OPERATOR)(view))
    registry.get("/panel/z", name="z")(public(view))
    assert [r.access.roles for r in registry.routes] == [(Role.OPERATOR,), ()]


async def test_a_moderator_moderates_only_the_channels_given(db: asyncpg.Connection) -> None:
    ids = [
        await db.fetchval("INSERT INTO channels (title, username) VALUES ($1, $1) RETURNING id", t)
        for t in ("Tashkent", "Samarkand")
    ]
    mod = await make_staff(db, "mod", Role.MODERATOR)
    admin = await make_staff(db, "boss", Role.ADMIN)
    op = await make_staff(db, "oper", Role.OPERATOR)
    await staff_domain.give_channel(db, mod.id, ids[0], by=admin.id)
    assert await staff_domain.can_moderate(db, mod, ids[0])
    assert not await staff_domain.can_moderate(db, mod, ids[1])
    assert await staff_domain.can_moderate(db, admin, ids[1])
    assert not await staff_domain.can_moderate(db, op, ids[0])


# One-time links and create-admin ------------------------------------------------------------


async def test_a_one_time_link_logs_in_once_and_fails_the_second_time(
    panel: Panel, db: asyncpg.Connection
) -> None:
    output = await create_admin_command(db, "root", None, one_time_link=True, base_url=panel.config.base_url)
    link = re.search(r"(http\S+/panel/login/once/\S+)", output).group(1)
    assert link.startswith(f"{panel.config.base_url}/panel/login/once/")
    path = urlsplit(link).path
    token = path.rsplit("/", 1)[1]
    stored = await db.fetchval("SELECT token_hash FROM staff_login_tokens")
    assert stored == crypto.token_hash(token) and token.encode() not in stored

    page = await panel.client.get(path)  # a link preview must not use it up
    assert page.status == 200
    form_token = TOKEN_RE.search(await page.text()).group(1)
    assert (await panel.client.get(path)).status == 200
    used = await panel.client.post(path, data={"csrf_token": form_token}, allow_redirects=False)
    assert used.status == 303 and used.headers["Location"] == "/panel"
    home = await panel.client.get("/panel")
    assert "Welcome, root (Administrator)" in await home.text()

    panel.client.session.cookie_jar.clear()
    again = await panel.client.get(path)
    assert again.status == 410
    assert "This login link has expired or was already used." in await again.text()
    form_token = await csrf(panel.client)
    replay = await panel.client.post(path, data={"csrf_token": form_token}, allow_redirects=False)
    assert replay.status == 410
    assert (await panel.client.get("/panel", allow_redirects=False)).status == 302
    # The account has no password: nothing logs in without a link.
    assert (await login(panel.client, "root", "")).status == 401


async def test_the_login_page_says_how_to_create_the_first_admin_until_one_exists(
    panel: Panel, db: asyncpg.Connection
) -> None:
    page = await (await panel.client.get("/panel/login", headers={"Accept-Language": "en"})).text()
    assert "There is no staff account yet" in page and "run.py create-admin admin" in page
    await staff_domain.create_admin(db, "root", PASSWORD)
    page = await (await panel.client.get("/panel/login")).text()
    assert "create-admin" not in page and 'name="password"' in page


async def test_an_expired_one_time_link_fails(panel: Panel, db: asyncpg.Connection) -> None:
    admin = await staff_domain.create_admin(db, "root", PASSWORD)
    link = await staff_domain.issue_login_link(db, admin.id, panel.config.base_url)
    await db.execute("UPDATE staff_login_tokens SET expires_at = now() - interval '1 second'")
    assert (await panel.client.get(urlsplit(link).path)).status == 410


def create_admin_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_parsers(parser.add_subparsers(dest="command"))
    return parser.parse_args(["create-admin", *argv])


def test_create_admin_refuses_without_a_terminal(capsys) -> None:
    code = cli_create_admin(create_admin_args("root"), stdin=io.StringIO("hunter2hunter2\n"))
    assert code == 2
    err = capsys.readouterr().err
    assert "terminal" in err and "--one-time-link" in err


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_create_admin_on_a_terminal_asks_the_password_twice(
    make_config, database_url: str, monkeypatch, capsys
) -> None:
    config = make_config(SECRET_KEY=SECRET_KEY, DEFAULT_LANGUAGE="en")
    typed = iter(["first password!", "other password!", PASSWORD, PASSWORD])
    monkeypatch.setattr("getpass.getpass", lambda prompt="", stream=None: next(typed))
    assert cli_create_admin(create_admin_args("root"), config, stdin=Terminal()) == 2
    assert "the passwords differ" in capsys.readouterr().err
    assert cli_create_admin(create_admin_args("root"), config, stdin=Terminal()) == 0
    assert "admin #1 root created" in capsys.readouterr().out

    async def stored() -> str:
        conn = await asyncpg.connect(database_url)
        try:
            return await conn.fetchval("SELECT password_hash FROM staff WHERE username = 'root'")
        finally:
            await conn.close()

    assert crypto.verify_password(PASSWORD, asyncio.run(stored()))


def test_create_admin_refuses_an_existing_name_before_asking_the_password(
    make_config, database_url: str, monkeypatch, capsys
) -> None:
    config = make_config(SECRET_KEY=SECRET_KEY, DEFAULT_LANGUAGE="en")
    prompts: list[str] = []

    def getpass(prompt: str = "", stream: object = None) -> str:
        prompts.append(prompt)
        return PASSWORD

    monkeypatch.setattr("getpass.getpass", getpass)
    assert cli_create_admin(create_admin_args("root"), config, stdin=Terminal()) == 0
    assert len(prompts) == 2
    capsys.readouterr()
    assert cli_create_admin(create_admin_args("Root"), config, stdin=Terminal()) == 2
    err = capsys.readouterr().err
    assert "'Root' already exists" in err and "run.py login-link Root" in err
    assert len(prompts) == 2, "the password was asked for a name that is taken"


def test_create_admin_without_a_terminal_prints_a_one_time_link(make_config, capsys) -> None:
    config = make_config(SECRET_KEY=SECRET_KEY, DEFAULT_LANGUAGE="en", PUBLIC_URL="https://bozor.example")
    args = create_admin_args("root", "--one-time-link")
    assert cli_create_admin(args, config, stdin=io.StringIO()) == 0
    out = capsys.readouterr().out
    assert re.search(r"log in once, within an hour, at: https://bozor\.example/panel/login/once/\S{40,}", out)


def test_create_admin_refuses_a_bad_username(capsys) -> None:
    assert cli_create_admin(create_admin_args("a b", "--one-time-link")) == 2
    assert "username" in capsys.readouterr().err


async def test_create_admin_refuses_an_existing_name_and_keeps_passwords_hashed(
    db: asyncpg.Connection,
) -> None:
    out = await create_admin_command(db, "root", PASSWORD, one_time_link=False, base_url="http://x")
    assert "created" in out
    stored = await db.fetchval("SELECT password_hash FROM staff WHERE username = 'root'")
    assert stored.startswith("scrypt$16384$8$1$") and PASSWORD not in stored
    with pytest.raises(staff_domain.StaffError, match=r"already exists.*run\.py login-link ROOT"):
        await create_admin_command(db, "ROOT", PASSWORD, one_time_link=False, base_url="http://x")
    # Not even with --one-time-link does it quietly issue a link for someone else's account.
    with pytest.raises(staff_domain.StaffError, match="already exists"):
        await create_admin_command(db, "root", None, one_time_link=True, base_url="http://x")
    assert await db.fetchval("SELECT count(*) FROM staff_login_tokens") == 0
    # A forgotten password: `login-link` prints a one-time link for the existing account.
    out = await login_link_command(db, "root", "http://x")
    assert "root (admin) can log in once" in out and "http://x/panel/login/once/" in out
    with pytest.raises(staff_domain.StaffError, match="no active staff account named 'nobody'"):
        await login_link_command(db, "nobody", "http://x")


def test_links_point_at_the_running_server_not_the_commands_defaults(
    make_config, capsys, database_url: str
) -> None:
    """The server started with PORT=9123 records its address; create-admin run without it
    (defaults: :8080) prints a link to the server that runs."""

    async def remember() -> None:
        conn = await asyncpg.connect(database_url)
        try:
            await settings_domain.remember_server_url(conn, "http://127.0.0.1:9123")
        finally:
            await conn.close()

    asyncio.run(remember())
    config = make_config(SECRET_KEY=SECRET_KEY, DEFAULT_LANGUAGE="en")
    assert cli_create_admin(create_admin_args("root", "--one-time-link"), config, stdin=io.StringIO()) == 0
    out = capsys.readouterr().out
    assert "http://127.0.0.1:9123/panel/login/once/" in out
    args = create_admin_args("root", "--one-time-link")
    assert cli_create_admin(args, config, stdin=io.StringIO()) == 2
    assert "already exists" in capsys.readouterr().err


def test_password_hashes_are_salted_slow_and_carry_their_parameters() -> None:
    one, two = crypto.hash_password(PASSWORD), crypto.hash_password(PASSWORD)
    assert one != two
    assert crypto.verify_password(PASSWORD, one) and not crypto.verify_password("nope", one)
    assert not crypto.verify_password(PASSWORD, "garbage") and not crypto.verify_password(PASSWORD, None)
    weak = crypto.hash_password(PASSWORD, n=2**10)
    assert crypto.verify_password(PASSWORD, weak) and crypto.needs_rehash(weak)
    assert not crypto.needs_rehash(one)
    assert crypto.derive_key(SECRET_KEY, crypto.SESSION_INFO) != crypto.derive_key(
        SECRET_KEY, crypto.SECRETS_INFO
    )


# Secrets at rest ----------------------------------------------------------------------------


def pg_dump(database_url: str) -> str:
    result = subprocess.run(
        [str(bin_dir() / "pg_dump"), "--data-only", "--no-owner", database_url],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return result.stdout


async def test_secrets_are_encrypted_at_rest_and_never_shown(
    panel: Panel, db: asyncpg.Connection, database_url: str
) -> None:
    secret = "7777777777:AAFsecretTokenNobodyMaySee_xyz123456"
    await make_staff(db, "boss", Role.ADMIN)
    assert (await login(panel.client, "boss")).status == 303
    token = await csrf(panel.client, "/panel/settings/secrets")
    saved = await panel.client.post(
        "/panel/settings/secrets",
        allow_redirects=False,
        data={"csrf_token": token, "name": "bot_token", "value": secret},
    )
    assert saved.status == 303
    admin = await staff_domain.find_staff(db, "boss")
    await staff_domain.set_secret(db, "llm_api_key", "sk-llm-also-secret-42", admin.id, secret_key=SECRET_KEY)

    dump = await asyncio.to_thread(pg_dump, database_url)
    assert "settings_secrets" in dump and "bot_token" in dump
    assert secret not in dump and "sk-llm-also-secret-42" not in dump
    ciphertext = await db.fetchval("SELECT ciphertext FROM settings_secrets WHERE name = 'bot_token'")
    assert crypto.decrypt_secret(SECRET_KEY, ciphertext) == secret
    assert await staff_domain.get_secret(db, "bot_token", secret_key=SECRET_KEY) == secret
    with pytest.raises(crypto.SecretError):
        crypto.decrypt_secret("another-secret-key-entirely-000", ciphertext)

    page = await panel.client.get("/panel/settings/secrets")
    body = await page.text()
    assert page.status == 200 and secret not in body and "sk-llm" not in body
    assert "Payment provider token" not in body  # nothing uses it (Stars need no provider)
    # The LLM key exists now that operators' drafts use it; set in this test, shown only as "set".
    assert re.search(r"LLM API key</th>\s*<td><span class=\"badge text-bg-success\">set<", body)
    assert re.search(r"Telegram bot token</th>\s*<td><span class=\"badge text-bg-success\">set<", body)
    assert re.search(r"S3 secret key</th>\s*<td><span class=\"badge text-bg-secondary\">not set<", body)
    audit = await db.fetch("SELECT before, after FROM audit_log WHERE action = 'secret.set'")
    assert [(r["before"], r["after"]) for r in audit] == [
        ({"set": False}, {"set": True}),
        ({"set": False}, {"set": True}),
    ]


async def test_a_new_one_time_link_ends_the_older_ones(panel: Panel, db: asyncpg.Connection) -> None:
    admin = await staff_domain.create_admin(db, "root", PASSWORD)
    older = await staff_domain.issue_login_link(db, admin.id, panel.config.base_url)
    newer = await staff_domain.issue_login_link(db, admin.id, panel.config.base_url)
    assert (await panel.client.get(urlsplit(older).path)).status == 410
    token = await csrf(panel.client)
    used = await panel.client.post(urlsplit(older).path, data={"csrf_token": token}, allow_redirects=False)
    assert used.status == 410
    assert (await panel.client.get(urlsplit(newer).path)).status == 200  # the newest one works


async def test_parallel_wrong_passwords_check_at_most_the_limit(panel: Panel, db: asyncpg.Connection) -> None:
    await make_staff(db, "mod", Role.MODERATOR)
    token = await csrf(panel.client)

    async def attempt() -> int:
        response = await panel.client.post(
            "/panel/login",
            allow_redirects=False,
            data={"csrf_token": token, "username": "mod", "password": "wrong password!"},
        )
        return response.status

    statuses = await asyncio.gather(*(attempt() for _ in range(30)))
    assert statuses.count(401) == 5 and statuses.count(429) == 25  # 5 password checks, no more
    assert (await audit_actions(db)).count("login.failed") == 5


async def test_a_stranger_cannot_lock_the_owner_out_from_their_usual_address(
    panel: Panel, db: asyncpg.Connection
) -> None:
    await make_staff(db, "mod", Role.MODERATOR)
    token = await csrf(panel.client)

    async def attempt(address: str, password: str) -> int:
        response = await panel.client.post(
            "/panel/login",
            allow_redirects=False,
            data={"csrf_token": token, "username": "mod", "password": password},
            headers={"X-Forwarded-For": address},
        )
        return response.status

    for _ in range(6):
        await attempt("6.6.6.6", "guessing guess")
    assert await attempt("6.6.6.6", PASSWORD) == 429  # the stranger's address is throttled
    assert await attempt("10.0.0.7", PASSWORD) == 303  # the owner, elsewhere, logs in


async def test_anonymous_failures_do_not_grow_the_audit_log(panel: Panel, db: asyncpg.Connection) -> None:
    before = await db.fetchval("SELECT count(*) FROM audit_log")
    for i in range(40):
        await login(panel.client, f"nobody{i}", "wrong wrong wrong")
    await panel.client.post("/panel/login/once/not-a-token", data={"csrf_token": await csrf(panel.client)})
    assert await db.fetchval("SELECT count(*) FROM audit_log") == before
    rows = await db.fetch("SELECT action, attempts FROM auth_failures ORDER BY action")
    assert [(r["action"], r["attempts"]) for r in rows] == [
        ("login.failed", 20),
        ("login.throttled", 20),  # the address's limit of 20 reached: the rest only counted
        ("login_link.failed", 1),
    ]


# The staff API: every /api/v1/staff operation × every identity ------------------------------

# Each staff operation has the panel screen whose roles it shares, exactly.
PANEL_TWIN = {
    "api.staff_me": "panel.account",
    "api.staff_ads": "panel.ads",
    "api.staff_ad": "panel.ad",
    "api.staff_ad_approve": "panel.moderation_approve",
    "api.staff_ad_reject": "panel.moderation_reject",
    "api.staff_users": "panel.users",
    "api.staff_user": "panel.user",
    "api.staff_channels": "panel.channels",
    "api.staff_broadcast_create": "panel.broadcast_compose",
    "api.staff_broadcast": "panel.broadcast",
    "api.staff_broadcast_start": "panel.broadcast_action",
    "api.staff_broadcast_pause": "panel.broadcast_action",
    "api.staff_broadcast_resume": "panel.broadcast_action",
    "api.staff_statistics": "panel.home",
}
# What an allowed call without a body answers (ids 0 name nothing; a draft needs its texts).
API_ALLOWED = {"api.staff_me": 200, "api.staff_ads": 200, "api.staff_users": 200, "api.staff_channels": 200}
API_ALLOWED |= {"api.staff_statistics": 200, "api.staff_broadcast_create": 422}


async def test_every_staff_api_operation_answers_every_role_as_the_panel_does(
    panel: Panel, db: asyncpg.Connection
) -> None:
    tokens = {}
    for role in ("operator", "moderator", "admin"):
        member = await make_staff(db, role, Role(role))
        tokens[role] = (await staff_tokens.create_token(db, member, "matrix"))[1]
    chat = await accounts.register(db, "kamola", PASSWORD, PASSWORD, "Kamola", None)
    tokens["web chat token"] = (await accounts.create_api_token(db, chat.id, "matrix"))[1]
    tokens["anonymous"] = ""
    staff_ops = [op for op in operations() if op.staff]
    served = {
        (r.method, r.resource.canonical)
        for r in panel.app.router.routes()
        if r.resource is not None and r.resource.canonical.startswith("/api/v1/staff")
    }
    assert served == {(op.method, op.path) for op in staff_ops} and set(PANEL_TWIN) == {
        op.name for op in staff_ops
    }
    panel_access = {r.name: r.access for r in routes()}

    answers = {}
    for op in staff_ops:
        assert op.roles is not None and panel_access[PANEL_TWIN[op.name]].roles == op.roles, op.name
        example = op.path.replace("{id}", "0")
        for identity, token in tokens.items():
            panel.client.session.cookie_jar.clear()
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            response = await panel.client.request(op.method, example, headers=headers)
            body = await response.json()
            if identity in ("anonymous", "web chat token"):
                want = 401
            elif op.allows(staff_domain.Staff(0, identity, None, Role(identity), None)):
                want = API_ALLOWED.get(op.name, 404)
            else:
                want = 403
            assert response.status == want, f"{op.method} {example} as {identity}: {response.status} {body}"
            assert set(body) == {"error"} if want >= 400 else "error" not in body
            answers[op.name, identity] = response.status
    assert len(answers) == len(staff_ops) * 5
    assert answers["api.staff_broadcast_start", "moderator"] == 403  # a moderator's token cannot start one
