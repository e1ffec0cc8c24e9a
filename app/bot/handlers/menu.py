"""The main menu edited in the panel: its home button, and the submenus and answer texts it
shows itself (each action's area answers its own button, MenuCb(action=…)).

The tree is the process's MenuTree (kept current by app/web/live.py): a press costs no
database round trip. A node deleted since its button was sent is a stale button."""

from aiogram import F, Router
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from app.bot.callbacks import MenuCb, MenuNodeCb
from app.bot.guard import STALE_BUTTON
from app.bot.handlers.start import greeting
from app.bot.keyboards import back_button, main_menu, menu_keyboard
from app.domain.support.commands import CommandBook
from app.domain.support.menus import MenuTree, NodeKind
from app.i18n import Gettext


async def on_home(
    query: CallbackQuery, _: Gettext, lang: str, command_book: CommandBook, menu_tree: MenuTree
) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        text = greeting(_, query.from_user.first_name, command_book.edited_text("start", lang))
        await query.message.edit_text(text, reply_markup=main_menu(_, lang, menu_tree))


async def on_node(
    query: CallbackQuery, callback_data: MenuNodeCb, _: Gettext, lang: str, menu_tree: MenuTree
) -> None:
    """A submenu (its heading and buttons) or an answer text (with Back), in place of the menu."""
    node = menu_tree.nodes.get(callback_data.id)
    if (
        node is None
        or node.kind not in (NodeKind.SUBMENU, NodeKind.TEXT)
        or not isinstance(query.message, Message)
    ):
        await query.answer(_(STALE_BUTTON), show_alert=True)
        return
    await query.answer()
    if node.kind == NodeKind.SUBMENU:
        heading = menu_tree.text(node, lang) or menu_tree.label(node, lang, _)
        await query.message.edit_text(heading, reply_markup=menu_keyboard(_, lang, menu_tree, node.id))
        return
    back = InlineKeyboardMarkup(inline_keyboard=[[back_button(_, menu_tree, node.id)]])
    await query.message.edit_text(menu_tree.text(node, lang), reply_markup=back)


def create_router() -> Router:
    """A fresh router per dispatcher (a router can belong to one dispatcher only)."""
    # CallbackData filters are async Filters: their magic rules run inline, not in a thread.
    router = Router(name="menu")
    router.callback_query.register(on_home, MenuCb.filter(F.action == "home"))
    router.callback_query.register(on_node, MenuNodeCb.filter())
    return router
