"""The panel's admin screens: staff invites and changes, secrets never shown back, the audit log."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import asyncpg
import pytest
from aiobotocore.session import get_session
from aiohttp.test_utils import TestClient

from app.domain import staff as staff_domain
from app.domain.staff import Role
from app.web.panel import routes
from tests.helpers.ads import connected_channel, pending_ad
from tests.helpers.panel import PASSWORD, SECRET_KEY, Panel, csrf, login, make_staff

LINK_RE = re.compile(r'readonly value="([^"]+)" id="login-link"')
ROW_RE = re.compile(r'<tr class="audit-row">(.*?)</tr>', re.S)
CELL_RE = re.compile(r"<td[^>]*>(.*?)</td>", re.S)
BOT_TOKEN = "7777777777:AAFbotTokenNobodyMaySee_q1w2e3r4t5"
S3_SECRET = "s3SecretKeyNobodyMaySee/9z8y7x6w5v"
S3_ACCESS = "AKIAACCESSKEYNOBODYSEES"
BUCKETS = iter(range(1, 10_000))


@pytest.fixture
async def bucket(s3_endpoint: str) -> str:
    """An existing bucket on the moto server (moto takes any keys)."""
    name = f"bozor-admin-{next(BUCKETS)}"
    async with get_session().create_client(
        "s3",
        region_name="us-east-1",
        endpoint_url=s3_endpoint,
        aws_access_key_id=S3_ACCESS,
        aws_secret_access_key=S3_SECRET,
    ) as client:
        await client.create_bucket(Bucket=name)
    return name


@pytest.fixture
async def boss(panel: Panel, db: asyncpg.Connection) -> staff_domain.Staff:
    """An administrator logged in on panel.client."""
    admin = await make_staff(db, "boss", Role.ADMIN)
    assert (await login(panel.client, "boss")).status == 303
    return admin


@asynccontextmanager
async def browser(panel: Panel) -> AsyncIterator[TestClient]:
    """Another person's browser on the same server: its own cookie jar, nothing shared."""
    other = TestClient(panel.client.server)
    try:
        yield other
    finally:
        await other.session.close()


