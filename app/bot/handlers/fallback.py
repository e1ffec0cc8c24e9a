"""Whatever no feature took: a short hint and the main menu, never silence."""

from aiogram import Router
from aiogram.types import CallbackQuery, Message

from app.bot.keyboards import main_menu
from app.bot.routing import MessageRouting, Stage
from app.domain.support.menus import MenuTree
from app.i18n import Gettext


async def on_anything(message: Message, _: Gettext, lang: str, menu_tree: MenuTree) -> None:
    await message.answer(
        _("I did not understand that. Choose what you want to do:"),
        reply_markup=main_menu(_, lang, menu_tree),
    )


async def on_stale_button(query: CallbackQuery, _: Gettext) -> None:
    # A button from an old message whose feature changed: say so instead of spinning forever.
    await query.answer(_("This button is out of date. Send /start for a fresh menu."), show_alert=True)


def create_router() -> Router:
    """Buttons nobody took; it must stay last among the routers."""
    router = Router(name="fallback")
    router.callback_query.register(on_stale_button)
    return router


def route(routing: MessageRouting) -> None:
    routing.add(Stage.FALLBACK, "fallback: a hint and the menu", on_anything)
