"""S4: a menu edited in the panel reaches the bot at once — in another process on the same
database too — and the panel's menu screen: tree, preview per language, refusals."""

from __future__ import annotations

from typing import Any

import asyncpg

from app.bot.callbacks import MenuNodeCb
from app.domain.actors import StaffMember
from app.domain.staff import Role
from app.domain.support import kb, menus
from app.domain.support.menus import NodeForm
from app.main import Bozor
from app.web import keys
from tests.helpers.panel import PASSWORD, SECRET_KEY, Panel, build_panel, csrf, login, make_staff
from tests.helpers.polling import eventually
from tests.helpers.support import draft

STALE = "This button is out of date. Send /start for a fresh menu."
STALE_RU = "Эта кнопка устарела. Отправьте /start, чтобы открыть новое меню."


def buttons(message: dict[str, Any]) -> list[str]:
    markup = message.get("reply_markup") or {}
    return [b["text"] for row in markup.get("inline_keyboard", []) for b in row]


def rows(message: dict[str, Any]) -> list[list[str]]:
    markup = message.get("reply_markup") or {}
    return [[b["text"] for b in row] for row in markup.get("inline_keyboard", [])]


async def submit(panel: Panel, url: str, fields: dict[str, str]) -> tuple[int, str]:
    token = await csrf(panel.client, "/panel/menu")
    answer = await panel.client.post(url, data={"csrf_token": token, **fields})
    return answer.status, await answer.text()


async def node_id(db: asyncpg.Connection, label: str) -> int:
    return int(await db.fetchval("SELECT id FROM menu_nodes WHERE labels->>'en' = $1", label))


HELP = {"kind": "submenu", "label_uz": "Yordam", "label_ru": "Помощь", "label_en": "Help", "wide": "1"}


async def test_a_menu_edited_in_one_process_shows_in_the_bot_of_another_at_once(
    bozor: Bozor, sandbox, aiohttp_client, make_config, database_url: str, db: asyncpg.Connection
) -> None:
    await make_staff(db, "boss", Role.ADMIN)
    john = await sandbox.user("John", language_code="en")
    ivan = await sandbox.user("Иван", language_code="ru")
    await john.send("/start")
    before = await john.wait_for_bot("Choose what you want to do")
    assert rows(before) == [["📢 Post an ad", "📋 My ads"], ["💬 Support", "🎯 Tasks"], ["🌐 Language"]]

    config = make_config(SECRET_KEY=SECRET_KEY, DEFAULT_LANGUAGE="en")
    async for other in build_panel(aiohttp_client, config, database_url):  # a second process
        await login(other.client, "boss", PASSWORD)
        status, _page = await submit(other, "/panel/menu/nodes", {**HELP, "text_en": "How can we help?"})
        assert status == 200
        help_id = await node_id(db, "Help")
        delivery = {"kind": "text", "parent": str(help_id), "label_en": "Delivery", "label_ru": "Доставка"}
        texts = {"text_en": "We deliver in 1 day.", "text_ru": "Доставляем за 1 день."}
        status, _page = await submit(other, "/panel/menu/nodes", {**delivery, **texts})
        assert status == 200
        site = {"kind": "url", "parent": str(help_id), "label_en": "Site", "url": "https://example.uz/faq"}
        status, _page = await submit(other, "/panel/menu/nodes", site)
        assert status == 200
        delivery_id = await node_id(db, "Delivery")

        async def followed(
            node: int = delivery_id, menu: int = help_id
        ) -> bool:  # reloaded on the notification
            return node in bozor.running.menu.nodes and len(bozor.running.menu.buttons(menu)) == 2

        await eventually(followed, what="the bot's process to know the new menu")
        await john.send("/start")
        menu = await john.wait_for_bot("Choose what you want to do")
        assert rows(menu)[-1] == ["Help"]  # wide: a row of its own, under today's buttons
        await john.press("Help")
        submenu = await john.wait_for_bot("How can we help?")
        assert rows(submenu) == [["Delivery", "Site"], ["⬅️ Back"]]
        assert submenu["reply_markup"]["inline_keyboard"][0][1]["url"] == "https://example.uz/faq"
        await john.press("Delivery")
        answer = await john.wait_for_bot("We deliver in 1 day.")
        assert rows(answer) == [["⬅️ Back"]]
        await john.press("⬅️ Back")
        await john.wait_for_bot("How can we help?")
        await john.press("⬅️ Back")
        home = await john.wait_for_bot("Choose what you want to do")
        assert rows(home)[-1] == ["Help"]

        await ivan.send("/start")  # Russian labels; no Russian label: the default language's
        await ivan.wait_for_bot(lambda m: "Помощь" in buttons(m))
        await ivan.press("Помощь")
        await ivan.wait_for_bot(lambda m: rows(m) == [["Доставка", "Site"], ["⬅️ Назад"]])

        # Today's buttons keep their callback data: a menu sent before the change still works.
        await john.press("📋 My ads", message_id=before["message_id"])
        await john.wait_for_bot("You have no ads yet.")

        # Deleted in the panel: its button on an older message is out of date, nothing changes.
        status, _page = await submit(other, f"/panel/menu/nodes/{help_id}/delete", {})
        assert status == 200

        async def forgotten(menu: int = help_id) -> bool:
            return menu not in bozor.running.menu.nodes

        await eventually(forgotten, what="the bot to forget the submenu")
        pressed = await ivan.press("Доставка")
        assert (await ivan.callback_answer(pressed["callback_query_id"]))["text"] == STALE_RU
        forged = await john.press(callback_data=MenuNodeCb(id=999_999).pack(), forged=True)
        assert (await john.callback_answer(forged["callback_query_id"]))["text"] == STALE
        assert len(MenuNodeCb(id=2**63 - 1).pack().encode()) <= 64  # Telegram's limit, for any id
        assert await db.fetchval("SELECT count(*) FROM menu_nodes") == 5


