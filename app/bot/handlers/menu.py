"""The main menu's home button (each section's router answers its own button)."""

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message

from app.bot.callbacks import MenuCb
from app.bot.handlers.start import greeting
from app.bot.keyboards import main_menu
from app.domain.support.commands import CommandBook
from app.i18n import Gettext


async def on_home(query: CallbackQuery, _: Gettext, lang: str, command_book: CommandBook) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        text = greeting(_, query.from_user.first_name, command_book.edited_text("start", lang))
        await query.message.edit_text(text, reply_markup=main_menu(_))


def create_router() -> Router:
    """A fresh router per dispatcher (a router can belong to one dispatcher only)."""
    # CallbackData filters are async Filters: their magic rules run inline, not in a thread.
    router = Router(name="menu")
    router.callback_query.register(on_home, MenuCb.filter(F.action == "home"))
    return router
