"""S4: the bot's main menu as a tree edited in the panel — the rules of a change (domain)."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

from app.db.pool import init_connection
from app.domain.actors import StaffMember
from app.domain.staff import Role
from app.domain.support import menus
from app.domain.support.menus import MenuError, MenuTree, NodeForm
from app.i18n import Translator
from tests.helpers.panel import make_staff
from tests.helpers.polling import eventually

EN = Translator("en")


async def admin(db: asyncpg.Connection) -> StaffMember:
    return StaffMember(await make_staff(db, "boss", Role.ADMIN))


def form(kind: str, label: str = "", parent: int | None = None, **extra: Any) -> NodeForm:
    labels = extra.pop("labels", {"uz": label} if label else {})
    return NodeForm(parent_id=parent, kind=kind, labels=labels, **extra)


async def add(db: asyncpg.Connection, by: StaffMember, f: NodeForm) -> MenuTree:
    async with db.transaction():
        return await menus.add_node(db, by, f, default_language="uz")


def labels(tree: MenuTree, parent: int | None, lang: str = "en") -> list[list[str]]:
    return menus.preview(tree, parent, lang, EN(lang))


async def test_todays_menu_is_the_default_in_every_language(db: asyncpg.Connection) -> None:
    tree = await menus.load(db, "uz")
    assert labels(tree, None) == [["📢 Post an ad", "📋 My ads"], ["💬 Support", "🎯 Tasks"], ["🌐 Language"]]
    assert labels(tree, None, "ru")[0] == ["📢 Подать объявление", "📋 Мои объявления"]
    # A tree nothing was loaded into yet is today's menu too (a process before its first load).
    assert labels(MenuTree(), None) == labels(tree, None)


async def test_a_tree_is_built_reordered_moved_and_deleted(db: asyncpg.Connection) -> None:
    by = await admin(db)
    tree = await add(db, by, form("submenu", labels={"uz": "Yordam", "en": "Help"}, wide=True))
    help_id = tree.buttons(None)[-1].id
    texts = {"uz": "Yetkazish 1 kun", "ru": "Доставка за 1 день"}
    tree = await add(db, by, form("text", "Yetkazish", parent=help_id, texts=texts))
    tree = await add(db, by, form("url", "Sayt", parent=help_id, url="https://example.uz/faq"))
    delivery, site = tree.buttons(help_id)
    assert labels(tree, None)[-1] == ["Help"]  # wide: a row of its own, after today's buttons
    assert labels(tree, help_id, "ru") == [["Yetkazish", "Sayt"]]  # no Russian label: the default's
    assert (
        tree.text(delivery, "en") == "Yetkazish 1 kun" and tree.text(delivery, "ru") == "Доставка за 1 день"
    )
    assert (
        tree.depth(delivery.id) == 2
        and tree.path(delivery.id, "en", EN("en")) == "Main menu › Help › Yetkazish"
    )

    async with db.transaction():
        tree = await menus.move_node(db, by, site.id, -1, default_language="uz")
    assert [n.id for n in tree.buttons(help_id)] == [site.id, delivery.id]
    async with db.transaction():  # the first one up: nothing moves
        tree = await menus.move_node(db, by, site.id, -1, default_language="uz")
    assert [n.id for n in tree.buttons(help_id)] == [site.id, delivery.id]
    # Moved to the main menu, with a Russian label of its own.
    moved = form("url", labels={"uz": "Sayt", "ru": "Сайт"}, url="tg://resolve?domain=bozor")
    async with db.transaction():
        tree = await menus.save_node(db, by, site.id, moved, default_language="uz")
    assert tree.nodes[site.id].parent_id is None and labels(tree, None, "ru")[-1] == ["Сайт"]
    async with db.transaction():  # the submenu goes with what is in it
        tree = await menus.delete_node(db, by, help_id, default_language="uz")
    assert help_id not in tree.nodes and delivery.id not in tree.nodes
    async with db.transaction():
        tree = await menus.reset(db, by, default_language="uz")
    assert labels(tree, None) == labels(MenuTree(), None)
    actions = [r["action"] for r in await db.fetch("SELECT action FROM audit_log WHERE action LIKE 'menu.%'")]
    assert actions == ["menu.add"] * 3 + ["menu.move"] * 2 + ["menu.save", "menu.delete", "menu.reset"]


async def test_a_knowledge_base_entry_and_the_actions(db: asyncpg.Connection) -> None:
    by = await admin(db)
    entry_id = await db.fetchval("INSERT INTO support_kb_entries (key) VALUES ('delivery') RETURNING id")
    tree = await add(db, by, form("kb", "Yetkazish", kb_key="delivery"))
    assert tree.buttons(None)[-1].kb_entry_id == entry_id
    tree = await add(db, by, form("action", action="webchat"))  # no label: the built-in one
    assert labels(tree, None)[-2:] == [["🌐 Language", "Yetkazish"], ["💭 Web chat"]]  # two to a row


REFUSED = [
    (
        form("text", "x" * 65, texts={"uz": "a"}),
        "The label in uz is 65 characters long; a button takes at most 64.",
    ),
    (
        form("text", labels={"en": "Help"}, texts={"uz": "a"}),
        "Write the label in uz, the bot's default language.",
    ),
    (
        form("text", "Help", texts={"en": "only English"}),
        "Write the answer in uz, the bot's default language.",
    ),
    (form("text", "Help", texts={"uz": "я" * 4097}), "The text in uz is 4097 characters long"),
    (form("url", "Site", url="javascript:alert(1)"), "A link starts with https://, http:// or tg://"),
    (form("url", "Site", url="ftp://example.uz"), "A link starts with https://, http:// or tg://"),
    (form("url", "Site", url="https://"), "A link starts with https://, http:// or tg://"),
    (form("url", "Site", url="https://exa mple.uz"), "A link starts with https://, http:// or tg://"),
    (form("url", "Site", url="https://localhost:8080"), "A link starts with https://, http:// or tg://"),
    (form("url", "Site", url="https://example.uz:99999"), "A link starts with https://, http:// or tg://"),
    (form("url", "Site", url="http://[::1"), "A link starts with https://, http:// or tg://"),  # was a 500
    (form("url", "Site", url="tg://[resolve"), "A link starts with https://, http:// or tg://"),
    (form("kb", "FAQ", kb_key="nothing"), "There is no knowledge-base entry with the key “nothing”."),
    (form("action", action="drop_tables"), "Choose one of the bot's actions."),
    (form("folder", "Help"), "Choose what the button does."),
    (
        form("text", "Help", parent=-1, texts={"uz": "a"}),
        "Buttons go only into the main menu or into a submenu.",
    ),
]


@pytest.mark.parametrize(("bad", "message"), REFUSED)
async def test_bad_input_is_refused_and_nothing_changes(
    db: asyncpg.Connection, bad: NodeForm, message: str
) -> None:
    by = await admin(db)
    before = await db.fetch("SELECT * FROM menu_nodes ORDER BY id")
    with pytest.raises(MenuError) as refused:
        await add(db, by, bad)
    assert message in refused.value.text(EN("en"))
    assert await db.fetch("SELECT * FROM menu_nodes ORDER BY id") == before
    assert await db.fetchval("SELECT version FROM menu_state") == 0


async def test_depth_width_cycles_and_the_last_button(db: asyncpg.Connection) -> None:
    by = await admin(db)
    parent = None
    chain = []
    for level in range(1, 5):  # four levels of submenus: the deepest holds no more buttons
        tree = await add(db, by, form("submenu", f"Level {level}", parent=parent))
        parent = tree.buttons(parent)[-1].id
        chain.append(parent)
    assert tree.depth(chain[-1]) == 4
    with pytest.raises(MenuError, match="Menus go at most 4 levels deep"):
        await add(db, by, form("text", "Deep", parent=chain[-1], texts={"uz": "a"}))
    top, second = tree.nodes[chain[0]], tree.nodes[chain[1]]
    with pytest.raises(MenuError, match="cannot go inside itself"):  # a cycle
        async with db.transaction():
            await menus.save_node(
                db, by, top.id, form("submenu", "Level 1", parent=chain[2]), default_language="uz"
            )
    with pytest.raises(MenuError, match="at most 4 levels"):  # level 2 (3 levels tall) under level 2
        async with db.transaction():
            shallow = await add(db, by, form("submenu", "Other", parent=top.id))
            other = shallow.buttons(top.id)[-1].id
            await menus.save_node(
                db, by, second.id, form("submenu", "Level 2", parent=other), default_language="uz"
            )
    with pytest.raises(MenuError, match="has buttons in it"):
        async with db.transaction():
            await menus.save_node(
                db, by, top.id, form("text", "Now text", texts={"uz": "a"}), default_language="uz"
            )
    for n in range(2):  # today's 5, level 1, and two more: 8
        await add(db, by, form("text", f"T{n}", texts={"uz": "a"}))
    with pytest.raises(MenuError, match="at most 8 buttons"):
        await add(db, by, form("text", "Ninth", texts={"uz": "a"}))
    async with db.transaction():
        tree = await menus.reset(db, by, default_language="uz")
    for node in tree.buttons(None)[:-1]:
        async with db.transaction():
            tree = await menus.delete_node(db, by, node.id, default_language="uz")
    with pytest.raises(MenuError, match="The main menu needs at least one button"):
        async with db.transaction():
            await menus.delete_node(db, by, tree.buttons(None)[0].id, default_language="uz")
    with pytest.raises(MenuError, match="does not exist"):
        async with db.transaction():
            await menus.delete_node(db, by, 10**9, default_language="uz")


async def test_only_admins_edit_the_menu(db: asyncpg.Connection) -> None:
    operator = StaffMember(await make_staff(db, "operator", Role.OPERATOR))
    with pytest.raises(menus.NotAllowed):
        await add(db, operator, form("text", "Help", texts={"uz": "a"}))
    assert await db.fetchval("SELECT count(*) FROM menu_nodes") == 5


async def test_an_older_tree_never_replaces_a_newer_one() -> None:
    current = MenuTree(version=3)
    current.update(MenuTree(version=2, nodes={}))
    assert current.version == 3
    current.memo["kept"] = 1
    current.update(MenuTree(version=4))
    assert current.version == 4 and current.memo == {}


async def test_two_admins_cannot_make_a_cycle_together(db: asyncpg.Connection, database_url: str) -> None:
    """A under B and B under A at the same time: the second waits for the first, then sees it."""
    by = await admin(db)
    tree = await add(db, by, form("submenu", "A"))
    a = tree.buttons(None)[-1].id
    tree = await add(db, by, form("submenu", "B"))
    b = tree.buttons(None)[-1].id
    first, second = await asyncpg.connect(database_url), await asyncpg.connect(database_url)
    for conn in (first, second):
        await init_connection(conn)
    try:
        one = first.transaction()
        await one.start()
        await menus.save_node(first, by, a, form("submenu", "A", parent=b), default_language="uz")

        async def b_under_a() -> None:
            async with second.transaction():
                await menus.save_node(second, by, b, form("submenu", "B", parent=a), default_language="uz")

        waiting = asyncio.ensure_future(b_under_a())

        async def blocked() -> bool:
            pid = second.get_server_pid()
            return bool(
                await db.fetchval("SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1", pid)
            )

        await eventually(blocked, what="the second edit to wait for the first")
        await one.commit()
        with pytest.raises(MenuError, match="cannot go inside itself"):
            await waiting
    finally:
        await first.close()
        await second.close()
    assert await db.fetchval("SELECT parent_id FROM menu_nodes WHERE id = $1", b) is None
