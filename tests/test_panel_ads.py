"""The panel's Ads screen: filters, keyset pages, an ad's story and its uncertain deliveries."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestClient

from app.domain import ads, channels
from app.domain import staff as staff_domain
from app.domain.actors import StaffMember
from app.domain.ads import Photo
from app.domain.staff import Role
from tests.helpers.ads import ADMIN_A, MSGS, SELLER, UZ, bulk_ads, draft, market_channel
from tests.helpers.panel import csrf, login, make_staff

ROW_RE = re.compile(r'data-ad="(\d+)"')
NEXT_RE = re.compile(r'rel="next" href="([^"]+)"')


async def ids_on(client: TestClient, url: str) -> tuple[list[int], str | None]:
    response = await client.get(url)
    assert response.status == 200, await response.text()
    html = await response.text()
    found = NEXT_RE.search(html)
    return [int(i) for i in ROW_RE.findall(html)], found.group(1).replace("&amp;", "&") if found else None


async def all_ids(client: TestClient, url: str | None) -> list[int]:
    """Follow the "Next" links to the end; every page holds at most 50 ads."""
    seen: list[int] = []
    while url:
        ids, url = await ids_on(client, url)
        assert len(ids) <= 50
        seen += ids
    return seen


async def test_keyset_pages_neither_repeat_nor_skip_and_filters_narrow(panel, db) -> None:
    channel_id = await market_channel(db)
    other = await channels.create_channel(db, title="Cars", chat_ref="@bozor_cars")
    await bulk_ads(db, channel_id, 130)
    await bulk_ads(db, other.id, 7, status="published")
    await make_staff(db, "boss", Role.ADMIN)
    await login(panel.client, "boss")

    seen = await all_ids(panel.client, "/panel/ads")
    expected = [r["id"] for r in await db.fetch("SELECT id FROM ads ORDER BY submitted_at DESC, id DESC")]
    assert seen == expected  # every ad once, newest first

    published, _ = await ids_on(panel.client, "/panel/ads?status=published")
    assert len(published) == 7
    in_cars, _ = await ids_on(panel.client, f"/panel/ads?channel={other.id}")
    assert sorted(in_cars) == sorted(published)
    titled, _ = await ids_on(panel.client, "/panel/ads?q=bike+12")
    assert len(titled) == 11  # "Bike 12" and "Bike 120" to "Bike 129"
    dated = await all_ids(panel.client, "/panel/ads?from=2026-01-02&to=2026-01-02")
    assert dated == [
        r["id"]
        for r in await db.fetch(
            "SELECT id FROM ads WHERE submitted_at >= '2026-01-02' AND submitted_at < '2026-01-03' "
            "ORDER BY submitted_at DESC, id DESC"
        )
    ]
    assert len(dated) > 50  # it took a second page
    by_seller, _ = await ids_on(panel.client, f"/panel/ads?seller={ADMIN_A}")
    assert by_seller == []


async def test_bad_filters_answer_400_with_a_message(panel, db) -> None:
    await make_staff(db, "boss", Role.ADMIN)
    await login(panel.client, "boss")
    for query, text in (
        ("status=lost", "Unknown status"),
        ("seller=abc", "must be a number"),
        ("from=31.01.2026", "Dates look like"),
        ("after=%%%", "page link"),
        ("from=2026-02-01&to=2026-01-01", "start date"),
    ):
        response = await panel.client.get(f"/panel/ads?{query}")
        assert response.status == 400, query
        assert text in await response.text()


async def test_a_moderator_sees_only_their_channels_ads(panel, db) -> None:
    channel_id = await market_channel(db)
    other = await channels.create_channel(db, title="Cars", chat_ref="@bozor_cars")
    await bulk_ads(db, channel_id, 3)
    await bulk_ads(db, other.id, 2)
    admin = await make_staff(db, "boss", Role.ADMIN)
    mod = await make_staff(db, "mod", Role.MODERATOR)
    await staff_domain.give_channel(db, mod.id, channel_id, by=admin.id)
    await login(panel.client, "mod")
    ids, _ = await ids_on(panel.client, "/panel/ads")
    mine = {r["id"] for r in await db.fetch("SELECT id FROM ads WHERE channel_id = $1", channel_id)}
    assert set(ids) == mine
    stranger = await db.fetchval("SELECT id FROM ads WHERE channel_id = $1 LIMIT 1", other.id)
    assert (await panel.client.get(f"/panel/ads/{stranger}")).status == 403
    assert (await panel.client.get(f"/panel/ads/{min(mine)}")).status == 200
    assert (await panel.client.get("/panel/ads/999999")).status == 404


async def test_the_ad_page_tells_its_story_and_settles_uncertain_deliveries(panel, db) -> None:
    channel_id = await market_channel(db)
    admin = await make_staff(db, "boss", Role.ADMIN)
    ad = await ads.submit(db, draft(channel_id=channel_id, photos=[Photo("f1", "u1")]), SELLER, MSGS, UZ)
    await ads.decide(db, ad.id, StaffMember(admin), approve=True, msgs=MSGS, languages=UZ)
    post = await db.fetchval(
        "SELECT id FROM outbox WHERE ref_kind = 'ad' AND ref_id = $1 AND method = 'sendPhoto'", ad.id
    )
    note = await db.fetchval(
        "SELECT id FROM outbox WHERE ref_kind = 'ad' AND ref_id = $1 AND id <> $2 ORDER BY id LIMIT 1",
        ad.id,
        post,
    )
    await db.execute("UPDATE outbox SET status = 'uncertain' WHERE id = ANY($1::bigint[])", [post, note])
    await login(panel.client, "boss")
    html = await (await panel.client.get(f"/panel/ads/{ad.id}")).text()
    assert "submitted" in html and "boss" in html  # who decided, by name
    assert f'data-delivery="{post}" data-status="uncertain"' in html
    assert f"/panel/ads/{ad.id}/deliveries/{post}/resend" in html
    assert 'id="posts"' in html and "post · chat -1001234567890" in html

    token = await csrf(panel.client, f"/panel/ads/{ad.id}")
    response = await panel.client.post(
        f"/panel/ads/{ad.id}/deliveries/{post}/resend", data={"csrf_token": token}, allow_redirects=False
    )
    assert response.status == 303
    response = await panel.client.post(
        f"/panel/ads/{ad.id}/deliveries/{note}/mark-delivered",
        data={"csrf_token": token},
        allow_redirects=False,
    )
    assert response.status == 303
    assert await db.fetchval("SELECT status FROM outbox WHERE id = $1", post) == "pending"
    assert await db.fetchval("SELECT status FROM outbox WHERE id = $1", note) == "sent"
    html = await (await panel.client.get(f"/panel/ads/{ad.id}")).text()
    assert f'data-delivery="{note}" data-status="sent"' in html
    assert "marked delivered by" in html and "boss" in html
    actions = [r["action"] for r in await db.fetch("SELECT action FROM audit_log ORDER BY id")]
    assert actions[-2:] == ["outbox.resend", "outbox.mark_delivered"]
    # A second press changes nothing and says so.
    response = await panel.client.post(
        f"/panel/ads/{ad.id}/deliveries/{post}/resend", data={"csrf_token": token}
    )
    assert "no longer uncertain" in await response.text()
    # A delivery of another ad is not reachable through this one.
    assert (
        await panel.client.post(f"/panel/ads/{ad.id}/deliveries/999999/resend", data={"csrf_token": token})
    ).status == 404


async def test_every_event_of_an_ads_history_reads_as_a_sentence_in_russian(panel, db) -> None:
    channel_id = await market_channel(db)
    await make_staff(db, "boss", Role.ADMIN)
    ad = await ads.submit(db, draft(channel_id=channel_id), SELLER, MSGS, UZ)
    await ads.decide(
        db,
        ad.id,
        StaffMember(await make_staff(db, "olga", Role.ADMIN)),
        approve=True,
        msgs=MSGS,
        languages=UZ,
    )
    assert await ads.repost_now(db, ad.id, MSGS)  # a paid extra re-post (promotions)
    written = {r["kind"] for r in await db.fetch("SELECT kind FROM ad_events WHERE ad_id = $1", ad.id)}
    for kind in set(ads.AdEventKind) - written:  # the rest of the story, one of each
        await db.execute("INSERT INTO ad_events (ad_id, kind) VALUES ($1, $2)", ad.id, kind.value)
    await login(panel.client, "boss")
    await panel.client.get("/panel/lang/ru", allow_redirects=False)
    page = await (await panel.client.get(f"/panel/ads/{ad.id}")).text()
    story = page.split('id="history"', 1)[1].split("</ul>", 1)[0]
    assert story.count("<li") == len(ads.AdEventKind)
    assert "Оплаченная дополнительная публикация снова разместила его в канале." in story
    assert [kind.value for kind in ads.AdEventKind if kind.value in story] == []  # no raw event names
