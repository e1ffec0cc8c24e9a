"""The panel's Channels screen against the Telegram sandbox: the bot's rights, settings as rows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import pytest

from app.bot.dispatcher import create_bot
from app.db.queries import channels as channels_q
from app.domain.staff import Role
from app.web import keys
from tests.helpers.panel import SECRET_KEY, Panel, build_panel, csrf, login, make_staff
from tests.helpers.servers import TEST_TOKEN

FORM = {
    "title": "Bozor Test",
    "chat": "@bozor_panel",
    "language": "ru",
    "timezone": "Asia/Tashkent",
    "repost_minutes": "45",
    "quiet_from": "23:00",
    "quiet_to": "07:00",
    "checkin_value": "12",
    "checkin_unit": "hours",
    "checkin_max_asks": "4",
    "ads_per_day": "3",
    "active": "on",
}


@pytest.fixture
async def panel_bot(aiohttp_client, make_config, database_url: str, sandbox_url: str) -> AsyncIterator[Panel]:
    """The panel with a bot talking to the sandbox, as app/main.py wires it."""
    bot = create_bot(TEST_TOKEN, sandbox_url)
    await bot.get_me()  # the bot exists in the sandbox from its first call on
    config = make_config(SECRET_KEY=SECRET_KEY, DEFAULT_LANGUAGE="en")
    try:
        async for built in build_panel(
            aiohttp_client, config, database_url, extra=lambda app: app.__setitem__(keys.BOT, bot)
        ):
            yield built
    finally:
        await bot.session.close()


async def post(panel: Panel, path: str, data: dict, page: str = "/panel/channels/new"):
    token = await csrf(panel.client, page)
    return await panel.client.post(path, data={"csrf_token": token, **data}, allow_redirects=False)


async def test_a_channel_is_saved_only_once_the_bot_may_post_edit_and_delete(
    panel_bot: Panel, sandbox, db: asyncpg.Connection
) -> None:
    await make_staff(db, "boss", Role.ADMIN)
    await login(panel_bot.client, "boss")
    missing = await post(panel_bot, "/panel/channels/new", {**FORM, "chat": "@nowhere_chan"})
    assert missing.status == 400 and "Telegram cannot open the chat @nowhere_chan" in await missing.text()

    chat = await sandbox.channel("Bozor Test", username="bozor_panel", bot_admin=False)
    bot_id = int(TEST_TOKEN.split(":")[0])
    not_admin = await post(panel_bot, "/panel/channels/new", FORM)
    body = await not_admin.text()
    assert not_admin.status == 400
    assert "The bot is not an administrator of @bozor_panel" in body
    assert "post messages, edit messages, delete messages" in body
    assert 'value="Bozor Test"' in body  # the form keeps what was typed
    assert await db.fetchval("SELECT count(*) FROM channels") == 0

    await chat.set_member(bot_id, "administrator", can_post_messages=True)
    partial = await post(panel_bot, "/panel/channels/new", FORM)
    assert partial.status == 400
    assert "may not: edit messages, delete messages" in await partial.text()

    await chat.set_member(
        bot_id, "administrator", can_post_messages=True, can_edit_messages=True, can_delete_messages=True
    )
    saved = await post(panel_bot, "/panel/channels/new", FORM)
    assert saved.status == 303
    row = await db.fetchrow("SELECT * FROM channels")
    assert row["chat_id"] == chat.id and row["language"] == "ru"
    assert row["repost_every"] == timedelta(minutes=45) and row["checkin_every"] == timedelta(hours=12)
    assert row["checkin_max_asks"] == 4 and row["ads_per_day"] == 3
    assert "channel.create" in [r["action"] for r in await db.fetch("SELECT action FROM audit_log")]


async def test_bad_values_are_named_and_nothing_changes(panel_bot: Panel, db: asyncpg.Connection) -> None:
    await make_staff(db, "boss", Role.ADMIN)
    await login(panel_bot.client, "boss")
    for bad, message in (
        (("repost_minutes", "often"), "whole number of minutes"),
        (("quiet_to", ""), "both a start and an end"),
        (("timezone", "Mars/Olympus"), "Unknown time zone"),
        (("checkin_max_asks", "99"), "from 1 to 20"),
    ):
        response = await post(panel_bot, "/panel/channels/new", {**FORM, bad[0]: bad[1]})
        assert response.status == 400 and message in await response.text(), bad
    # The same rule, read by a Russian-speaking admin: the message is in Russian.
    assert (await panel_bot.client.get("/panel/lang/ru", allow_redirects=False)).status == 303
    response = await post(panel_bot, "/panel/channels/new", {**FORM, "timezone": "Mars/Olympus"})
    assert response.status == 400
    assert "Неизвестный часовой пояс «Mars/Olympus»" in await response.text()
    assert await db.fetchval("SELECT count(*) FROM channels") == 0


async def test_categories_words_and_reasons_count_at_once(
    panel_bot: Panel, sandbox, db: asyncpg.Connection
) -> None:
    await make_staff(db, "boss", Role.ADMIN)
    await login(panel_bot.client, "boss")
    await sandbox.channel("Bozor Test", username="bozor_panel")
    assert (await post(panel_bot, "/panel/channels/new", FORM)).status == 303
    channel_id = await db.fetchval("SELECT id FROM channels")
    page = f"/panel/channels/{channel_id}"
    added = await post(
        panel_bot,
        f"{page}/categories",
        {"hashtag": "#transport", "name_uz": "Transport", "name_ru": "Транспорт", "name_en": "Transport"},
        page,
    )
    assert added.status == 303
    half = await post(panel_bot, f"{page}/categories", {"hashtag": "uy", "name_uz": "Uy"}, page)
    assert half.status == 400 and "A category needs a name in uz, ru and en" in await half.text()
    assert (await post(panel_bot, f"{page}/words", {"words": "Qurol\n\nnarkotik\nqurol"}, page)).status == 303
    reason = {"text_uz": "Rasm yo'q", "text_ru": "Нет фото", "text_en": "No photo"}
    assert (await post(panel_bot, f"{page}/reasons", reason, page)).status == 303
    # The bot reads these rows on every use: what the panel saved is what it sees now.
    assert await channels_q.list_banned_words(db, channel_id) == ["narkotik", "qurol"]
    assert [c.hashtag for c in await channels_q.list_categories(db, channel_id)] == ["transport"]
    assert [r.text_en for r in await channels_q.list_reasons(db, channel_id)] == ["No photo"]
    shown = await (await panel_bot.client.get(page)).text()
    assert "#transport" in shown and "Нет фото" in shown and "narkotik" in shown


async def test_an_operator_cannot_open_channel_settings(panel_bot: Panel, db: asyncpg.Connection) -> None:
    await make_staff(db, "olga", Role.OPERATOR)
    await login(panel_bot.client, "olga")
    for path in ("/panel/channels", "/panel/channels/new", "/panel/channels/1"):
        assert (await panel_bot.client.get(path)).status == 403
