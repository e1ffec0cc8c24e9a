"""The panel's one CSV export: streamed with flat memory, the list's own filters and roles,
Excel-readable Uzbek and Russian, and an audit entry per export."""

from __future__ import annotations

import csv
import datetime as dt
import gc
import io
import json

import asyncpg
from aiohttp.test_utils import TestClient

from app.domain import channels
from app.domain import staff as staff_domain
from app.domain.staff import Role
from tests.helpers.ads import SELLER, bulk_ads, market_channel
from tests.helpers.panel import Panel, login, make_staff
from tests.helpers.polling import eventually

MB = 1024 * 1024


def rss() -> int:
    """This process's resident memory: the panel runs in it, on the aiohttp test client."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


async def table(client: TestClient, url: str) -> list[list[str]]:
    response = await client.get(url)
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in response.headers["Content-Disposition"]
    body = await response.read()
    assert body.startswith("\ufeff".encode())  # the BOM: Excel reads it as UTF-8
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


async def exports(db: asyncpg.Connection) -> list[dict]:
    rows = await db.fetch(
        "SELECT staff_id, target, after FROM audit_log WHERE action = 'export.csv' ORDER BY id"
    )
    return [{"staff_id": r["staff_id"], "target": r["target"], **r["after"]} for r in rows]


async def test_a_hundred_thousand_rows_stream_with_memory_growing_under_50_mb(
    panel: Panel, db: asyncpg.Connection
) -> None:
    await db.execute(
        """INSERT INTO users (id, first_name, last_name, username, language)
           SELECT 5000000 + g, 'Дилноза ' || g, 'Oʻrinboyeva', 'user_' || g, 'uz'
             FROM generate_series(1, 100000) g"""
    )
    boss = await make_staff(db, "boss", Role.ADMIN)
    await login(panel.client, "boss")

    gc.collect()
    before = peak = rss()
    response = await panel.client.get("/panel/users.csv")
    assert response.status == 200
    lines, size, tail = 0, 0, b""
    async for chunk in response.content.iter_chunked(64 * 1024):
        size += len(chunk)
        lines += chunk.count(b"\n")
        tail = (tail + chunk)[-200:]
        peak = max(peak, rss())
    assert lines == 100_001  # the header and every user
    assert size > 6 * MB  # the whole file went through, not a page of it
    assert peak - before < 50 * MB, f"RSS grew by {(peak - before) / MB:.1f} MB"
    assert "Oʻrinboyeva".encode() in tail

    assert await exports(db) == [
        {"staff_id": boss.id, "target": "export:users", "filters": {}, "rows": 100_000, "complete": True}
    ]


async def test_exports_take_the_lists_filters_roles_and_date_range_and_are_audited(
    panel: Panel, db: asyncpg.Connection
) -> None:
    bikes = await market_channel(db)
    cars = (await channels.create_channel(db, title="Mashinalar", chat_ref="@bozor_cars")).id
    await bulk_ads(db, bikes, 30)  # 2026-01-01 00:00 to 2026-01-01 10:00, pending
    await bulk_ads(db, cars, 6, status="published")
    first = "(SELECT min(id) FROM ads)"
    await db.execute(f"UPDATE ads SET title = 'Velosiped Stels, yaxshi holatda' WHERE id = {first}")
    later = "UPDATE ads SET submitted_at = submitted_at + interval '3 days' WHERE channel_id = $1"
    await db.execute(later, cars)
    boss = await make_staff(db, "boss", Role.ADMIN)
    mod = await make_staff(db, "mod", Role.MODERATOR)
    await staff_domain.give_channel(db, mod.id, cars, by=boss.id)

    await login(panel.client, "boss")
    page = await (await panel.client.get("/panel/ads?status=pending&from=2026-01-01&to=2026-01-01")).text()
    link = "/panel/ads.csv?status=pending&amp;from=2026-01-01&amp;to=2026-01-01"
    assert link in page  # the list links its export with its current filters
    rows = await table(panel.client, link.replace("&amp;", "&"))
    assert rows[0][:4] == ["id", "submitted_at", "status", "title"]
    expected = await db.fetch(
        "SELECT id FROM ads WHERE status = 'pending' AND submitted_at < '2026-01-02' "
        "ORDER BY submitted_at DESC, id DESC"
    )
    assert [int(r[0]) for r in rows[1:]] == [r["id"] for r in expected] and len(expected) == 30
    assert "Velosiped Stels, yaxshi holatda" in {r[3] for r in rows[1:]}
    assert {r[11] for r in rows[1:]} == {str(SELLER)}

    # The date range narrows the export as it narrows the list: cars were submitted 3 days later.
    later = await table(panel.client, "/panel/ads.csv?from=2026-01-04&to=2026-01-10")
    assert sorted(int(r[0]) for r in later[1:]) == [
        r["id"] for r in await db.fetch("SELECT id FROM ads WHERE channel_id = $1 ORDER BY id", cars)
    ]
    bad = await panel.client.get("/panel/ads.csv?from=31.01.2026")
    assert bad.status == 400 and "Dates look like" in await bad.text()

    # The audit log's own export, filtered by action: the two exports above are in it.
    audit = await table(panel.client, "/panel/audit.csv?action=export.")
    assert [r[4] for r in audit[1:]] == ["export.csv", "export.csv"]
    assert json.loads(audit[1][7])["filters"] == {"from": "2026-01-04", "to": "2026-01-10"}

    # A moderator exports only the channels they moderate, whatever they ask for.
    panel.client.session.cookie_jar.clear()
    await login(panel.client, "mod")
    mine = await table(panel.client, f"/panel/ads.csv?channel={bikes}")
    assert mine[1:] == []
    assert len((await table(panel.client, "/panel/ads.csv"))[1:]) == 6
    refused = await panel.client.get("/panel/audit.csv", allow_redirects=False)
    assert refused.status == 403

    log = await exports(db)
    assert [(e["staff_id"], e["target"], e["filters"], e["rows"]) for e in log] == [
        (boss.id, "export:ads", {"status": "pending", "from": "2026-01-01", "to": "2026-01-01"}, 30),
        (boss.id, "export:ads", {"from": "2026-01-04", "to": "2026-01-10"}, 6),
        (boss.id, "export:audit", {"action": "export."}, 2),
        (mod.id, "export:ads", {"channel": str(bikes)}, 0),
        (mod.id, "export:ads", {}, 6),
    ]
    assert all(e["complete"] for e in log)


async def test_the_date_range_presets_keep_the_other_filters_in_every_language(
    panel: Panel, db: asyncpg.Connection
) -> None:
    channel = await market_channel(db)
    await bulk_ads(db, channel, 3)
    ten_days_ago = "UPDATE ads SET submitted_at = now() - interval '10 days' WHERE id = $1"
    await db.execute(ten_days_ago, await db.fetchval("SELECT min(id) FROM ads"))
    await make_staff(db, "boss", Role.ADMIN)
    await login(panel.client, "boss")
    page = await (await panel.client.get("/panel/ads?status=pending")).text()
    assert '/panel/ads?status=pending&amp;days=7"' in page and "30 days" in page
    week = await table(panel.client, "/panel/ads.csv?status=pending&days=7")
    month = await table(panel.client, "/panel/ads.csv?status=pending&days=30")
    assert (len(week), len(month)) == (1, 2)  # the header; the ad of 10 days ago
    today = dt.datetime.now(dt.UTC).date()
    chosen = await (await panel.client.get("/panel/ads?days=30")).text()
    assert f'name="from" value="{today - dt.timedelta(days=29)}"' in chosen
    assert 'aria-current="true"' in chosen
    bad = await panel.client.get("/panel/ads?days=12")
    assert bad.status == 400 and "Choose 7, 30 or 90 days" in await bad.text()

    for lang, label in (("ru", "30 дней"), ("uz", "30 kun")):
        await panel.client.get(f"/panel/lang/{lang}", allow_redirects=False)
        assert label in await (await panel.client.get("/panel/ads")).text()


AREA_EXPORTS = {
    "/panel/support.csv": "export:tickets",
    "/panel/tasks.csv": "export:tasks",
    "/panel/task-completions.csv": "export:task-completions",
    "/panel/ledger.csv": "export:ledger",
    "/panel/withdrawals.csv": "export:withdrawals",
    "/panel/promotions.csv": "export:promotions",
    "/panel/broadcasts.csv": "export:broadcasts",
    "/panel/chat/reports.csv": "export:chat-reports",
    "/panel/staff.csv": "export:staff",
    "/panel/channels.csv": "export:channels",
}


async def test_every_areas_list_exports_within_the_date_range(panel: Panel, db: asyncpg.Connection) -> None:
    boss = await make_staff(db, "boss", Role.ADMIN)
    await db.execute("INSERT INTO users (id, first_name) VALUES (71, 'Aziza'), (72, 'Ольга'), (73, 'Bekzod')")
    for user_id, day, status in (
        (71, "2026-03-01", "closed"),
        (72, "2026-03-05", "open"),
        (73, "2026-04-01", "waiting"),
    ):
        await db.execute(
            """INSERT INTO support_tickets (user_id, status, language, subject, created_at, closed_at)
               VALUES ($1, $2, 'uz', 'Eʼlonim qachon chiqadi?', $3::date,
                       CASE WHEN $2 = 'closed' THEN $3::date + 1 END)""",
            user_id,
            status,
            dt.date.fromisoformat(day),
        )
    await db.execute(
        """INSERT INTO ledger_entries (account, currency, amount, kind, actor, idempotency_key,
                                       balance_after, created_at)
           VALUES (71, 'points', 50, 'manual_adjustment', 'system', 'k1', 50, '2026-03-02'),
                  (72, 'XTR', 25, 'payment', 'user', 'k2', 25, '2026-03-03')"""
    )
    await login(panel.client, "boss")
    for url in AREA_EXPORTS:
        rows = await table(panel.client, url)
        assert rows[0] and rows[0][0] == "id", url

    march = await table(panel.client, "/panel/support.csv?from=2026-03-01&to=2026-03-31")
    assert sorted(r[6] for r in march[1:]) == ["Aziza", "Ольга"]
    assert {r[4] for r in march[1:]} == {"Eʼlonim qachon chiqadi?"}
    active = await table(panel.client, "/panel/support.csv?status=active&days=90")
    assert [r[6] for r in active[1:]] == []  # the ticket days are far before today
    xtr = await table(panel.client, "/panel/ledger.csv?currency=XTR&from=2026-03-01&to=2026-03-02")
    assert [r[2:5] for r in xtr[1:]] == []
    xtr = await table(panel.client, "/panel/ledger.csv?currency=XTR&from=2026-03-01&to=2026-03-03")
    assert [r[2:5] for r in xtr[1:]] == [["72", "XTR", "25"]]
    bad = await panel.client.get("/panel/ledger.csv?currency=EUR")
    assert bad.status == 400 and "choose one from the list" in await bad.text()
    bad = await panel.client.get("/panel/tasks.csv?from=2026-05-01&to=2026-04-01")
    assert bad.status == 400 and "The first day comes after the last one." in await bad.text()

    log = await exports(db)
    assert [e["target"] for e in log[: len(AREA_EXPORTS)]] == list(AREA_EXPORTS.values())
    assert [(e["target"], e["filters"], e["rows"]) for e in log[len(AREA_EXPORTS) :]] == [
        ("export:tickets", {"from": "2026-03-01", "to": "2026-03-31"}, 2),
        ("export:tickets", {"status": "active", "days": "90"}, 0),
        ("export:ledger", {"currency": "XTR", "from": "2026-03-01", "to": "2026-03-02"}, 0),
        ("export:ledger", {"currency": "XTR", "from": "2026-03-01", "to": "2026-03-03"}, 1),
    ]
    assert {e["staff_id"] for e in log} == {boss.id}
    # Each list offers its export over a date range, with its own filters.
    queue = await (await panel.client.get("/panel/support?view=all&status=closed")).text()
    assert 'action="/panel/support.csv"' in queue
    assert '<input type="hidden" name="status" value="closed">' in queue
    assert 'href="/panel/support.csv?view=all&amp;status=closed&amp;days=30"' in queue
    for page, url in (
        ("/panel/tasks", "/panel/tasks.csv"),
        ("/panel/withdrawals", "/panel/ledger.csv"),
        ("/panel/broadcasts", "/panel/broadcasts.csv"),
        ("/panel/chat/reports", "/panel/chat/reports.csv"),
        ("/panel/promotions", "/panel/promotions.csv"),
        ("/panel/tasks/review", "/panel/task-completions.csv"),
        ("/panel/users", "/panel/users.csv"),
        ("/panel/audit", "/panel/audit.csv"),
        ("/panel/staff", "/panel/staff.csv"),
        ("/panel/channels", "/panel/channels.csv"),
    ):
        html = await (await panel.client.get(page)).text()
        assert f'href="{url}' in html or f'action="{url}"' in html, page


async def test_an_export_cut_short_by_the_client_is_audited_as_incomplete(
    panel: Panel, db: asyncpg.Connection
) -> None:
    await db.execute(
        "INSERT INTO users (id, first_name) SELECT 6000000 + g, 'Ali ' || g FROM generate_series(1, 200000) g"
    )
    boss = await make_staff(db, "boss", Role.ADMIN)
    await login(panel.client, "boss")
    response = await panel.client.get("/panel/users.csv?q=Ali")
    assert response.status == 200
    first = await response.content.read(1024)
    assert first.startswith("\ufeffid,".encode())
    response.close()  # the browser's download cancelled

    async def logged() -> list[dict]:
        return await exports(db)

    log = await eventually(logged, what="the export's audit entry")
    assert len(log) == 1 and log[0]["staff_id"] == boss.id and log[0]["filters"] == {"q": "Ali"}
    assert log[0]["complete"] is False and 0 <= log[0]["rows"] < 200_000
