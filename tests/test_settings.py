"""The panel's S3 and language settings are used: S3 from the next start, languages at once."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

import aiohttp
import asyncpg
import pytest
from aiobotocore.session import get_session
from moto.core.authorization import enable_iam_authentication

from app.config import Config
from app.domain import channels
from app.domain import settings as settings_domain
from app.domain import staff as staff_domain
from app.domain.staff import Role
from app.domain.users import Languages
from app.main import Bozor, free_port
from app.web import keys
from tests.helpers.market import buttons, fill_wizard
from tests.helpers.panel import PASSWORD, SECRET_KEY, TOKEN_RE, build_panel, csrf, login
from tests.helpers.polling import eventually

ACCESS_KEY = "testing"
SECRET = "testing"


@contextlib.asynccontextmanager
async def _raw_s3(endpoint: str) -> AsyncIterator[object]:
    """A plain client, to look at the bucket from outside Bozor."""
    async with get_session().create_client(
        "s3",
        region_name="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET,
    ) as client:
        yield client


async def _new_bucket(endpoint: str) -> str:
    name = f"bozor-{uuid.uuid4().hex[:16]}"
    async with _raw_s3(endpoint) as client:
        await client.create_bucket(Bucket=name)  # type: ignore[attr-defined]
    return name


async def _bucket_keys(endpoint: str, bucket: str) -> list[str]:
    async with _raw_s3(endpoint) as client:
        response = await client.list_objects_v2(Bucket=bucket)  # type: ignore[attr-defined]
    return sorted(item["Key"] for item in response.get("Contents", []))


# The panel of a running Bozor, over HTTP as a browser reaches it ------------------------------


@contextlib.asynccontextmanager
async def admin_panel(bozor: Bozor) -> AsyncIterator[aiohttp.ClientSession]:
    """A browser logged in as the admin "boss" (created by the test), reading English."""
    async with aiohttp.ClientSession(
        base_url=bozor.config.base_url, cookie_jar=aiohttp.CookieJar(unsafe=True)
    ) as session:
        async with session.get("/panel/lang/en", allow_redirects=False) as chosen:
            assert chosen.status == 303
        async with session.get("/panel/login") as page:
            token = TOKEN_RE.search(await page.text()).group(1)
        async with session.post(
            "/panel/login",
            allow_redirects=False,
            data={"csrf_token": token, "username": "boss", "password": PASSWORD},
        ) as answer:
            assert answer.status == 303
        yield session


async def settings_page(session: aiohttp.ClientSession) -> str:
    async with session.get("/panel/settings") as page:
        assert page.status == 200
        return await page.text()


async def save_settings(session: aiohttp.ClientSession, **fields: str | list[str]) -> tuple[int, str]:
    token = TOKEN_RE.search(await settings_page(session)).group(1)
    data = aiohttp.FormData({"csrf_token": token})
    for name, value in fields.items():
        for one in value if isinstance(value, list) else [value]:
            data.add_field(name, one)
    async with session.post("/panel/settings", data=data, allow_redirects=False) as answer:
        return answer.status, await answer.text()


def s3_fields(endpoint: str, bucket: str, access: str = ACCESS_KEY, secret: str = SECRET) -> dict[str, str]:
    return {
        "section": "s3",
        "s3_endpoint": endpoint,
        "s3_bucket": bucket,
        "s3_region": "us-east-1",
        "s3_access_key": access,
        "s3_secret_key": secret,
    }


async def _channel_with_a_category(bozor: Bozor, sandbox) -> None:
    olga = await sandbox.user("Olga", username="olga_admin", language_code="ru")
    await olga.send("/start")
    await olga.wait_for_bot("")
    channel = await sandbox.channel("Bozor Demo", username="bozor_demo", admins=[olga])
    async with bozor.pool.acquire() as conn:
        row = await channels.create_channel(conn, title="Bozor Demo", chat_ref="@bozor_demo")
        await conn.execute("UPDATE channels SET chat_id = $2 WHERE id = $1", row.id, channel.id)
        await channels.add_category(
            conn, row.id, "transport", {"uz": "Transport", "ru": "Транспорт", "en": "Transport"}
        )
        await channels.add_admin(conn, row.id, olga.id)


# S3 ----------------------------------------------------------------------------------------


async def test_s3_saved_in_the_panel_is_used_by_the_whole_app_from_the_next_start(
    bot_config: Config, sandbox, db: asyncpg.Connection, s3_endpoint: str
) -> None:
    bucket = await _new_bucket(s3_endpoint)
    await staff_domain.create_staff(db, "boss", PASSWORD, Role.ADMIN)
    first = Bozor(bot_config)
    await first.start()
    try:
        async with admin_panel(first) as panel:
            assert "the disk (DATA_DIR/media)." in await settings_page(panel)
            status, _ = await save_settings(panel, **s3_fields(s3_endpoint, bucket))
            assert status == 303
            page = await settings_page(panel)
            assert "the disk (DATA_DIR/media)." in page  # opened at start: still the disk …
            assert "restart Bozor to apply them" in page  # … and the page says so
    finally:
        await first.stop()
    assert await _bucket_keys(s3_endpoint, bucket) == []  # the check cleaned up after itself

    second = Bozor(bot_config)
    await second.start()
    try:
        async with admin_panel(second) as panel:
            page = await settings_page(panel)
        assert f"S3 bucket “{bucket}” at {s3_endpoint}, from the settings below." in page
        assert "restart Bozor" not in page
        await _channel_with_a_category(second, sandbox)
        seller = await sandbox.user("Ali", username="ali_sotuvchi", language_code="uz")
        await seller.send("/start")
        await seller.wait_for_bot("Assalomu alaykum")
        await fill_wizard(seller)
        kept = [
            r["storage_key"] for r in await db.fetch("SELECT storage_key FROM ad_photos ORDER BY position")
        ]
        assert len(kept) == 2 and None not in kept
        assert set(kept) <= set(await _bucket_keys(s3_endpoint, bucket))
        media = bot_config.data_dir / "media"
        assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))
    finally:
        await second.stop()


async def test_a_saved_s3_that_is_down_at_start_leaves_media_on_disk_and_says_why(
    bot_config: Config, db: asyncpg.Connection
) -> None:
    """The panel must come up, so an admin can fix the S3 settings there."""
    admin = await staff_domain.create_staff(db, "boss", PASSWORD, Role.ADMIN)
    down = f"http://127.0.0.1:{free_port()}"
    form = settings_domain.parse_s3_form(s3_fields(down, "photos"))
    await settings_domain.save_s3(db, admin.id, form, secret_key=bot_config.secret_key)
    bozor = Bozor(bot_config)
    await bozor.start()
    try:
        async with admin_panel(bozor) as panel:
            page = await settings_page(panel)
        assert "the disk (DATA_DIR/media)." in page
        assert "could not be opened at the last start, so media go to the disk" in page
    finally:
        await bozor.stop()


async def _post_s3(client, fields: dict[str, str]):
    token = await csrf(client, "/panel/settings")
    return await client.post("/panel/settings", allow_redirects=False, data={"csrf_token": token, **fields})


@pytest.mark.parametrize("case", ["wrong keys", "unreachable endpoint", "no such bucket", "no address"])
async def test_s3_settings_that_do_not_work_get_a_clear_400_and_nothing_is_stored(
    panel, db: asyncpg.Connection, s3_endpoint: str, case: str
) -> None:
    await staff_domain.create_staff(db, "boss", PASSWORD, Role.ADMIN)
    await login(panel.client, "boss")
    bucket = await _new_bucket(s3_endpoint)
    if case == "wrong keys":
        with enable_iam_authentication():  # moto now checks keys as S3 does
            response = await _post_s3(
                panel.client,
                s3_fields(s3_endpoint, bucket, access="AKIAWRONGWRONGWRONG1", secret="not-the-secret"),
            )
        expected = "S3 refused the keys: check the access key and the secret key"
    elif case == "unreachable endpoint":
        endpoint = f"http://127.0.0.1:{free_port()}"
        response = await _post_s3(panel.client, s3_fields(endpoint, bucket))
        expected = "The S3 endpoint cannot be reached"
    elif case == "no address":  # urllib raises on it: it was a 500
        response = await _post_s3(panel.client, s3_fields("http://[::1", bucket))
        expected = "The endpoint is a URL like https://s3.example.com (empty for Amazon S3)."
    else:
        response = await _post_s3(panel.client, s3_fields(s3_endpoint, "no-such-bucket-here"))
        expected = "There is no bucket “no-such-bucket-here” there."
    page = await response.text()
    assert response.status == 400
    assert expected in page
    assert 'value="us-east-1"' in page  # what was typed is shown again to be corrected
    assert await db.fetchval("SELECT count(*) FROM settings") == 0
    assert await db.fetchval("SELECT count(*) FROM settings_secrets") == 0
    assert (
        await db.fetchval(
            "SELECT count(*) FROM audit_log WHERE action LIKE 'settings.%' OR action LIKE 'secret.%'"
        )
        == 0
    )


async def test_s3_can_be_cleared_back_to_disk(panel, db: asyncpg.Connection, s3_endpoint: str) -> None:
    await staff_domain.create_staff(db, "boss", PASSWORD, Role.ADMIN)
    await login(panel.client, "boss")
    bucket = await _new_bucket(s3_endpoint)
    assert (await _post_s3(panel.client, s3_fields(s3_endpoint, bucket))).status == 303
    page = await (await panel.client.get("/panel/settings")).text()
    assert "Stop using S3" in page
    assert (await _post_s3(panel.client, {"section": "s3_clear"})).status == 303
    assert await settings_domain.stored_s3(db, secret_key=SECRET_KEY) is None  # disk next start
    assert not await staff_domain.secret_is_set(db, "s3_secret_key")  # no key left behind
    assert not await staff_domain.secret_is_set(db, "s3_access_key")
    assert "Stop using S3" not in await (await panel.client.get("/panel/settings")).text()


# Languages ---------------------------------------------------------------------------------


async def test_a_disabled_language_leaves_the_picker_and_the_default_applies(
    bot_config: Config, sandbox, db: asyncpg.Connection
) -> None:
    await staff_domain.create_staff(db, "boss", PASSWORD, Role.ADMIN)
    first = Bozor(bot_config)
    await first.start()
    try:
        olga = await sandbox.user("Olga", language_code="ru")
        await olga.send("/language")
        picker = await olga.wait_for_bot("Выберите язык:")
        assert buttons(picker) == ["O'zbekcha", "Русский", "English"]
        await olga.press("Русский")
        await olga.wait_for_bot("Готово!")

        async with admin_panel(first) as panel:
            status, _ = await save_settings(
                panel, section="languages", languages=["uz", "en"], default_language="en"
            )
            assert status == 303
        # At once, without a restart: Olga's Russian is off, so she gets the default.
        await olga.send("/start")
        await olga.wait_for_bot("Hello, Olga!")
        await olga.send("/language")
        picker = await olga.wait_for_bot("Choose your language:")
        assert buttons(picker) == ["O'zbekcha", "English"]
        ivan = await sandbox.user("Ivan", language_code="ru")
        await ivan.send("/start")
        await ivan.wait_for_bot("Hello, Ivan!")
    finally:
        await first.stop()

    second = Bozor(bot_config)  # DEFAULT_LANGUAGE is uz: the saved default wins over it
    await second.start()
    try:
        hans = await sandbox.user("Hans", language_code="de")
        await hans.send("/start")
        await hans.wait_for_bot("Hello, Hans!")
        await hans.send("/language")
        assert buttons(await hans.wait_for_bot("Choose your language:")) == ["O'zbekcha", "English"]
    finally:
        await second.stop()


async def test_languages_saved_in_one_process_apply_in_another(
    aiohttp_client, make_config, database_url: str, db: asyncpg.Connection
) -> None:
    """Several processes behind nginx: the one that did not serve the save follows too."""
    await staff_domain.create_staff(db, "boss", PASSWORD, Role.ADMIN)
    config = make_config(SECRET_KEY=SECRET_KEY, DEFAULT_LANGUAGE="uz")
    async for first in build_panel(aiohttp_client, config, database_url):
        async for second in build_panel(aiohttp_client, config, database_url):
            other = second.app[keys.RUNNING_SETTINGS].languages
            assert other.enabled == ("uz", "ru", "en")
            await login(first.client, "boss")
            token = await csrf(first.client, "/panel/settings")
            saved = await first.client.post(
                "/panel/settings",
                allow_redirects=False,
                data=[
                    ("csrf_token", token),
                    ("section", "languages"),
                    ("languages", "ru"),
                    ("languages", "en"),
                    ("default_language", "ru"),
                ],
            )
            assert saved.status == 303

            async def followed(other: Languages = other) -> bool:
                return (other.enabled, other.default) == (("ru", "en"), "ru")

            await eventually(followed, what="the other process to follow the saved languages")
