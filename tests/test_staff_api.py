"""The staff API (/api/v1/staff) on the real app: tokens made on the account page (shown once,
hashed, named, last used, revocable), roles exactly as the panel's, ads decided by the same use
case as the bot and the panel, keyset pages, broadcasts, statistics, JSON errors."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re

import asyncpg
from openapi_spec_validator import validate

from app.domain import staff as staff_domain
from app.domain import staff_tokens
from app.domain.chat import accounts
from app.domain.staff import Role
from tests.helpers.ads import PANEL_SELLER, connected_channel, pending_ad
from tests.helpers.panel import Panel, csrf, login, make_staff
from tests.helpers.stats import DAYS, at, history

STAFF = "/api/v1/staff"


async def _token(db: asyncpg.Connection, username: str, role: Role) -> str:
    staff = await make_staff(db, username, role)
    return (await staff_tokens.create_token(db, staff, "script"))[1]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_token_is_made_on_the_account_page_shown_once_and_revoked_there(
    panel: Panel, db: asyncpg.Connection
) -> None:
    await make_staff(db, "boss", Role.ADMIN)
    assert (await login(panel.client, "boss")).status == 303
    token = await csrf(panel.client, "/panel/account")
    empty = await panel.client.post("/panel/account/tokens", data={"csrf_token": token, "name": "  "})
    assert empty.status == 400 and "Name the token" in await empty.text()
    made = await panel.client.post("/panel/account/tokens", data={"csrf_token": token, "name": "reports"})
    page = await made.text()
    assert made.status == 200 and "shown only once" in page
    secret = page.split('id="new-token">')[1].split("<")[0]
    assert secret.startswith("bzs_")
    # Only the hash is kept, and the page never shows the text again.
    stored = await db.fetchrow("SELECT name, token_hash, last_used_at FROM staff_api_tokens")
    assert stored["name"] == "reports" and stored["last_used_at"] is None
    assert secret.encode() not in bytes(stored["token_hash"])
    again = await (await panel.client.get("/panel/account")).text()
    assert secret not in again and "reports" in again and "never used" in again

    api = panel.client
    api.session.cookie_jar.clear()  # a program: the token only
    me = await api.get(f"{STAFF}/me", headers=_bearer(secret))
    assert me.status == 200 and (await me.json())["role"] == "admin"
    assert await db.fetchval("SELECT last_used_at FROM staff_api_tokens") is not None

    await login(panel.client, "boss")
    token = await csrf(panel.client, "/panel/account")
    token_id = await db.fetchval("SELECT id FROM staff_api_tokens")
    revoked = await panel.client.post(
        f"/panel/account/tokens/{token_id}/revoke", data={"csrf_token": token}, allow_redirects=False
    )
    assert revoked.status == 303
    assert "revoked" in await (await panel.client.get("/panel/account")).text()
    api.session.cookie_jar.clear()
    refused = await api.get(f"{STAFF}/me", headers=_bearer(secret))
    assert refused.status == 401 and (await refused.json())["error"]["code"] == "unauthorized"
    assert {"api_token.create", "api_token.revoke"} <= {
        r["action"] for r in await db.fetch("SELECT action FROM audit_log")
    }


async def test_tokens_of_the_two_apis_do_not_open_each_other_and_a_deactivated_member_loses_theirs(
    panel: Panel, db: asyncpg.Connection
) -> None:
    staff_secret = await _token(db, "boss", Role.ADMIN)
    await make_staff(db, "second", Role.ADMIN)
    account = await accounts.register(
        db, "kamola", "a good long password", "a good long password", "Kamola", None
    )
    chat_secret = (await accounts.create_api_token(db, account.id, "script"))[1]
    api = panel.client
    assert (await api.get(f"{STAFF}/me", headers=_bearer(chat_secret))).status == 401
    assert (await api.get("/api/v1/me", headers=_bearer(staff_secret))).status == 401
    assert (await api.get(f"{STAFF}/me")).status == 401  # no token at all
    boss = await staff_domain.find_staff(db, "boss")
    second = await staff_domain.find_staff(db, "second")
    assert boss is not None and second is not None
    # Someone else's token cannot be revoked by another member (the panel's form does nothing).
    boss_token = await db.fetchval("SELECT id FROM staff_api_tokens WHERE staff_id = $1", boss.id)
    assert not await staff_tokens.revoke_token(db, second, boss_token)
    assert (await api.get(f"{STAFF}/me", headers=_bearer(staff_secret))).status == 200
    await staff_domain.change_member(db, boss.id, second, action="deactivate", role="", base_url="http://x")
    assert (await api.get(f"{STAFF}/me", headers=_bearer(staff_secret))).status == 401


async def test_a_moderator_sees_and_decides_only_their_channels_ads(
    panel: Panel, db: asyncpg.Connection
) -> None:
    mine, other = await connected_channel(db, "Mine", -1001), await connected_channel(db, "Other", -1002)
    first = await pending_ad(db, mine, "Velosiped Stels")
    second = await pending_ad(db, mine, "Divan")
    secret_ad = await pending_ad(db, other, "Secret sofa")
    token = await _token(db, "moder", Role.MODERATOR)
    moderator = await staff_domain.find_staff(db, "moder")
    assert moderator is not None
    await staff_domain.give_channel(db, moderator.id, mine, by=None)
    api, auth = panel.client, _bearer(token)

    page = await (await api.get(f"{STAFF}/ads?limit=1", headers=auth)).json()
    assert [a["id"] for a in page["items"]] == [second] and page["next_after"]
    rest = await (await api.get(f"{STAFF}/ads?limit=1&after={page['next_after']}", headers=auth)).json()
    assert [a["id"] for a in rest["items"]] == [first] and rest["next_after"] is None
    pending = await (await api.get(f"{STAFF}/ads?status=pending", headers=auth)).json()
    assert secret_ad not in [a["id"] for a in pending["items"]]
    bad = await api.get(f"{STAFF}/ads?after=nonsense", headers=auth)
    assert bad.status == 422 and (await bad.json())["error"]["code"] == "invalid"

    one = await (await api.get(f"{STAFF}/ads/{first}", headers=auth)).json()
    assert one["title"] == "Velosiped Stels" and one["photos"] == 1 and one["price"] == "1500000.00"
    hidden = await api.get(f"{STAFF}/ads/{secret_ad}", headers=auth)
    assert hidden.status == 403 and (await hidden.json())["error"]["code"] == "forbidden"
    assert (await api.get(f"{STAFF}/ads/999999", headers=auth)).status == 404

    approved = await api.post(f"{STAFF}/ads/{first}/approve", headers=auth)
    assert approved.status == 200, await approved.text()
    assert (await approved.json()) == {"id": first, "status": "published", "decided_by": "moder"}
    assert await db.fetchval("SELECT status FROM ads WHERE id = $1", first) == "published"
    # The same use case as the bot and the panel: the channel post is queued, the decision audited.
    posts = await db.fetch("SELECT params::text AS p FROM outbox WHERE chat_id = -1001")
    assert any("Velosiped Stels" in r["p"] for r in posts)
    assert await db.fetchval("SELECT count(*) FROM audit_log WHERE action = 'ad.approve'") == 1
    late = await api.post(f"{STAFF}/ads/{first}/reject", json={"reason": "late"}, headers=auth)
    assert late.status == 409 and "Already decided by moder" in (await late.json())["error"]["message"]

    no_reason = await api.post(f"{STAFF}/ads/{second}/reject", json={}, headers=auth)
    assert no_reason.status == 400 and (await no_reason.json())["error"]["code"] == "refused"
    assert await db.fetchval("SELECT status FROM ads WHERE id = $1", second) == "pending"
    rejected = await api.post(f"{STAFF}/ads/{second}/reject", json={"reason": "Blurry photo"}, headers=auth)
    assert rejected.status == 200 and (await rejected.json())["status"] == "rejected"
    told = await db.fetch("SELECT params::text AS p FROM outbox WHERE chat_id = $1", PANEL_SELLER)
    assert any("Blurry photo" in r["p"] for r in told)
    other_channel = await api.post(f"{STAFF}/ads/{secret_ad}/approve", headers=auth)
    assert other_channel.status == 404  # as in the panel: another channel's ad is not theirs to see
    assert await db.fetchval("SELECT status FROM ads WHERE id = $1", secret_ad) == "pending"


async def test_users_channels_and_statistics_follow_the_panels_scope(
    panel: Panel, db: asyncpg.Connection
) -> None:
    mine = await connected_channel(db, "Mine", -1001)
    await pending_ad(db, mine, "Velosiped Stels")
    for n in range(3):
        await db.execute(
            "INSERT INTO users (id, first_name, username) VALUES ($1, $2, $3)",
            500 + n,
            f"Dilnoza {n}",
            f"d{n}",
        )
    admin, operator = await _token(db, "boss", Role.ADMIN), await _token(db, "oper", Role.OPERATOR)
    moderator = await _token(db, "moder", Role.MODERATOR)
    api = panel.client

    page = await (await api.get(f"{STAFF}/users?q=Dilnoza&limit=2", headers=_bearer(operator))).json()
    assert [u["id"] for u in page["items"]] == [502, 501] and page["next_after"] == 501
    rest = await (await api.get(f"{STAFF}/users?q=Dilnoza&after=501", headers=_bearer(operator))).json()
    assert [u["id"] for u in rest["items"]] == [500] and rest["next_after"] is None
    user = await (await api.get(f"{STAFF}/users/{PANEL_SELLER}", headers=_bearer(operator))).json()
    assert user["username"] == "ali_seller" and user["blocked_bot"] is False
    # A moderator with no channels sees no one: only sellers in their channels.
    assert (await api.get(f"{STAFF}/users/{PANEL_SELLER}", headers=_bearer(moderator))).status == 404
    assert (await (await api.get(f"{STAFF}/users", headers=_bearer(moderator))).json())["items"] == []

    channels = await (await api.get(f"{STAFF}/channels", headers=_bearer(admin))).json()
    assert [c["title"] for c in channels["items"]] == ["Mine"]
    assert (await api.get(f"{STAFF}/channels", headers=_bearer(operator))).status == 403

    stats = await (await api.get(f"{STAFF}/statistics?days=7", headers=_bearer(admin))).json()
    assert stats["pending"] == 1 and stats["users"] == 4
    assert sum(d["ads"] for d in stats["ads_per_day"] if d["status"] == "pending") == 1
    scoped = await (await api.get(f"{STAFF}/statistics", headers=_bearer(moderator))).json()
    assert scoped["pending"] == 0 and scoped["users"] is None
    assert (await api.get(f"{STAFF}/statistics?days=999", headers=_bearer(admin))).status == 400


DASHBOARD_DATA = re.compile(r'<script type="application/json" id="dashboard-data">(.*?)</script>', re.S)
WEEK = "from=2026-11-01&to=2026-11-07"


async def _dashboard(panel: Panel, username: str, query: str) -> dict:
    """What the panel's dashboard draws for `username` (signed in afresh) and the range."""
    panel.client.session.cookie_jar.clear()
    assert (await login(panel.client, username)).status == 303
    response = await panel.client.get(f"/panel?{query}")
    assert response.status == 200, await response.text()
    match = DASHBOARD_DATA.search(await response.text())
    assert match is not None
    panel.client.session.cookie_jar.clear()  # the API takes the token only
    return json.loads(match.group(1))


