"""A delivery Telegram refuses for good is not silent: the log warns, the dashboard and the ad's
page show it with the reason, and the moderation queue flags the ad whose admins never heard."""

from __future__ import annotations

import html
import logging
import re

from app.domain import channels
from app.domain.staff import Role
from tests.helpers.market import fill_wizard
from tests.helpers.panel import login, make_staff
from tests.helpers.polling import outbox_settled

NOBODY = 777000111  # a Telegram id the bot never talked to: "chat not found"


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


async def test_an_ad_no_admin_could_be_told_about_is_flagged_everywhere(
    bozor, market, sandbox, panel, db, caplog
) -> None:
    await sandbox.limits(private_per_second=50, private_burst=50)
    channel_id = market["channel_id"]
    for admin in (market["olga"], market["bek"]):
        await channels.remove_admin(db, channel_id, admin.id)
    await db.execute("INSERT INTO users (id, first_name) VALUES ($1, 'Nobody')", NOBODY)
    await channels.add_admin(db, channel_id, NOBODY)

    with caplog.at_level(logging.WARNING, logger="app.bot.outbox"):
        await fill_wizard(market["seller"])
        await outbox_settled(bozor.pool)
    failed = await db.fetch("SELECT error FROM outbox WHERE status = 'failed' AND chat_id = $1", NOBODY)
    assert failed and all("chat not found" in r["error"] for r in failed)
    assert any("failed" in r.message and "chat not found" in r.message for r in caplog.records)

    await make_staff(db, "boss", Role.ADMIN)
    assert (await login(panel.client, "boss")).status == 303
    queue = text_of(await (await panel.client.get("/panel/moderation")).text())
    assert "No admin of the channel could be notified in Telegram" in queue and "chat not found" in queue
    home = text_of(await (await panel.client.get("/panel")).text())
    assert "Failed deliveries" in home and "#1 Velosiped Stels" in home and "chat not found" in home
    page = await (await panel.client.get("/panel/ads/1")).text()
    assert 'id="failed-deliveries"' in page and "could not be delivered" in page
    assert "chat not found" in text_of(page.split('id="deliveries"', 1)[1])
