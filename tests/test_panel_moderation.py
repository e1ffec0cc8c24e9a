"""The panel's moderation queue through the aiohttp test client: scope, decisions, edits."""

from __future__ import annotations

import asyncpg

from app.db.queries.ads import MODERATION_CHANNEL
from app.domain import ads, channels
from app.domain import staff as staff_domain
from app.domain.actors import StaffMember
from app.domain.staff import Role
from app.web.live import LIVE
from tests.helpers.ads import MSGS, PANEL_SELLER, UZ, connected_channel, pending_ad
from tests.helpers.panel import Panel, csrf, login, make_staff, post_json
from tests.helpers.polling import eventually


async def captions(db: asyncpg.Connection, chat_id: int) -> list[str]:
    rows = await db.fetch("SELECT params FROM outbox WHERE chat_id = $1 ORDER BY id", chat_id)
    return [str(r["params"]) for r in rows]


async def test_a_moderator_sees_only_the_ads_of_their_channels(panel: Panel, db: asyncpg.Connection) -> None:
    mine, other = await connected_channel(db, "Mine", -1001), await connected_channel(db, "Other", -1002)
    await pending_ad(db, mine, "Velosiped Stels")
    await pending_ad(db, other, "Secret sofa")
    moderator = await make_staff(db, "moder", Role.MODERATOR)
    await channels_give(db, moderator.id, mine)
    assert (await login(panel.client, "moder")).status == 303
    page = await (await panel.client.get("/panel/moderation")).text()
    assert "Velosiped Stels" in page and "Secret sofa" not in page
    assert "Chilonzor" in page and "@ali_seller" in page


async def channels_give(db: asyncpg.Connection, staff_id: int, channel_id: int) -> None:
    await staff_domain.give_channel(db, staff_id, channel_id, by=None)


async def test_approve_by_json_then_a_late_decision_names_the_winner(
    panel: Panel, db: asyncpg.Connection
) -> None:
    channel = await connected_channel(db, "Mine", -1001)
    ad_id = await pending_ad(db, channel, "Velosiped Stels")
    await make_staff(db, "boss", Role.ADMIN)
    assert (await login(panel.client, "boss")).status == 303
    status, answer = await post_json(panel, f"/panel/moderation/{ad_id}/approve", {})
    assert status == 200 and answer["ok"], answer
    assert await db.fetchval("SELECT status FROM ads WHERE id = $1", ad_id) == "published"
    assert any("Velosiped Stels" in c for c in await captions(db, -1001))
    status, answer = await post_json(panel, f"/panel/moderation/{ad_id}/reject", {"reason": "x"})
    assert not answer["ok"] and answer["message"] == "Already decided by boss."
    assert "ad.approve" in [r["action"] for r in await db.fetch("SELECT action FROM audit_log")]


async def test_edited_text_is_what_the_channel_gets(panel: Panel, db: asyncpg.Connection) -> None:
    channel = await connected_channel(db, "Mine", -1001)
    ad_id = await pending_ad(db, channel, "Velosiped Stelz")
    await make_staff(db, "boss", Role.ADMIN)
    await login(panel.client, "boss")
    status, answer = await post_json(
        panel,
        f"/panel/moderation/{ad_id}/edit",
        {"title": "Velosiped Stels 26", "description": "Like new, 26 inch"},
    )
    assert status == 200 and answer["ok"], answer
    status, answer = await post_json(
        panel, f"/panel/moderation/{ad_id}/edit", {"title": "", "description": "x"}
    )
    assert status == 400 and answer["message"] == "Please send the title as text."
    await post_json(panel, f"/panel/moderation/{ad_id}/approve", {})
    posted = await captions(db, -1001)
    assert any("Velosiped Stels 26" in c and "Like new, 26 inch" in c for c in posted)
    assert not any("Stelz" in c for c in posted)


async def test_a_rejection_needs_a_reason_and_a_canned_one_reaches_the_seller(
    panel: Panel, db: asyncpg.Connection
) -> None:
    channel = await connected_channel(db, "Mine", -1001)
    ad_id = await pending_ad(db, channel, "Velosiped Stels")
    reason = await channels.add_reason(
        db, channel, {"uz": "Rasm yomon", "ru": "Плохое фото", "en": "Bad photo"}
    )
    await make_staff(db, "boss", Role.ADMIN)
    await login(panel.client, "boss")
    status, answer = await post_json(panel, f"/panel/moderation/{ad_id}/reject", {})
    assert status == 400 and answer["message"] == "Choose a reason or type one."
    # A plain form (no JavaScript): redirected back to the queue with the outcome.
    token = await csrf(panel.client, "/panel/moderation")
    response = await panel.client.post(
        f"/panel/moderation/{ad_id}/reject", data={"csrf_token": token, "reason_id": str(reason.id)}
    )
    assert response.status == 200 and f"Ad #{ad_id} rejected." in await response.text()
    assert await db.fetchval("SELECT reject_reason FROM ads WHERE id = $1", ad_id) == "Bad photo"
    assert any("Bad photo" in c for c in await captions(db, PANEL_SELLER))


async def test_a_missing_ad_is_a_clear_404(panel: Panel, db: asyncpg.Connection) -> None:
    await make_staff(db, "boss", Role.ADMIN)
    await login(panel.client, "boss")
    status, answer = await post_json(panel, "/panel/moderation/999/approve", {})
    assert status == 404 and answer["message"] == "This ad does not exist."


async def test_the_live_feed_carries_only_the_moderators_channels(
    panel: Panel, db: asyncpg.Connection
) -> None:
    mine, other = await connected_channel(db, "Mine", -1001), await connected_channel(db, "Other", -1002)
    moderator = await make_staff(db, "moder", Role.MODERATOR)
    await channels_give(db, moderator.id, mine)
    await login(panel.client, "moder")
    async with panel.client.ws_connect("/panel/moderation/ws") as ws:
        await wait_subscribed(panel)
        await pending_ad(db, other, "Secret sofa")
        ad_id = await pending_ad(db, mine, "Velosiped <b>Stels</b>")
        event = await ws.receive_json(timeout=10)
        assert event["event"] == "submitted" and event["ad_id"] == ad_id
        assert "Velosiped &lt;b&gt;Stels&lt;/b&gt;" in event["html"]
        async with db.transaction():
            moder = StaffMember(await staff_domain.get_staff(db, moderator.id))
            await ads.decide(db, ad_id, moder, approve=False, reason="Bad photo", msgs=MSGS, languages=UZ)
        event = await ws.receive_json(timeout=10)
        assert event == {"event": "rejected", "ad_id": ad_id, "text": "Rejected by moder"}


async def wait_subscribed(panel: Panel) -> None:
    async def subscribed() -> bool:
        return bool(panel.app[LIVE].subscribers(MODERATION_CHANNEL))

    await eventually(subscribed, what="the WebSocket subscribed")


async def test_the_live_feed_refuses_another_sites_page(panel: Panel, db: asyncpg.Connection) -> None:
    await make_staff(db, "moder", Role.MODERATOR)
    await login(panel.client, "moder")
    refused = await panel.client.get(
        "/panel/moderation/ws",
        headers={
            "Origin": "https://evil.example",
            "Connection": "Upgrade",
            "Upgrade": "websocket",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        },
    )
    assert refused.status == 403
    own = f"http://{panel.client.host}:{panel.client.port}"
    async with panel.client.ws_connect("/panel/moderation/ws", origin=own) as ws:
        assert not ws.closed  # our own page still gets the feed