def _per_status(stats: dict, status: str) -> list[int]:
    """The API's sparse ads per day as the dashboard's series: one number a day of the range."""
    counts = {d["day"]: d["ads"] for d in stats["ads_per_day"] if d["status"] == status}
    return [counts.get(day, 0) for day in stats["days"]]


async def test_statistics_are_the_dashboards_figures_for_the_same_range_and_role(
    panel: Panel, db: asyncpg.Connection
) -> None:
    boss = await make_staff(db, "boss", Role.ADMIN)
    await history(db, boss.id)  # every area, and two published ads in the market channel
    market = await db.fetchval("SELECT id FROM channels")
    other = await connected_channel(db, "Other", -1002)
    await pending_ad(db, other, "Secret sofa")
    # Submitted and decided inside the week: ads per day and decision times have something to say.
    for n, ad_id in enumerate(r["id"] for r in await db.fetch("SELECT id FROM ads ORDER BY id")):
        await db.execute(
            "UPDATE ads SET submitted_at = $2, decided_at = $3 WHERE id = $1",
            ad_id,
            at(n + 1),
            at(n + 1) + dt.timedelta(minutes=10 * (n + 1)),
        )
    moderator = await make_staff(db, "moder", Role.MODERATOR)
    await staff_domain.give_channel(db, moderator.id, market, by=None)
    await make_staff(db, "desk", Role.OPERATOR)
    tokens = {
        name: (await staff_tokens.create_token(db, member, "script"))[1]
        for name, member in [
            ("boss", boss),
            ("moder", moderator),
            ("desk", await staff_domain.find_staff(db, "desk")),
        ]
        if member is not None
    }
    api = panel.client

    seen = {}
    for name, token in tokens.items():
        shown = await _dashboard(panel, name, WEEK)
        response = await api.get(f"{STAFF}/statistics?{WEEK}", headers=_bearer(token))
        assert response.status == 200, await response.text()
        stats = seen[name] = await response.json()
        assert (stats["since"], stats["until"]) == ("2026-11-01", "2026-11-07")
        assert stats["days"] == [d.isoformat() for d in DAYS]
        # Every area the reader's dashboard draws, with the same numbers a day.
        assert [a["id"] for a in stats["areas"]] == [a["id"] for a in shown["areas"]]
        assert {s["metric"]: s["data"] for a in stats["areas"] for s in a["series"]} == {
            s["metric"]: s["data"] for a in shown["areas"] for s in a["series"]
        }
        assert all(s["total"] == sum(s["data"]) for a in stats["areas"] for s in a["series"])
        # And the ads' charts: per status, re-posts, decision times per channel.
        assert {s["status"]: _per_status(stats, s["status"]) for s in shown["ads"]} == {
            s["status"]: s["data"] for s in shown["ads"]
        }
        reposts = {r["day"]: r["n"] for r in stats["reposts_per_day"]}
        assert [reposts.get(day, 0) for day in stats["days"]] == shown["reposts"]["data"]
        decisions = stats["decision_times"]
        assert [d["title"] for d in decisions] == shown["decisions"]["channels"]
        assert [round(d["p50_minutes"], 1) for d in decisions] == shown["decisions"]["p50"]
        assert [d["decided"] for d in decisions] == shown["decisions"]["decided"]

    # Scoped as the dashboard: an admin every area and channel; an operator the areas of their
    # work; a moderator their channels' ads and no site-wide figures.
    boss_stats, desk_stats, mod_stats = seen["boss"], seen["desk"], seen["moder"]
    assert [a["id"] for a in boss_stats["areas"]] == [
        "users",
        "messages",
        "support",
        "chat",
        "tasks",
        "payments",
        "broadcasts",
    ]
    assert any(s["total"] for a in boss_stats["areas"] for s in a["series"] if a["id"] == "payments")
    assert [a["id"] for a in desk_stats["areas"]] == ["users", "messages", "support", "chat"]
    assert mod_stats["areas"] == [] and mod_stats["users"] is None
    assert {d["title"] for d in boss_stats["decision_times"]} == {"Bozor", "Other"}
    assert [d["title"] for d in mod_stats["decision_times"]] == ["Bozor"]
    assert sum(d["ads"] for d in boss_stats["ads_per_day"]) == 3
    assert sum(d["ads"] for d in mod_stats["ads_per_day"]) == 2
    assert (boss_stats["pending"], mod_stats["pending"]) == (1, 0)