def text_of(page: str) -> str:
    """What a reader sees: tags dropped, entities decoded, whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


async def get(client: TestClient, path: str) -> tuple[int, str]:
    response = await client.get(path, allow_redirects=False)
    return response.status, await response.text()


async def post_form(
    client: TestClient, path: str, data: dict | list, *, form_page: str
) -> tuple[int, str, str]:
    """Submit a form like a browser: the CSRF token from the page that shows it."""
    token = await csrf(client, form_page)
    fields = list(data.items()) if isinstance(data, dict) else list(data)
    response = await client.post(path, data=[("csrf_token", token), *fields], allow_redirects=False)
    return response.status, await response.text(), response.headers.get("Location", "")


async def invite(client: TestClient, **fields: str | list[str]) -> tuple[int, str]:
    form = {"username": "", "role": "moderator", "display_name": "", "telegram_user_id": ""}
    form.update({k: v for k, v in fields.items() if k != "channel_id"})
    pairs = list(form.items()) + [("channel_id", c) for c in fields.get("channel_id", [])]
    status, body, _location = await post_form(client, "/panel/staff/invite", pairs, form_page="/panel/staff")
    return status, body


async def change(client: TestClient, staff_id: int, action: str, role: str = "") -> tuple[int, str, str]:
    data = {"action": action} | ({"role": role} if role else {})
    return await post_form(client, f"/panel/staff/{staff_id}", data, form_page="/panel/staff")


async def bounced(client: TestClient, path: str) -> bool:
    """The request was sent to the login page (the session no longer counts)."""
    response = await client.get(path, allow_redirects=False)
    return response.status == 302 and response.headers["Location"].startswith("/panel/login")


def member_row(page: str, username: str) -> str:
    """The text of a staff table row, from its username on."""
    match = re.search(rf"<tr><td[^>]*>{re.escape(username)}</td>(.*?)</tr>", page, re.S)
    assert match, f"no row for {username}"
    return text_of(f"{username} {match.group(1)}")


async def staff_count(db: asyncpg.Connection) -> int:
    return await db.fetchval("SELECT count(*) FROM staff")


# 1. Inviting: a one-time link that logs the new person in once, with their role and channels ---


async def test_an_invited_moderator_logs_in_once_by_link_and_sees_only_their_channel(
    panel: Panel, db: asyncpg.Connection, boss: staff_domain.Staff
) -> None:
    mine, other = await connected_channel(db, "Mine", -1001), await connected_channel(db, "Other", -1002)
    await pending_ad(db, mine, "Velosiped Stels")
    await pending_ad(db, other, "Secret sofa")

    status, page = await invite(
        panel.client, username="newmod", role="moderator", display_name="Nodira", channel_id=[str(mine)]
    )
    assert status == 200, text_of(page)
    assert "Account created. Send this one-time login link" in text_of(page)
    link = LINK_RE.search(page).group(1)
    assert link.startswith(f"{panel.config.base_url}/panel/login/once/")
    row = await db.fetchrow("SELECT id, role, active, password_hash FROM staff WHERE username = 'newmod'")
    assert (row["role"], row["active"], row["password_hash"]) == ("moderator", True, None)
    assert await db.fetchval(
        "SELECT array_agg(channel_id) FROM staff_channels WHERE staff_id = $1", row["id"]
    ) == [mine]
    assert (
        await db.fetchval(
            "SELECT staff_id FROM audit_log WHERE action = 'staff.create' AND target = $1",
            f"staff:{row['id']}",
        )
        == boss.id
    )
    # Shown once: reloading the staff screen does not show the link again.
    assert link not in (await get(panel.client, "/panel/staff"))[1]

    path = urlsplit(link).path
    async with browser(panel) as newcomer:
        status, page = await get(newcomer, path)  # opening the link only shows a button
        assert status == 200 and "This link logs you in once." in text_of(page)
        status, _body, location = await post_form(newcomer, path, {}, form_page=path)
        assert (status, location) == (303, "/panel")
        assert "Welcome, Nodira (Moderator)" in text_of((await get(newcomer, "/panel"))[1])
        status, queue = await get(newcomer, "/panel/moderation")
        assert status == 200 and "Velosiped Stels" in queue and "Secret sofa" not in queue
        status, page = await get(newcomer, "/panel/settings")
        assert status == 403 and "Your role does not give access to this page." in page
        # A moderator cannot invite anyone either.
        response = await newcomer.post(
            "/panel/staff/invite",
            allow_redirects=False,
            data={"csrf_token": await csrf(newcomer, "/panel"), "username": "sneaky", "role": "admin"},
        )
        assert response.status == 403
    assert await db.fetchval("SELECT count(*) FROM staff WHERE username = 'sneaky'") == 0

    async with browser(panel) as latecomer:
        status, page = await get(latecomer, path)
        assert status == 410 and "This login link has expired or was already used." in page
        status, page, _location = await post_form(latecomer, path, {}, form_page="/panel/login")
        assert status == 410 and "This login link has expired or was already used." in page
        status, _page = await get(latecomer, "/panel/moderation")
        assert status == 302


# 2. Deactivating ends the session at once; reactivating lets them back in -------------------


async def test_deactivating_a_moderator_ends_their_session_and_their_password_login(
    panel: Panel, db: asyncpg.Connection, boss: staff_domain.Staff
) -> None:
    mod = await make_staff(db, "mod", Role.MODERATOR)
    unused_link = urlsplit(await staff_domain.issue_login_link(db, mod.id, panel.config.base_url)).path
    async with browser(panel) as moderator:
        assert (await login(moderator, "mod")).status == 303
        assert (await get(moderator, "/panel/moderation"))[0] == 200

        status, _page, location = await change(panel.client, mod.id, "deactivate")
        assert (status, location) == (303, "/panel/staff")
        assert member_row((await get(panel.client, "/panel/staff"))[1], "mod").endswith(
            "deactivated Reactivate"
        )
        assert await db.fetchval("SELECT active FROM staff WHERE id = $1", mod.id) is False
        assert (
            await db.fetchval(
                "SELECT count(*) FROM staff_sessions WHERE staff_id = $1 AND revoked_at IS NULL", mod.id
            )
            == 0
        )
        entry = await db.fetchrow(
            "SELECT staff_id, target, before, after FROM audit_log WHERE action = 'staff.deactivate'"
        )
        assert (entry["staff_id"], entry["target"]) == (boss.id, f"staff:{mod.id}")
        assert entry["before"]["active"] is True and entry["after"]["active"] is False

        assert await bounced(moderator, "/panel/moderation")
        refused = await login(moderator, "mod")
        assert refused.status == 401 and "Wrong username or password." in await refused.text()
        assert (await get(moderator, unused_link))[0] == 410  # a link issued before does not work

        status, _page, _location = await change(panel.client, mod.id, "reactivate")
        assert status == 303
        assert member_row((await get(panel.client, "/panel/staff"))[1], "mod").endswith(
            "active New login link Deactivate"
        )
        assert (await login(moderator, "mod")).status == 303
        assert (await get(moderator, "/panel/moderation"))[0] == 200


async def test_an_admin_cannot_deactivate_themselves_nor_drop_the_last_admin(
    panel: Panel, db: asyncpg.Connection, boss: staff_domain.Staff
) -> None:
    status, page, _location = await change(panel.client, boss.id, "deactivate")
    assert status == 400
    assert "This is the last active administrator; make someone else an administrator first." in page
    status, page, _location = await change(panel.client, boss.id, "role", "moderator")
    assert status == 400 and "This is the last active administrator" in page
    await make_staff(db, "chief", Role.ADMIN)
    status, page, _location = await change(panel.client, boss.id, "deactivate")
    assert status == 400 and "You cannot deactivate yourself." in page
    assert await db.fetchrow("SELECT role, active FROM staff WHERE id = $1", boss.id) == ("admin", True)
    assert (await get(panel.client, "/panel/settings"))[0] == 200  # still an admin, still logged in


async def test_a_new_login_link_lets_a_passwordless_member_back_in(
    panel: Panel, db: asyncpg.Connection, boss: staff_domain.Staff
) -> None:
    status, page = await invite(panel.client, username="newmod", display_name="Nodira")
    assert status == 200
    member = await staff_domain.find_staff(db, "newmod")
    first = urlsplit(LINK_RE.search(page).group(1)).path
    async with browser(panel) as person:
        await post_form(person, first, {}, form_page=first)
        assert (await get(person, "/panel/moderation"))[0] == 200
        await staff_domain.revoke_sessions(db, member.id)  # the session ended (12 hours later)
        assert await bounced(person, "/panel/moderation")
        assert (await login(person, "newmod", "")).status == 401  # no password to log in with

        status, page, _location = await change(panel.client, member.id, "link")
        assert status == 200
        assert "New one-time login link for newmod (valid for one hour, shown only now):" in text_of(page)
        second = urlsplit(LINK_RE.search(page).group(1)).path
        assert second != first
        status, _page, location = await post_form(person, second, {}, form_page=second)
        assert (status, location) == (303, "/panel")
        assert (await get(person, "/panel/moderation"))[0] == 200
    issued_by = await db.fetch(
        "SELECT staff_id FROM audit_log WHERE action = 'login_link.issue' AND target = $1",
        f"staff:{member.id}",
    )
    assert [r["staff_id"] for r in issued_by] == [boss.id, boss.id]  # the invite, then this one

    await change(panel.client, member.id, "deactivate")
    tokens = await db.fetchval("SELECT count(*) FROM staff_login_tokens")
    status, page, _location = await change(panel.client, member.id, "link")
    assert status == 400 and "Reactivate this account first." in page
    assert LINK_RE.search(page) is None
    assert await db.fetchval("SELECT count(*) FROM staff_login_tokens") == tokens


# 3. Changing a role takes effect at once ---------------------------------------------------


async def test_a_role_change_ends_the_old_session_and_the_new_role_counts_at_next_login(
    panel: Panel, db: asyncpg.Connection, boss: staff_domain.Staff
) -> None:
    mod = await make_staff(db, "mod", Role.MODERATOR)
    async with browser(panel) as person:
        assert (await login(person, "mod")).status == 303
        assert (await get(person, "/panel/moderation"))[0] == 200

        status, _page, location = await change(panel.client, mod.id, "role", "operator")
        assert (status, location) == (303, "/panel/staff")
        assert await db.fetchval("SELECT role FROM staff WHERE id = $1", mod.id) == "operator"
        entry = await db.fetchrow("SELECT before, after FROM audit_log WHERE action = 'staff.role'")
        assert (entry["before"]["role"], entry["after"]["role"]) == ("moderator", "operator")
        # The old session (with the moderator's rights) stops at once.
        assert await bounced(person, "/panel/moderation")

        assert (await login(person, "mod")).status == 303
        assert "Welcome, mod (Operator)" in text_of((await get(person, "/panel"))[1])
        assert (await get(person, "/panel/moderation"))[0] == 403
        assert (await get(person, "/panel/users"))[0] == 200

        await change(panel.client, mod.id, "role", "admin")
        assert await bounced(person, "/panel/users")
        assert (await login(person, "mod")).status == 303
        assert (await get(person, "/panel/settings"))[0] == 200


async def test_an_unknown_role_or_action_changes_nothing(
    panel: Panel, db: asyncpg.Connection, boss: staff_domain.Staff
) -> None:
    mod = await make_staff(db, "mod", Role.MODERATOR)
    for data in ({"action": "role", "role": "superuser"}, {"action": "delete"}, {}):
        status, page, _location = await post_form(
            panel.client, f"/panel/staff/{mod.id}", data, form_page="/panel/staff"
        )
        assert status == 400 and "Choose what to change." in page, data
    assert await db.fetchrow("SELECT role, active FROM staff WHERE id = $1", mod.id) == ("moderator", True)
    for path in (
        "/panel/staff/999999",
        "/panel/staff/abc",
        "/panel/staff/%C2%B2",
        "/panel/staff/99999999999999999999999",
    ):
        status, page, _location = await post_form(
            panel.client, path, {"action": "deactivate"}, form_page="/panel/staff"
        )
        assert status == 404, path
    assert not await db.fetchval(
        "SELECT count(*) FROM audit_log WHERE action LIKE 'staff.%' AND action <> 'staff.create'"
    )


# 4. Secrets are never shown back -------------------------------------------------------------


async def test_saved_secrets_show_only_as_set_on_every_page_and_never_in_the_audit_log(
    panel: Panel, db: asyncpg.Connection, boss: staff_domain.Staff, s3_endpoint: str, bucket: str
) -> None:
    channel = await connected_channel(db, "Mine", -1001)
    settings = text_of((await get(panel.client, "/panel/settings"))[1])
    assert "Telegram bot not set" in settings and "Secret key not set" in settings

    status, _page, location = await post_form(
        panel.client,
        "/panel/settings",
        {"section": "bot", "bot_token": BOT_TOKEN},
        form_page="/panel/settings",
    )
    assert status == 303 and location.startswith("/panel/settings")
    status, _page, _location = await post_form(
        panel.client,
        "/panel/settings",
        {
            "section": "s3",
            "s3_endpoint": s3_endpoint,
            "s3_bucket": bucket,
            "s3_region": "us-east-1",
            "s3_access_key": S3_ACCESS,
            "s3_secret_key": S3_SECRET,
        },
        form_page="/panel/settings",
    )
    assert status == 303, text_of(_page)[:500]
    assert await staff_domain.get_secret(db, "bot_token", secret_key=SECRET_KEY) == BOT_TOKEN
    assert await staff_domain.get_secret(db, "s3_secret_key", secret_key=SECRET_KEY) == S3_SECRET

    status, page = await get(panel.client, "/panel/settings")
    settings = text_of(page)
    assert status == 200 and "Telegram bot set" in settings and "Secret key set" in settings
    assert s3_endpoint in page and bucket in page  # plain settings do show

    # A form refused for another field does not echo the secret typed into it either.
    status, page, _location = await post_form(
        panel.client,
        "/panel/settings",
        {"section": "bot", "bot_token": "no-colon-" + S3_SECRET},
        form_page="/panel/settings",
    )
    assert status == 400 and "A bot token looks like" in page and S3_SECRET not in page

    pages = {
        route.example
        for route in routes()
        if route.method == "GET"
        and not route.access.public
        and "{" not in route.example
        and route.name != "panel.moderation_ws"
    }
    pages |= {
        "/panel/settings?saved=s3",
        "/panel/settings/secrets",
        "/panel/staff",
        f"/panel/channels/{channel}",
        "/panel/audit?action=secret",
        "/panel/audit?action=settings",
    }
    seen = 0
    for path in sorted(pages):
        status, page = await get(panel.client, path)
        assert status < 500, path
        for secret in (BOT_TOKEN, S3_SECRET, S3_ACCESS, BOT_TOKEN.split(":")[1]):
            assert secret not in page, f"{path} shows a secret"
        seen += status == 200
    assert seen >= 10

    status, page = await get(panel.client, "/panel/audit")
    assert status == 200 and "secret.set" in page and "secret:bot_token" in page
    dumped = await db.fetchval("SELECT string_agg(a::text, E'\\n') FROM audit_log a")
    plain = await db.fetchval("SELECT string_agg(s::text, E'\\n') FROM settings s")
    for secret in (BOT_TOKEN, S3_SECRET, S3_ACCESS, BOT_TOKEN.split(":")[1]):
        assert secret not in dumped and secret not in plain
    assert "secret:s3_secret_key" in dumped and "settings.s3" in dumped


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"s3_bucket": "B" * 70}, "A bucket name has 3 to 63"),
        ({"s3_bucket": "no-such-bucket-here"}, "There is no bucket “no-such-bucket-here” there."),
        ({"s3_access_key": ""}, "Give both the access key and the secret key."),
    ],
)
async def test_a_refused_s3_form_saves_nothing_and_does_not_echo_the_keys(
    panel: Panel,
    db: asyncpg.Connection,
    boss: staff_domain.Staff,
    s3_endpoint: str,
    bucket: str,
    fields: dict,
    message: str,
) -> None:
    form = {
        "section": "s3",
        "s3_endpoint": s3_endpoint,
        "s3_bucket": bucket,
        "s3_region": "",
        "s3_access_key": S3_ACCESS,
        "s3_secret_key": S3_SECRET,
    } | fields
    status, page, _location = await post_form(
        panel.client, "/panel/settings", form, form_page="/panel/settings"
    )
    assert status == 400 and message in text_of(page), text_of(page)[:500]
    assert S3_SECRET not in page and S3_ACCESS not in page
    assert not await staff_domain.secret_is_set(db, "s3_secret_key")
    assert not await staff_domain.secret_is_set(db, "s3_access_key")
    assert await db.fetchval("SELECT count(*) FROM settings") == 0
    assert (
        await db.fetchval(
            "SELECT count(*) FROM audit_log WHERE action LIKE 'settings.%' OR action = 'secret.set'"
        )
        == 0
    )


# 5. The audit log: filters by staff, action and dates; bad filters are a clear 400 ------------


def audit_rows(page: str) -> list[list[str]]:
    """The table's rows as [when, who, action, target, before, after] texts."""
    return [[text_of(cell) for cell in CELL_RE.findall(row)] for row in ROW_RE.findall(page)]


