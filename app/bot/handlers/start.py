"""/start and /help: the greeting with the main menu, and the help text."""

import asyncpg
from aiogram import Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import Message, ReplyKeyboardRemove

from app.bot.handlers import chat, post_ad
from app.bot.keyboards import main_menu
from app.domain.support.commands import DEFAULT_GREETING, DEFAULT_HELP, CommandBook
from app.domain.support.menus import MenuTree
from app.i18n import Gettext


def greeting(_: Gettext, name: str, edited: str | None = None) -> str:
    """Today's greeting, or the one an admin saved in the panel ({name}: the user's first name)."""
    if edited is not None:
        return edited.replace("{name}", name)
    return _(DEFAULT_GREETING).format(name=name)


async def on_start(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    pool: asyncpg.Pool,
    _: Gettext,
    lang: str,
    command_book: CommandBook,
    menu_tree: MenuTree,
) -> None:
    if await post_ad.leave(state):  # /start leaves the wizard; the draft waits for "Continue"
        await message.answer(
            _("You left the ad form; your draft is kept. Press “{post}” to continue it.").format(
                post=_("📢 Post an ad")
            ),
            reply_markup=ReplyKeyboardRemove(),
        )
    payload = command.args or ""
    if payload.startswith(chat.LOGIN_PREFIX):
        await chat.sign_in_from_start(
            message, payload.removeprefix(chat.LOGIN_PREFIX), pool, _, lang, menu_tree
        )
        return
    number = payload.removeprefix("ad_")
    if payload.startswith("ad_") and number.isascii() and number.isdigit() and len(number) < 19:
        await chat.offer(message, int(number), pool, _, lang, menu_tree)
        return
    name = message.from_user.first_name if message.from_user else ""
    await message.answer(
        greeting(_, name, command_book.edited_text("start", lang)), reply_markup=main_menu(_, lang, menu_tree)
    )


async def on_help(
    message: Message, _: Gettext, lang: str, command_book: CommandBook, menu_tree: MenuTree
) -> None:
    """The admins' help text, else today's with the admins' commands listed after it."""
    text = command_book.edited_text("help", lang)
    if text is None:
        extra = [f"/{c.name} - {c.description(lang)}" for c in command_book.commands.values()]
        text = "\n\n".join([help_text(_), "\n".join(extra)]) if extra else help_text(_)
    await message.answer(text, reply_markup=main_menu(_, lang, menu_tree))


def help_text(_: Gettext) -> str:
    """Today's help text (the default an admin's edit in the panel replaces)."""
    return _(DEFAULT_HELP)


def create_router() -> Router:
    """A fresh router per dispatcher (a router can belong to one dispatcher only)."""
    router = Router(name="start")
    router.message.register(on_start, CommandStart())
    router.message.register(on_help, Command("help"))
    return router