async def test_the_range_is_the_panels_and_a_bad_one_is_a_400_with_a_stable_code(
    panel: Panel, db: asyncpg.Connection
) -> None:
    auth = _bearer(await _token(db, "boss", Role.ADMIN))
    api = panel.client
    today = dt.datetime.now(dt.UTC).date()

    async def days_of(query: str) -> list[str]:
        response = await api.get(f"{STAFF}/statistics?{query}", headers=auth)
        assert response.status == 200, await response.text()
        body = await response.json()
        assert all(len(s["data"]) == len(body["days"]) for a in body["areas"] for s in a["series"])
        return body["days"]

    assert len(await days_of("")) == 30 and (await days_of(""))[-1] == today.isoformat()
    # `days` as before (any number up to a year, not only the panel's presets), and it wins.
    assert len(await days_of("days=7")) == 7 and len(await days_of("days=5")) == 5
    assert await days_of("days=7&from=2026-01-01&to=2026-01-02") == await days_of("days=7")
    assert await days_of("from=2026-02-27&to=2026-03-01") == ["2026-02-27", "2026-02-28", "2026-03-01"]
    assert len(await days_of("to=2026-03-01")) == 30  # an open start: 30 days back, as the panel

    for query, message in (
        ("from=2026-11-05&to=2026-11-01", "The first day comes after the last one."),
        ("from=1.11.2026", "Dates are written as YYYY-MM-DD."),
        ("from=1999-12-31&to=2000-01-01", "Choose days between 2000 and 2100."),
        ("from=2024-01-01&to=2026-01-01", "Choose at most 366 days."),
        ("days=999", "Choose from 1 to 366 days."),
        ("days=0", "Choose from 1 to 366 days."),
        ("days=-3", "Choose from 1 to 366 days."),
        ("days=week", "Choose from 1 to 366 days."),
    ):
        refused = await api.get(f"{STAFF}/statistics?{query}", headers=auth)
        assert refused.status == 400, query
        assert await refused.json() == {"error": {"code": "bad_range", "message": message}}, query
    russian = await api.get(f"{STAFF}/statistics?days=999", headers={**auth, "Accept-Language": "ru"})
    assert russian.status == 400 and "366" in (body := (await russian.json())["error"]["message"])
    assert body == "Выберите от 1 до 366 дней."


