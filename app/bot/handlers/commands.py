"""The commands admins added in the panel: each answers its text in the user's language.

They are read from the process's CommandBook (loaded at start, kept current on every save), so
a command costs no database round trip; a message that is no such command passes on untouched.
"""

from __future__ import annotations

from typing import Any

from aiogram import Router
from aiogram.types import Message

from app.bot.keyboards import main_menu
from app.bot.prefilter import declare, starts_with
from app.domain.support.commands import BotCommandText, CommandBook
from app.domain.support.menus import MenuTree
from app.i18n import Gettext


@declare(starts_with("/"))
def custom_command(message: Message, command_book: CommandBook) -> dict[str, Any] | bool:
    """The admin-defined command this message is ("/price" or "/price@our_bot"), if any."""
    text = message.text
    if not text or text[0] != "/" or not command_book.commands:
        return False
    words = text[1:].split(maxsplit=1)  # "/ " has none
    found = command_book.custom(words[0].split("@", 1)[0].lower()) if words else None
    return {"custom_command": found} if found is not None else False


async def on_custom_command(
    message: Message, custom_command: BotCommandText, _: Gettext, lang: str, menu_tree: MenuTree
) -> None:
    await message.answer(custom_command.text(lang), reply_markup=main_menu(_, lang, menu_tree))


def create_router() -> Router:
    """A fresh router per dispatcher (a router can belong to one dispatcher only)."""
    router = Router(name="commands")
    router.message.register(on_custom_command, custom_command)
    return router