async def listed(client: TestClient, query: str) -> list[list[str]]:
    status, page = await get(client, "/panel/audit?" + query)
    assert status == 200, (query, text_of(page))
    return audit_rows(page)


async def test_the_audit_log_filters_by_staff_action_and_dates(
    panel: Panel, db: asyncpg.Connection, boss: staff_domain.Staff
) -> None:
    chief = await make_staff(db, "chief", Role.ADMIN)
    channel = await connected_channel(db, "Mine", -1001)
    status, _page = await invite(panel.client, username="newmod", channel_id=[str(channel)])
    assert status == 200
    newmod = await staff_domain.find_staff(db, "newmod")
    await change(panel.client, newmod.id, "deactivate")
    async with browser(panel) as other:
        assert (await login(other, "chief")).status == 303
        status, _page, _location = await post_form(
            other,
            "/panel/settings",
            {"section": "languages", "languages": "uz", "default_language": "uz"},
            form_page="/panel/settings",
        )
        assert status == 303
        status, _page, _location = await post_form(
            other, "/panel/settings", {"section": "bot", "bot_token": BOT_TOKEN}, form_page="/panel/settings"
        )
        assert status == 303

    everything = await listed(panel.client, "")
    actions = {row[2] for row in everything}
    assert {
        "staff.create",
        "staff.channel_add",
        "staff.deactivate",
        "settings.languages",
        "secret.set",
        "login",
    } <= actions

    by_chief = await listed(panel.client, f"staff={chief.id}")
    assert {row[1] for row in by_chief} == {"chief"}
    assert {"login", "settings.languages", "secret.set"} == {row[2] for row in by_chief}

    deactivations = await listed(panel.client, "action=staff.deactivate")
    assert [(r[1], r[2], r[3]) for r in deactivations] == [("boss", "staff.deactivate", f"staff:{newmod.id}")]
    staff_actions = await listed(panel.client, "action=staff.")
    assert {r[2] for r in staff_actions} == {"staff.create", "staff.channel_add", "staff.deactivate"}
    assert await listed(panel.client, f"staff={chief.id}&action=staff.") == []
    assert await listed(panel.client, "action=staff_") == []  # "_" is no wildcard
    assert [r[2] for r in await listed(panel.client, f"target=staff:{newmod.id}")].count(
        "staff.deactivate"
    ) == 1

    # Dates: move the rows to known days, then ask for a range ("to" includes its whole day).
    await db.execute("UPDATE audit_log SET at = '2025-01-15 12:00+00' WHERE action = 'staff.create'")
    await db.execute("UPDATE audit_log SET at = '2025-02-20 23:30+00' WHERE action = 'settings.languages'")
    february = await listed(panel.client, "from=2025-02-01&to=2025-02-20")
    assert [r[2] for r in february] == ["settings.languages"]
    assert february[0][0] == "2025-02-20 23:30:00"
    since_january = {r[2] for r in await listed(panel.client, "from=2025-01-01&to=2025-02-28")}
    assert since_january == {"staff.create", "settings.languages"}
    until_january = await listed(panel.client, "to=2025-01-31")
    assert {r[2] for r in until_january} == {"staff.create"} and len(until_january) == 3
    recent = {r[2] for r in await listed(panel.client, "from=2025-03-01")}
    assert "staff.deactivate" in recent and not recent & {"staff.create", "settings.languages"}
    assert await listed(panel.client, "from=2025-02-21&to=2025-02-01") == []