async def test_an_admin_creates_starts_pauses_and_follows_a_broadcast_and_a_moderator_cannot_start_one(
    panel: Panel, db: asyncpg.Connection
) -> None:
    for n in range(3):
        await db.execute(
            "INSERT INTO users (id, first_name, language) VALUES ($1, $2, $3)", 700 + n, f"U{n}", "uz"
        )
    admin, moderator = await _token(db, "boss", Role.ADMIN), await _token(db, "moder", Role.MODERATOR)
    api = panel.client
    body = {
        "texts": {"default": "Hello <b>all</b>", "uz": "Salom <b>hammaga</b>"},
        "buttons": [{"text": "Open", "url": "https://example.com/x"}],
        "audience": {"languages": ["uz"]},
    }
    refused = await api.post(f"{STAFF}/broadcasts", json=body, headers=_bearer(moderator))
    assert refused.status == 403
    made = await api.post(f"{STAFF}/broadcasts", json=body, headers=_bearer(admin))
    assert made.status == 201, await made.text()
    draft = await made.json()
    assert draft["status"] == "draft" and draft["recipients"] == 3
    broadcast_id = draft["id"]

    start = await api.post(f"{STAFF}/broadcasts/{broadcast_id}/start", headers=_bearer(moderator))
    assert start.status == 403 and (await start.json())["error"]["code"] == "forbidden"
    assert await db.fetchval("SELECT status FROM broadcasts WHERE id = $1", broadcast_id) == "draft"
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE ref_kind = 'broadcast'") == 0

    started = await (
        await api.post(f"{STAFF}/broadcasts/{broadcast_id}/start", headers=_bearer(admin))
    ).json()
    assert started["status"] == "running" and started["recipients"] == 3 and started["left"] == 3
    paused = await (await api.post(f"{STAFF}/broadcasts/{broadcast_id}/pause", headers=_bearer(admin))).json()
    assert paused["status"] == "paused"
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE ref_kind = 'broadcast'") == 0
    again = await api.post(f"{STAFF}/broadcasts/{broadcast_id}/pause", headers=_bearer(admin))
    assert again.status == 400 and (await again.json())["error"]["code"] == "refused"
    resumed = await api.post(f"{STAFF}/broadcasts/{broadcast_id}/resume", headers=_bearer(admin))
    assert (await resumed.json())["status"] == "running"
    rows = await db.fetch("SELECT params FROM outbox WHERE ref_kind = 'broadcast' ORDER BY chat_id")
    assert len(rows) == 3 and all("Salom" in str(r["params"]) for r in rows)
    progress = await (await api.get(f"{STAFF}/broadcasts/{broadcast_id}", headers=_bearer(admin))).json()
    assert progress["left"] == 3 and progress["sent"] == 0

    bad = await api.post(
        f"{STAFF}/broadcasts", json={**body, "texts": {"default": "<b>open"}}, headers=_bearer(admin)
    )
    assert bad.status == 400 and "Tags must be closed" in (await bad.json())["error"]["message"]
    invalid = await api.post(f"{STAFF}/broadcasts", json={"texts": "x"}, headers=_bearer(admin))
    assert invalid.status == 422
    assert (await api.get(f"{STAFF}/broadcasts/999999", headers=_bearer(admin))).status == 404


