"""The main menu's buttons: home, and the sections whose issues have not landed yet."""

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message

from app.bot.callbacks import MenuCb
from app.bot.handlers.start import greeting
from app.bot.keyboards import main_menu
from app.i18n import Gettext

COMING_SOON = frozenset({"support"})


async def on_home(query: CallbackQuery, _: Gettext) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_text(greeting(_, query.from_user.first_name), reply_markup=main_menu(_))


async def on_coming_soon(query: CallbackQuery, _: Gettext) -> None:
    await query.answer(_("This section is coming soon."), show_alert=True)


def create_router() -> Router:
    """A fresh router per dispatcher (a router can belong to one dispatcher only)."""
    # CallbackData filters are async Filters: their magic rules run inline, not in a thread.
    router = Router(name="menu")
    router.callback_query.register(on_home, MenuCb.filter(F.action == "home"))
    router.callback_query.register(on_coming_soon, MenuCb.filter(F.action.in_(COMING_SOON)))
    return router