async def test_the_audit_log_pages_back_with_its_filters_kept(
    panel: Panel, db: asyncpg.Connection, boss: staff_domain.Staff
) -> None:
    for i in range(60):
        await staff_domain.audit(db, boss.id, "test.step", f"step:{i}", None, {"i": i})
    status, page = await get(panel.client, "/panel/audit?action=test.")
    rows = audit_rows(page)
    assert [r[3] for r in rows] == [f"step:{i}" for i in range(59, 9, -1)]
    older = html.unescape(re.search(r'href="([^"]+)">Older<', page).group(1))
    assert "action=test." in older
    status, page = await get(panel.client, older)
    assert status == 200 and [r[3] for r in audit_rows(page)] == [f"step:{i}" for i in range(9, -1, -1)]
    assert ">Older<" not in page


NUMBERS = "Filters: staff and page are numbers, dates look like 2026-01-31."
TEXTS = "Filters: action and target are plain text of at most 100 characters."
# A NUL in any query string is refused for every route at once (app.web.forms.input_guard).
CONTROL = "The request contains characters that are not allowed (such as NUL or control characters)."


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("staff=xyz", NUMBERS),
        ("from=abc", NUMBERS),
        ("to=2025-13-01", NUMBERS),
        ("before=later", NUMBERS),
        ("staff=99999999999999999999999", NUMBERS),
        ("before=99999999999999999999999", NUMBERS),
        ("to=9999-12-31", NUMBERS),
        ("staff=%C2%B2", NUMBERS),
        ("before=-5", NUMBERS),
        ("action=a%00b", CONTROL),
        ("target=%00", CONTROL),
        ("action=" + "x" * 101, TEXTS),
    ],
)
async def test_bad_audit_filters_are_a_clear_400_with_the_form_still_there(
    panel: Panel, db: asyncpg.Connection, boss: staff_domain.Staff, query: str, message: str
) -> None:
    await staff_domain.audit(db, boss.id, "test.step", "step:1", None, None)
    status, page = await get(panel.client, "/panel/audit?" + query)
    assert status == 400, (query, text_of(page)[:300])
    assert message in text_of(page)
    if message == CONTROL:
        return
    assert 'action="/panel/audit"' in page and "boss" in page  # the form with its staff list
    assert "Log out" in page  # still the logged-in layout
    assert audit_rows(page) == []