async def test_the_openapi_document_describes_the_staff_operations_with_their_scheme(panel: Panel) -> None:
    spec = await (await panel.client.get("/api/v1/openapi.json")).json()
    validate(spec)
    staff_ops = [
        (path, method, item)
        for path, methods in spec["paths"].items()
        if path.startswith(STAFF)
        for method, item in methods.items()
    ]
    assert len(staff_ops) >= 14
    assert all(item["security"] == [{"staffToken": []}] for _p, _m, item in staff_ops)
    assert "bzs_" in spec["components"]["securitySchemes"]["staffToken"]["description"]
    statistics = spec["paths"][f"{STAFF}/statistics"]["get"]
    assert [p["name"] for p in statistics["parameters"]] == ["from", "to", "days"]
    assert "bad_range" in statistics["responses"]["400"]["description"]
    schema = spec["components"]["schemas"]["Statistics"]["properties"]
    assert {"since", "until", "days", "areas", "ads_per_day", "decision_times"} <= schema.keys()


async def test_hostile_numbers_cursors_and_buttons_are_clear_refusals_that_change_nothing(
    panel: Panel, db: asyncpg.Connection
) -> None:
    """Found by review: numbers past a bigint answered 500 (and left a broadcast draft that
    every later read answered 500 for), a cursor at the edge of the calendar answered 500, and a
    button link Telegram refuses was kept (failing the message for every recipient)."""
    channel = await connected_channel(db, "Mine", -1001)
    ad = await pending_ad(db, channel, "Velosiped")
    admin = _bearer(await _token(db, "boss", Role.ADMIN))
    api = panel.client
    huge = 10**30
    answers = [
        await api.post(f"{STAFF}/ads/{ad}/reject", json={"reason_id": huge}, headers=admin),
        await api.post(
            f"{STAFF}/broadcasts",
            json={"texts": {"default": "Salom"}, "audience": {"channel_id": huge}},
            headers=admin,
        ),
        await api.post(
            f"{STAFF}/broadcasts",
            json={"texts": {"default": "Salom"}, "audience": {"min_balance": huge}},
            headers=admin,
        ),
    ]
    for answer in answers:
        body = await answer.json()
        assert answer.status == 422 and body["error"]["message"] == "A number in the request is too large."
    ru = await api.post(
        f"{STAFF}/ads/{ad}/reject", json={"reason_id": huge}, headers={**admin, "Accept-Language": "ru"}
    )
    assert ru.status == 422 and "слишком" in (await ru.json())["error"]["message"]
    nan = await api.post(
        f"{STAFF}/ads/{ad}/reject",
        data=b'{"reason_id": NaN}',
        headers={**admin, "Content-Type": "application/json"},
    )
    assert nan.status == 422
    # A cursor is opaque, yet a forged one that names year 1 at +14:00 is only "invalid".
    for moment in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"):
        cursor = base64.urlsafe_b64encode(f"{moment}|1".encode()).decode().rstrip("=")
        page = await api.get(f"{STAFF}/ads?after={cursor}", headers=admin)
        assert page.status == 422 and (await page.json())["error"]["code"] == "invalid"
    # A button link Telegram would refuse is refused here, as in the panel's composer.
    for url in ("https://x y", "https://localhost", "https://a.b/<script>"):
        sent = {"texts": {"default": "Salom"}, "buttons": [{"text": "Open", "url": url}]}
        refused = await api.post(f"{STAFF}/broadcasts", json=sent, headers=admin)
        assert refused.status == 400, url
        assert "http(s) link" in (await refused.json())["error"]["message"]
    assert await db.fetchval("SELECT count(*) FROM broadcasts") == 0
    assert await db.fetchval("SELECT status FROM ads WHERE id = $1", ad) == "pending"
