"""Inline keyboards shared by the bot's routers.

The main menu is the tree edited in the panel (app.domain.support.menus): each menu's keyboard
is built once per language and kept in the tree's memo until the tree changes."""

from functools import lru_cache

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from app.bot.callbacks import LangCb, MenuCb, MenuNodeCb, SupportCb
from app.domain.support.menus import MenuNode, MenuTree, NodeKind
from app.i18n import LANGUAGE_NAMES, Gettext


def _button(text: str, action: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=MenuCb(action=action).pack())


def main_menu(_: Gettext, lang: str, tree: MenuTree) -> InlineKeyboardMarkup:
    """The main menu in this language (`_` speaks it)."""
    return menu_keyboard(_, lang, tree, None)


def menu_keyboard(_: Gettext, lang: str, tree: MenuTree, parent_id: int | None) -> InlineKeyboardMarkup:
    """A menu's buttons; a submenu's end with Back (to the menu it is in)."""
    key = ("keyboard", lang, parent_id)
    kept = tree.memo.get(key)
    if isinstance(kept, InlineKeyboardMarkup):
        return kept
    rows = [[_node_button(tree, node, lang, _) for node in row] for row in tree.rows(parent_id)]
    if parent_id is not None:
        rows.append([back_button(_, tree, parent_id)])
    markup = InlineKeyboardMarkup(inline_keyboard=rows)
    tree.memo[key] = markup
    return markup


def back_button(_: Gettext, tree: MenuTree, node_id: int) -> InlineKeyboardButton:
    """Back from a node's screen to the menu the node is in."""
    node = tree.nodes.get(node_id)
    parent_id = node.parent_id if node is not None else None
    data = MenuNodeCb(id=parent_id) if parent_id is not None else MenuCb(action="home")
    return InlineKeyboardButton(text=_("⬅️ Back"), callback_data=data.pack())


def _node_button(tree: MenuTree, node: MenuNode, lang: str, _: Gettext) -> InlineKeyboardButton:
    text = tree.label(node, lang, _)
    if node.kind == NodeKind.URL:
        return InlineKeyboardButton(text=text, url=node.url)
    if node.kind == NodeKind.KB:
        return InlineKeyboardButton(
            text=text, callback_data=SupportCb(action="entry", id=node.kb_entry_id or 0).pack()
        )
    if node.kind == NodeKind.ACTION:
        return _button(text, node.action or "home")
    return InlineKeyboardButton(text=text, callback_data=MenuNodeCb(id=node.id).pack())


@lru_cache(maxsize=64)
def language_picker(
    _: Gettext, *, with_back: bool, codes: tuple[str, ...] = tuple(LANGUAGE_NAMES)
) -> InlineKeyboardMarkup:
    rows = [
        [InlineKeyboardButton(text=name, callback_data=LangCb(code=code).pack())]
        for code, name in LANGUAGE_NAMES.items()
        if code in codes
    ]
    if with_back:
        rows.append([_button(_("⬅️ Back"), "home")])
    return InlineKeyboardMarkup(inline_keyboard=rows)
