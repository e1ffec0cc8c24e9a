"""The web server: health check, friendly errors, static and media files, the webhook."""

from __future__ import annotations

import aiohttp
import asyncpg

from app.config import Config
from app.domain import staff as staff_domain
from app.domain.staff import Role
from app.main import Bozor, webhook_secret
from app.storage import DiskStorage
from app.web import keys
from tests.helpers.ads import add_ads, market_channel, pending_ad
from tests.helpers.panel import SECRET_KEY, build_panel, login, make_staff
from tests.helpers.servers import TEST_TOKEN, with_database


async def get(url: str, **headers: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as response:
        return response.status, response.content_type, await response.text()


async def test_healthz_is_ok_while_the_database_answers(bozor: Bozor) -> None:
    async with aiohttp.ClientSession() as http, http.get(f"{bozor.config.base_url}/healthz") as r:
        assert r.status == 200
        assert (await r.json())["status"] == "ok"


async def test_healthz_is_503_when_the_database_is_gone(
    bozor: Bozor, pg_admin_dsn: str, database_url: str
) -> None:
    name = database_url.rsplit("/", 1)[1].split("?")[0]
    admin = await asyncpg.connect(with_database(pg_admin_dsn, "postgres"))
    try:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await admin.close()
    async with aiohttp.ClientSession() as http, http.get(f"{bozor.config.base_url}/healthz") as r:
        assert r.status == 503
        assert (await r.json())["status"] == "unavailable"


async def test_an_unknown_page_is_a_friendly_404(bozor: Bozor) -> None:
    status, kind, body = await get(f"{bozor.config.base_url}/no/such/page", Accept="text/html")
    assert (status, kind) == (404, "text/html")
    assert "Page not found" in body and "Traceback" not in body
    status, kind, body = await get(f"{bozor.config.base_url}/no/such/page", Accept="application/json")
    assert (status, kind) == (404, "application/json")


async def test_static_files_and_media_are_served(bozor: Bozor) -> None:
    status, kind, body = await get(f"{bozor.config.base_url}/static/bozor.css")
    assert status == 200 and kind == "text/css" and "--accent" in body
    await bozor.storage.put("ads/1/photo.jpg", b"\xff\xd8jpeg-bytes", "image/jpeg")
    url = await bozor.storage.url("ads/1/photo.jpg")
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        assert response.status == 404  # no published ad shows it: not public
    async with bozor.pool.acquire() as conn:
        [ad_id] = await add_ads(conn, await market_channel(conn), 1, status="published")
        await conn.execute(
            "INSERT INTO ad_photos (ad_id, position, file_id, file_unique_id, storage_key) "
            "VALUES ($1, 0, 'f', 'u', 'ads/1/photo.jpg')",
            ad_id,
        )
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        assert response.status == 200 and response.content_type == "image/jpeg"
        assert await response.read() == b"\xff\xd8jpeg-bytes"
    status, _, _ = await get(f"{bozor.config.base_url}/media/ads/..%2F..%2Fsecret_key")
    assert status == 404


async def webhook_bozor(make_config, sandbox_url: str) -> Bozor:
    from app.main import free_port

    port = free_port()
    config: Config = make_config(
        BOT_TOKEN=TEST_TOKEN,
        TELEGRAM_API_URL=sandbox_url,
        TELEGRAM_MODE="webhook",
        PORT=str(port),
        PUBLIC_URL=f"http://127.0.0.1:{port}",
    )
    app = Bozor(config)
    await app.start()
    return app


async def test_webhook_mode_answers_updates_delivered_by_telegram(
    make_config, sandbox_url, sandbox, db
) -> None:
    app = await webhook_bozor(make_config, sandbox_url)
    try:
        info = await app.bot.get_webhook_info()
        assert info.url == f"{app.config.public_url}/telegram/webhook"
        zarina = await sandbox.user("Zarina", language_code="ru")
        await zarina.send("/start")
        await zarina.wait_for_bot("Здравствуйте, Zarina!")
        assert await db.fetchval("SELECT count(*) FROM update_journal") == 1
    finally:
        await app.stop()


async def test_webhook_mode_rejects_a_wrong_secret(make_config, sandbox_url, sandbox, db) -> None:
    app = await webhook_bozor(make_config, sandbox_url)
    try:
        update = {
            "update_id": 1,
            "message": {
                "message_id": 1,
                "date": 1,
                "chat": {"id": 5, "type": "private"},
                "from": {"id": 5, "is_bot": False, "first_name": "Mallory"},
                "text": "/start",
            },
        }
        url = f"{app.config.public_url}/telegram/webhook"
        async with aiohttp.ClientSession() as http:
            for secret in ("wrong", ""):
                async with http.post(
                    url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": secret}
                ) as response:
                    assert response.status == 401
            async with http.post(url, json=update) as response:
                assert response.status == 401
            async with http.post(
                url,
                data=b"{not json",
                headers={"X-Telegram-Bot-Api-Secret-Token": webhook_secret(app.config)},
            ) as response:
                assert response.status == 400
        assert await db.fetchval("SELECT count(*) FROM update_journal") == 0
        assert await db.fetchval("SELECT count(*) FROM users") == 0
    finally:
        await app.stop()


async def test_a_crashing_view_is_a_friendly_500_not_a_traceback(aiohttp_client, make_config) -> None:
    from app.web.app import create_web_app

    async def broken(request):
        raise RuntimeError("secret internal detail")

    app = create_web_app(make_config(), services={})
    app.router.add_get("/broken", broken)
    client = await aiohttp_client(app)
    response = await client.get("/broken", headers={"Accept": "text/html"})
    body = await response.text()
    assert response.status == 500 and "Something went wrong" in body
    assert "secret internal detail" not in body and "Traceback" not in body


async def test_the_start_page_links_the_sandbox_and_the_panel_in_the_visitors_language(
    make_config, aiohttp_client
) -> None:
    from app.web.app import create_web_app

    client = await aiohttp_client(create_web_app(make_config(), services={}))
    pages = {}
    for lang in ("uz", "ru", "en"):
        response = await client.get("/", headers={"Accept-Language": lang})
        assert response.status == 200
        pages[lang] = await response.text()
        assert 'href="/sandbox/"' in pages[lang] and 'href="/panel"' in pages[lang]
        assert f'<html lang="{lang}">' in pages[lang]
    assert "Open the sandbox" in pages["en"]
    assert "Open the sandbox" not in pages["uz"] and "Open the sandbox" not in pages["ru"]
    # The footer's language switch comes back to the start page.
    switched = await client.get("/panel/lang/ru?next=/", allow_redirects=False)
    assert switched.headers["Location"] == "/"


async def test_a_pending_ads_photo_is_only_for_staff_of_its_channel(
    aiohttp_client, make_config, database_url: str, db: asyncpg.Connection, tmp_path
) -> None:
    storage = DiskStorage(tmp_path / "media", "/media")

    def with_storage(app) -> None:
        app[keys.STORAGE] = storage

    config = make_config(SECRET_KEY=SECRET_KEY, DEFAULT_LANGUAGE="en")
    async for panel in build_panel(aiohttp_client, config, database_url, with_storage):
        await pending_photo_is_for_staff(panel, db, storage)


async def pending_photo_is_for_staff(panel, db: asyncpg.Connection, storage: DiskStorage) -> None:
    await storage.put("ads/9/pending.jpg", b"\xff\xd8secret", "image/jpeg")
    channel = await market_channel(db)
    ad_id = await pending_ad(db, channel, "Divan")
    await db.execute("UPDATE ad_photos SET storage_key = 'ads/9/pending.jpg' WHERE ad_id = $1", ad_id)
    assert (await panel.client.get("/media/ads/9/pending.jpg")).status == 404  # anonymous
    elsewhere = await make_staff(db, "elsewhere", Role.MODERATOR)  # moderates no channel
    await login(panel.client, elsewhere.username)
    assert (await panel.client.get("/media/ads/9/pending.jpg")).status == 404
    moderator = await make_staff(db, "moder", Role.MODERATOR)
    await staff_domain.give_channel(db, moderator.id, channel, by=None)
    await login(panel.client, "moder")
    response = await panel.client.get("/media/ads/9/pending.jpg")
    assert response.status == 200 and await response.read() == b"\xff\xd8secret"


async def test_media_that_no_ad_shows_is_only_for_the_staff_its_kind_concerns(
    aiohttp_client, make_config, database_url: str, db: asyncpg.Connection, tmp_path
) -> None:
    storage = DiskStorage(tmp_path / "media", "/media")

    def with_storage(app) -> None:
        app[keys.STORAGE] = storage

    config = make_config(SECRET_KEY=SECRET_KEY, DEFAULT_LANGUAGE="en")
    async for panel in build_panel(aiohttp_client, config, database_url, with_storage):
        await media_by_kind(panel, db, storage)


async def media_by_kind(panel, db: asyncpg.Connection, storage: DiskStorage) -> None:
    files = {
        "support": "support/777/ticket.jpg",
        "chat": "chat/abcdefghijklmnopqrstuvwx.jpg",
        "broadcast": "broadcasts/abcdefghijklmnopqrstuvwx.jpg",
        "draft": "photos/AQADdraft",  # a wizard's photo no ad names yet
        "pending": "photos/AQADpending",
    }
    for key in files.values():
        await storage.put(key, b"\xff\xd8" + key.encode(), "image/jpeg")
    channel = await market_channel(db)
    ad_id = await pending_ad(db, channel, "Divan")
    await db.execute("UPDATE ad_photos SET storage_key = $2 WHERE ad_id = $1", ad_id, files["pending"])
    conversation = await db.fetchval(
        """WITH a AS (INSERT INTO chat_accounts (display_name) VALUES ('Buyer'), ('Seller') RETURNING id)
           INSERT INTO chat_conversations (starter_id, other_id)
           SELECT min(id), max(id) FROM a RETURNING id"""
    )
    await db.execute(
        "INSERT INTO chat_messages (conversation_id, sender_id, photo_key, via) "
        "SELECT $1, starter_id, $2, 'web' FROM chat_conversations WHERE id = $1",
        conversation,
        files["chat"],
    )
    moderator = await make_staff(db, "moder", Role.MODERATOR)
    await staff_domain.give_channel(db, moderator.id, channel, by=None)
    await make_staff(db, "operator", Role.OPERATOR)
    await make_staff(db, "boss", Role.ADMIN)

    async def seen_by(who: str | None) -> set[str]:
        if who is not None:
            await login(panel.client, who)
        seen = set()
        for kind, key in files.items():
            response = await panel.client.get(f"/media/{key}")
            assert response.status in (200, 404), (who, kind, response.status)  # never a 403
            if response.status == 200:
                assert await response.read() == b"\xff\xd8" + key.encode()
                assert response.headers["Cache-Control"] == "private, no-store"
                seen.add(kind)
        return seen

    assert await seen_by(None) == set()
    assert await seen_by("moder") == {"pending"}  # their channel's ad, nothing else
    assert await seen_by("operator") == {"support"}  # the chat is not reported
    assert await seen_by("boss") == {"support", "broadcast", "draft", "pending"}
    await db.execute("UPDATE chat_conversations SET reported_at = now() WHERE id = $1", conversation)
    assert await seen_by("operator") == {"support", "chat"}
    assert await seen_by("moder") == {"pending"}
    assert await seen_by("boss") == set(files)
