"""The web server: health check, friendly errors, static and media files, the webhook."""

from __future__ import annotations

import aiohttp
import asyncpg

from app.config import Config
from app.main import Bozor, webhook_secret
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
