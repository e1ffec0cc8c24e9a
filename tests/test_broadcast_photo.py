"""A broadcast's optional photo: uploaded in the composer (checked with Pillow, kept in Storage),
shown in the preview, its text the caption (at most 1024 characters); the test send and the real
send are sendPhoto with that caption, and recipients in the sandbox get the photo."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import asyncpg
import pytest
from aiogram import Bot

from app.bot.dispatcher import create_bot
from app.bot.outbox import OutboxSender
from app.db.pool import create_pool
from app.domain import broadcasts
from app.domain import staff as staff_domain
from app.domain.actors import StaffMember
from app.domain.broadcasts import Audience, BroadcastError
from app.domain.staff import Role
from app.domain.users import Languages
from app.sandbox.driver import Sandbox
from app.storage.disk import DiskStorage
from tests.helpers.chat import with_media
from tests.helpers.images import png
from tests.helpers.panel import PASSWORD, SECRET_KEY, Panel, build_panel, csrf, login
from tests.helpers.polling import outbox_settled
from tests.helpers.servers import TEST_TOKEN, SandboxServer


@pytest.fixture
async def panel(aiohttp_client, make_config, database_url: str, tmp_path: Path) -> AsyncIterator[Panel]:
    config = make_config(SECRET_KEY=SECRET_KEY, DEFAULT_LANGUAGE="en")
    async for built in build_panel(aiohttp_client, config, database_url, with_media(tmp_path / "media")):
        yield built


def _form(token: str, fields: dict[str, str], photo: bytes | None = None) -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("csrf_token", token)
    for name, value in fields.items():
        form.add_field(name, value)
    if photo is not None:
        form.add_field("photo", photo, filename="sale.png", content_type="image/png")
    return form


async def test_the_composer_takes_a_photo_previews_it_and_the_test_send_is_the_photo_with_its_caption(
    panel: Panel, db: asyncpg.Connection, tmp_path: Path
) -> None:
    await staff_domain.create_staff(db, "boss", PASSWORD, Role.ADMIN, telegram_user_id=777)
    await db.execute("INSERT INTO users (id, first_name, language) VALUES (777, 'Boss', 'uz')")
    await login(panel.client, "boss")
    token = await csrf(panel.client, "/panel/broadcasts")
    texts = {"text_default": "Sale <b>today</b>", "text_uz": "Bugun <b>chegirma</b>", "action": "preview"}

    refused = await panel.client.post("/panel/broadcasts", data=_form(token, texts, b"not an image"))
    assert refused.status == 400 and "This file is not a photo" in await refused.text()
    assert not (tmp_path / "media" / "broadcasts").exists()  # nothing kept
    long = {**texts, "text_uz": "x" * 1025}
    too_long = await panel.client.post("/panel/broadcasts", data=_form(token, long, png(40, 30)))
    assert too_long.status == 400 and "at most 1024 characters" in await too_long.text()

    preview = await panel.client.post("/panel/broadcasts", data=_form(token, texts, png(40, 30)))
    page = await preview.text()
    assert preview.status == 200 and "Recipients now: 1" in page
    src = page.split('class="img-fluid rounded mb-1 broadcast-photo" src="')[1].split('"')[0]
    shown = await panel.client.get(src)
    assert shown.status == 200 and shown.content_type == "image/png" and await shown.read() == png(40, 30)
    kept = page.split('name="photo_key" value="')[1].split('"')[0]
    assert kept.startswith("broadcasts/")

    # Saving after the preview keeps the photo without uploading it again; a forged key is refused.
    forged = await panel.client.post(
        "/panel/broadcasts", data=_form(token, {**texts, "action": "save", "photo_key": "ads/1/p1.jpg"})
    )
    assert forged.status == 400 and "Upload the photo again." in await forged.text()
    saved = await panel.client.post(
        "/panel/broadcasts",
        data=_form(token, {**texts, "action": "save", "photo_key": kept}),
        allow_redirects=False,
    )
    assert saved.status == 303, await saved.text()
    url = saved.headers["Location"]
    detail = await (await panel.client.get(url)).text()
    assert src in detail and "Bugun <b>chegirma</b>" in detail
    assert await db.fetchval("SELECT photo_key FROM broadcasts") == kept

    test = await panel.client.post(f"{url}/test", data={"csrf_token": await csrf(panel.client, url)})
    assert test.status == 200 and "Sent to your Telegram." in await test.text()
    row = await db.fetchrow("SELECT method, params FROM outbox WHERE chat_id = 777")
    assert row["method"] == "sendPhoto"
    assert (
        row["params"]["photo"] == {"$storage": kept} and row["params"]["caption"] == "Bugun <b>chegirma</b>"
    )
    assert "text" not in row["params"]


@pytest.fixture
async def sender(
    database_url: str, sandbox_server: SandboxServer, tmp_path: Path
) -> AsyncIterator[OutboxSender]:
    pool = await create_pool(database_url)
    sandbox_server.world.add_bot(TEST_TOKEN)
    bot: Bot = create_bot(TEST_TOKEN, sandbox_server.url, wait_on_flood=False)
    sender = OutboxSender(pool, bot, storage=DiskStorage(tmp_path / "media", "/media"), tick=0.5)
    await sender.start()
    yield sender
    await sender.stop(drain=2.0)
    await bot.session.close()
    await pool.close()


async def test_recipients_get_the_photo_with_their_languages_caption_and_it_is_uploaded_once(
    db: asyncpg.Connection, sandbox: Sandbox, sender: OutboxSender
) -> None:
    assert sender.storage is not None
    boss = StaffMember(await staff_domain.create_staff(db, "boss", None, Role.ADMIN))
    people = []
    for name, language in (("Aziz", "uz"), ("Olga", "ru"), ("John", None)):
        persona = await sandbox.user(name)
        await persona.send("/start")
        await db.execute(
            "INSERT INTO users (id, first_name, language) VALUES ($1, $2, $3)", persona.id, name, language
        )
        people.append(persona)
    key = await broadcasts.store_photo(sender.storage, png(64, 48))
    with pytest.raises(BroadcastError):
        await broadcasts.create(db, boss, {"default": "x" * 1025}, [], Audience(), photo_key=key)
    made = await broadcasts.create(
        db,
        boss,
        {"default": "Sale <b>today</b>", "uz": "Bugun <b>chegirma</b>", "ru": "Скидка <i>сегодня</i>"},
        broadcasts.parse_buttons("Shop | https://example.com/shop"),
        Audience(),
        photo_key=key,
    )
    assert await broadcasts.start(db, boss, made.id, languages=Languages()) == 3
    await outbox_settled(db)

    got = {p.id: await p.bot_messages() for p in people}
    captions = {p.id: [m.get("caption") for m in got[p.id]] for p in people}
    assert captions == {
        people[0].id: ["Bugun chegirma"],
        people[1].id: ["Скидка сегодня"],
        people[2].id: ["Sale today"],
    }
    for messages in got.values():
        assert messages[0]["photo"] and "text" not in messages[0]
        assert messages[0]["reply_markup"]["inline_keyboard"][0][0]["url"] == "https://example.com/shop"
    # The first send uploaded the photo; the others named Telegram's file_id: one photo in Telegram.
    assert key in sender.file_ids
    assert len({m[0]["photo"][-1]["file_unique_id"] for m in got.values()}) == 1
    assert (await broadcasts.progress(db, made.id)).sent == 3
