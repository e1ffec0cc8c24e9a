"""S1: the bot's commands and texts edited in the panel apply at once — the command menu in
every language, the bot's answers, and the other processes' memory."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import aiohttp
import asyncpg

from app.domain import staff as staff_domain
from app.domain.staff import Role
from app.domain.support.commands import CommandBook
from app.main import Bozor
from app.web import keys
from tests.helpers.panel import PASSWORD, SECRET_KEY, TOKEN_RE, Panel, build_panel, csrf, login
from tests.helpers.polling import eventually

PRICE = {
    "name": "price",
    "description_en": "Prices of promotion",
    "description_ru": "Цены на продвижение",
    "description_uz": "Reklama narxlari",
    "text_en": "A pin costs 50 Stars.",
    "text_ru": "Закрепление стоит 50 звёзд.",
    "text_uz": "Qadash 50 Yulduz turadi.",
}


@contextlib.asynccontextmanager
async def admin_browser(bozor: Bozor) -> AsyncIterator[aiohttp.ClientSession]:
    """The running Bozor's panel, logged in as the admin "boss", reading English."""
    async with aiohttp.ClientSession(
        base_url=bozor.config.base_url, cookie_jar=aiohttp.CookieJar(unsafe=True)
    ) as session:
        await (await session.get("/panel/lang/en", allow_redirects=False)).release()
        async with session.get("/panel/login") as page:
            token = TOKEN_RE.search(await page.text()).group(1)  # type: ignore[union-attr]
        data = {"csrf_token": token, "username": "boss", "password": PASSWORD}
        async with session.post("/panel/login", allow_redirects=False, data=data) as answer:
            assert answer.status == 303
        yield session


async def post(session: aiohttp.ClientSession, url: str, fields: dict[str, str]) -> tuple[int, str]:
    async with session.get("/panel/commands") as page:
        token = TOKEN_RE.search(await page.text()).group(1)  # type: ignore[union-attr]
    async with session.post(url, data={"csrf_token": token, **fields}) as answer:
        return answer.status, await answer.text()


async def menu(bozor: Bozor, language: str | None) -> dict[str, str]:
    assert bozor.bot is not None
    return {c.command: c.description for c in await bozor.bot.get_my_commands(language_code=language)}


async def test_a_command_and_a_greeting_saved_in_the_panel_apply_at_once(bozor, sandbox, db) -> None:
    await staff_domain.create_staff(db, "boss", PASSWORD, Role.ADMIN)
    users = {
        "en": await sandbox.user("John", language_code="en"),
        "ru": await sandbox.user("Иван", language_code="ru"),
        "uz": await sandbox.user("Aziz", language_code="uz"),
    }
    async with admin_browser(bozor) as session:
        status, page = await post(session, "/panel/commands", PRICE)
        assert status == 200 and "Saved. The bot uses it from now on." in page
        # The command menu, in each language: the bot's own commands, then the new one.
        assert await menu(bozor, "ru") == {
            "start": "Главное меню",
            "language": "Сменить язык",
            "help": "Помощь",
            "price": "Цены на продвижение",
        }
        assert (await menu(bozor, None))["price"] == "Prices of promotion"
        assert (await menu(bozor, "uz"))["price"] == "Reklama narxlari"
        for lang, user in users.items():
            await user.send("/price")
            await user.wait_for_bot(PRICE[f"text_{lang}"])
        await users["ru"].send("/help")  # today's help text, with the new command listed
        await users["ru"].wait_for_bot("/price - Цены на продвижение")

        # The greeting edited in English only: English users get it, the others today's text.
        status, page = await post(
            session, "/panel/commands/texts", {"name": "start", "text_en": "Welcome, {name}, to our bazaar!"}
        )
        assert status == 200
        await users["en"].send("/start")
        await users["en"].wait_for_bot("Welcome, John, to our bazaar!")
        await users["ru"].send("/start")
        await users["ru"].wait_for_bot("Здравствуйте, Иван!")
        status, _page = await post(
            session, "/panel/commands/texts", {"name": "help", "text_uz": "Yordam matni"}
        )
        await users["uz"].send("/help")
        await users["uz"].wait_for_bot("Yordam matni")

        # Deleted: gone from the menu.
        status, _page = await post(session, "/panel/commands/price/delete", {})
        assert status == 200
        assert "price" not in await menu(bozor, "ru")
    actions = [
        r["action"] for r in await db.fetch("SELECT action FROM audit_log WHERE action LIKE 'command.%'")
    ]
    assert actions == ["command.save", "command.text", "command.text", "command.delete"]


async def test_bad_names_and_texts_are_refused_and_nothing_is_saved(panel: Panel, db) -> None:
    await staff_domain.create_staff(db, "boss", PASSWORD, Role.ADMIN)
    await login(panel.client, "boss")
    refused = {
        "Price": "1 to 32 characters: small Latin letters, digits and underscores",
        "x" * 33: "1 to 32 characters",
        "pri-ce": "1 to 32 characters",
        "": "1 to 32 characters",
        "language": "/language is a command of the bot itself; choose another name.",
    }
    for name, message in refused.items():
        token = await csrf(panel.client, "/panel/commands")
        answer = await panel.client.post("/panel/commands", data={"csrf_token": token, **PRICE, "name": name})
        assert answer.status == 400, name
        assert message in await answer.text(), name
    cases = [
        ({"text_ru": "я" * 4097}, "The text in ru is 4097 characters long; Telegram takes at most 4096."),
        (
            {"text_en": "", "text_ru": "", "text_uz": ""},
            "Write the answer in at least one language.",
        ),
        ({"description_en": "", "description_ru": "", "description_uz": ""}, "description for the menu"),
    ]
    for change, message in cases:
        token = await csrf(panel.client, "/panel/commands")
        answer = await panel.client.post("/panel/commands", data={"csrf_token": token, **PRICE, **change})
        assert answer.status == 400 and message in await answer.text()
    token = await csrf(panel.client, "/panel/commands")
    answer = await panel.client.post(
        "/panel/commands/texts", data={"csrf_token": token, "name": "start", "text_en": "w" * 4097}
    )
    assert answer.status == 400 and "Telegram takes at most 4096" in await answer.text()
    assert await db.fetchval("SELECT count(*) FROM bot_commands") == 0
    assert panel.app[keys.RUNNING_SETTINGS].commands.commands == {}


async def test_a_command_saved_in_one_process_is_known_in_another(
    aiohttp_client, make_config, database_url: str, db: asyncpg.Connection
) -> None:
    await staff_domain.create_staff(db, "boss", PASSWORD, Role.ADMIN)
    config = make_config(SECRET_KEY=SECRET_KEY, DEFAULT_LANGUAGE="en")
    async for first in build_panel(aiohttp_client, config, database_url):
        async for second in build_panel(aiohttp_client, config, database_url):
            book = second.app[keys.RUNNING_SETTINGS].commands
            await login(first.client, "boss")
            token = await csrf(first.client, "/panel/commands")
            saved = await first.client.post("/panel/commands", data={"csrf_token": token, **PRICE})
            assert saved.status == 200

            async def followed(book: CommandBook = book) -> bool:
                found = book.custom("price")
                return found is not None and found.text("ru") == PRICE["text_ru"]

            await eventually(followed, what="the other process to know /price")