async def test_the_menu_screen_shows_the_tree_and_previews_and_refuses_bad_input(
    panel: Panel, db: asyncpg.Connection
) -> None:
    await make_staff(db, "boss", Role.ADMIN)
    await login(panel.client, "boss")
    page = await (await panel.client.get("/panel/menu")).text()
    assert "📢 Post an ad" in page and "📢 Подать объявление" in page  # the preview in each language
    status, page = await submit(panel, "/panel/menu/nodes", {**HELP, "label_ru": ""})
    assert status == 200 and "Saved. The bot shows the new menu now." in page
    assert ">Yordam<" in page and "Главное меню › Help" in page  # Russian: the default language's label
    help_id = await node_id(db, "Help")
    assert panel.app[keys.RUNNING_SETTINGS].menu.nodes[help_id].labels["uz"] == "Yordam"  # applied here

    page = await (await panel.client.get(f"/panel/menu?edit={help_id}")).text()
    assert 'value="Помощь"' not in page and 'value="Yordam"' in page  # the form holds the node
    before = await db.fetch("SELECT * FROM menu_nodes ORDER BY id")
    await panel.client.get("/panel/lang/ru")
    refused = {
        "label_en": ("x" * 65, "Надпись на en длиной 65 символов; на кнопке помещается не больше 64."),
        "url": ("javascript:alert(1)", "Ссылка начинается с https://, http:// или tg://"),
    }
    for name, (value, message) in refused.items():
        kind = "url" if name == "url" else "text"
        fields = {"kind": kind, "label_en": "Site", "label_uz": "Sayt", "text_en": "t", name: value}
        status, page = await submit(panel, "/panel/menu/nodes", fields)
        assert status == 400 and message in page, name
        assert f'value="{value}"' in page  # what was typed stays in the form
    status, page = await submit(panel, f"/panel/menu/nodes/{help_id}", {**HELP, "parent": str(help_id)})
    assert status == 400 and "Подменю не может находиться внутри самого себя" in page
    assert await db.fetch("SELECT * FROM menu_nodes ORDER BY id") == before
    post = await db.fetchval("SELECT id FROM menu_nodes WHERE action = 'post'")
    page = await (await panel.client.get(f"/panel/menu?edit={post}")).text()
    assert 'placeholder="📢 Подать объявление"' in page  # an action's empty label: the built-in one

    status, page = await submit(panel, f"/panel/menu/nodes/{help_id}/move", {"direction": "up"})
    assert status == 200
    assert [r["kind"] for r in await db.fetch("SELECT kind FROM menu_nodes ORDER BY position, id")][-2:] == [
        "submenu",
        "action",
    ]
    await db.execute("INSERT INTO support_kb_entries (key, enabled) VALUES ('old-faq', false)")
    await panel.client.get("/panel/lang/en")
    status, page = await submit(
        panel, "/panel/menu/nodes", {"kind": "kb", "label_en": "FAQ", "kb_key": "old-faq"}
    )
    assert status == 200 and "old-faq (switched off: the button says it is no longer valid)" in page
    status, page = await submit(panel, "/panel/menu/reset", {})
    assert status == 200 and await db.fetchval("SELECT count(*) FROM menu_nodes WHERE kind = 'action'") == 5