async def test_a_good_date_is_kept_in_the_filter_form(
    panel: Panel, db: asyncpg.Connection, boss: staff_domain.Staff
) -> None:
    status, page = await get(panel.client, f"/panel/audit?from=2025-02-01&staff={boss.id}&action=login")
    assert status == 200
    assert 'name="from" value="2025-02-01"' in page and 'name="action" value="login"' in page
    assert f'<option value="{boss.id}" selected>boss</option>' in page


# 6. Invalid input on the staff forms: a clear 400 and nothing created -------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"username": ""}, "a username is 3-64 characters"),
        ({"username": "a b c"}, "a username is 3-64 characters"),
        ({"username": "BOSS"}, "already exists"),
        ({"username": "newmod", "role": "superuser"}, "Choose a role."),
        ({"username": "newmod", "role": ""}, "Choose a role."),
        ({"username": "newmod", "telegram_user_id": "abc"}, "A Telegram user id is a positive number."),
        (
            {"username": "newmod", "telegram_user_id": "99999999999999999999999"},
            "A Telegram user id is a positive number.",
        ),
        ({"username": "newmod", "telegram_user_id": "²"}, "A Telegram user id is a positive number."),
        ({"username": "newmod", "telegram_user_id": "777"}, "already has an account"),
        ({"username": "newmod", "display_name": "Bad\x00name"}, CONTROL),  # refused for every form
        ({"username": "newmod", "channel_id": ["999"]}, "Choose channels from the list."),
        ({"username": "newmod", "channel_id": ["x"]}, "Choose channels from the list."),
        ({"username": "newmod", "channel_id": ["99999999999999999999999"]}, "Choose channels from the list."),
        ({"username": "newmod", "channel_id": ["²"]}, "Choose channels from the list."),
    ],
)
async def test_a_bad_invite_is_a_clear_400_and_creates_nothing(
    panel: Panel, db: asyncpg.Connection, boss: staff_domain.Staff, fields: dict, message: str
) -> None:
    await staff_domain.create_staff(db, "taken", PASSWORD, Role.OPERATOR, telegram_user_id=777)
    before = await staff_count(db)
    audit_before = await db.fetchval("SELECT count(*) FROM audit_log")
    status, page = await invite(panel.client, **fields)
    assert status == 400, text_of(page)[:300]
    assert message in text_of(page)
    assert LINK_RE.search(page) is None
    assert await staff_count(db) == before
    assert await db.fetchval("SELECT count(*) FROM staff_login_tokens") == 0
    assert await db.fetchval("SELECT count(*) FROM audit_log") == audit_before
    if fields.get("username", "").strip() and message != CONTROL:
        assert f'name="username" value="{fields["username"]}"' in page  # the form keeps what was typed