async def test_talk_to_a_person_web_chat_and_a_knowledge_base_answer_from_the_menu(
    bozor: Bozor, sandbox, db: asyncpg.Connection
) -> None:
    boss = StaffMember(await make_staff(db, "boss", Role.ADMIN))
    async with db.transaction():
        await kb.create_entry(db, draft("wrap"))
    added = [
        NodeForm(None, "action", {}, action="human"),
        NodeForm(None, "action", {}, action="webchat"),
        NodeForm(None, "kb", {lang: "Wrapping" for lang in ("uz", "ru", "en")}, kb_key="wrap", wide=True),
    ]
    for node in added:
        async with db.transaction():
            tree = await menus.add_node(db, boss, node, default_language="uz")

    async def followed(version: int = tree.version) -> bool:
        return bozor.running.menu.version == version

    await eventually(followed, what="the bot to load the menu changed in the database")
    john = await sandbox.user("John", language_code="en")
    await john.send("/start")
    menu = await john.wait_for_bot("Choose what you want to do")
    assert rows(menu)[2:] == [["🌐 Language", "🙋 Talk to a person"], ["💭 Web chat"], ["Wrapping"]]
    await john.press("Wrapping")
    await john.wait_for_bot("Use two layers of paper.")
    await john.press("💭 Web chat", message_id=menu["message_id"])
    await john.wait_for_bot("Open the web chat (the link works once, for 30 minutes)")
    await john.press("🙋 Talk to a person", message_id=menu["message_id"])
    await john.wait_for_bot("Your question is with an operator")
    assert await db.fetchval("SELECT count(*) FROM support_tickets WHERE user_id = $1", john.id) == 1
    assert rows((await john.chat())[1]) == rows(menu)  # the menu stays as it was


async def test_a_change_missed_while_listen_was_down_is_loaded_after_the_reconnect(
    panel: Panel, db: asyncpg.Connection
) -> None:
    tree = panel.app[keys.RUNNING_SETTINGS].menu
    listener = "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'"

    async def listening() -> bool:
        return await db.fetchval(listener) is not None

    await eventually(listening, what="the process to LISTEN")
    # Changed without a notification (as if sent while the connection was down), then the loss.
    await db.execute("""UPDATE menu_nodes SET labels = '{"en": "Sell"}' WHERE action = 'post'""")
    await db.execute("UPDATE menu_state SET version = version + 1")
    await db.execute(f"SELECT pg_terminate_backend(pid) FROM ({listener}) AS l")

    async def reloaded() -> bool:
        return tree.buttons(None)[0].labels.get("en") == "Sell"

    await eventually(reloaded, what="the menu to be reloaded after the reconnect")


async def test_a_saved_change_leads_to_the_menu_page_so_a_reload_does_not_repeat_it(
    panel: Panel, db: asyncpg.Connection
) -> None:
    """Found by review: a change answered with the page itself, so reloading it (a phone that
    reloads a tab does so on its own) posted the form again and added the button twice."""
    await make_staff(db, "boss", Role.ADMIN)
    await login(panel.client, "boss")
    token = await csrf(panel.client, "/panel/menu")
    added = await panel.client.post(
        "/panel/menu/nodes", data={"csrf_token": token, **HELP}, allow_redirects=False
    )
    assert added.status == 303
    page = await (await panel.client.get(added.headers["Location"])).text()
    assert "Saved. The bot shows the new menu now." in page and ">Yordam<" in page
    assert await db.fetchval("SELECT count(*) FROM menu_nodes WHERE kind = 'submenu'") == 1
    for url in (f"/panel/menu/nodes/{await node_id(db, 'Help')}/move", "/panel/menu/reset"):
        moved = await panel.client.post(url, data={"csrf_token": token}, allow_redirects=False)
        assert moved.status == 303 and moved.headers["Location"].startswith("/panel/menu?")