async def test_an_invite_to_a_channel_that_is_valid_and_one_that_is_not_creates_nothing(
    panel: Panel, db: asyncpg.Connection, boss: staff_domain.Staff
) -> None:
    channel = await connected_channel(db, "Mine", -1001)
    status, page = await invite(panel.client, username="newmod", channel_id=[str(channel), "424242"])
    assert status == 400 and "Choose channels from the list." in page
    assert await db.fetchval("SELECT count(*) FROM staff WHERE username = 'newmod'") == 0
    assert await db.fetchval("SELECT count(*) FROM staff_channels") == 0


async def test_an_invited_moderator_sets_a_password_and_logs_in_with_it_later(
    panel, db: asyncpg.Connection
) -> None:
    """Without this, an invited person would need a new link from an admin every 12 hours."""
    member = await staff_domain.create_staff(db, "newmod", None, Role.MODERATOR)
    link = urlsplit(await staff_domain.issue_login_link(db, member.id, panel.config.base_url)).path
    async with browser(panel) as person, browser(panel) as laptop:
        assert (await post_form(person, link, {}, form_page=link))[2] == "/panel"
        page = await (await person.get("/panel/account")).text()
        assert "have no password yet" in page and 'name="current"' not in page
        for fields, message in (
            ({"new": "short", "repeat": "short"}, "at least 10 characters"),
            ({"new": "a long password 1", "repeat": "a long password 2"}, "two new passwords differ"),
        ):
            status, page, _location = await post_form(
                person, "/panel/account/password", fields, form_page="/panel/account"
            )
            assert status == 400 and message in page
        assert await db.fetchval("SELECT password_hash FROM staff WHERE id = $1", member.id) is None

        assert (await login(laptop, "newmod", "a long password 1")).status == 401
        status, _page, location = await post_form(
            person,
            "/panel/account/password",
            {"new": "a long password 1", "repeat": "a long password 1"},
            form_page="/panel/account",
        )
        assert (status, location) == (303, "/panel/account?saved=1")
        assert (await login(laptop, "newmod", "a long password 1")).status == 303
        assert (await get(laptop, "/panel/moderation"))[0] == 200

        # Changing it again needs the current one, and ends the other sessions (the laptop).
        status, page, _location = await post_form(
            person,
            "/panel/account/password",
            {"current": "wrong password!", "new": "another password", "repeat": "another password"},
            form_page="/panel/account",
        )
        assert status == 400 and "current password is not right" in page
        status, _page, _location = await post_form(
            person,
            "/panel/account/password",
            {"current": "a long password 1", "new": "another password", "repeat": "another password"},
            form_page="/panel/account",
        )
        assert status == 303
        ended = await laptop.get("/panel/moderation", allow_redirects=False)
        assert ended.status == 302 and ended.headers["Location"].startswith("/panel/login")
        assert (await get(person, "/panel/moderation"))[0] == 200  # this session goes on
    assert "staff.password" in [r["action"] for r in await db.fetch("SELECT action FROM audit_log")]
