"""/language and the language buttons: the choice is stored and used from the next word on.

Only the languages an admin enabled in the panel are offered (app.domain.settings.Languages)."""

import asyncpg
from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from app.bot.callbacks import LangCb, MenuCb
from app.bot.keyboards import language_picker, main_menu
from app.domain.support.menus import MenuTree
from app.domain.users import Languages, choose_language
from app.i18n import LANGUAGE_NAMES, Gettext, Translator


async def on_language_command(message: Message, _: Gettext, languages: Languages) -> None:
    await message.answer(
        _("Choose your language:"), reply_markup=language_picker(_, with_back=False, codes=languages.enabled)
    )


async def on_language_button(query: CallbackQuery, _: Gettext, languages: Languages) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_text(
            _("Choose your language:"),
            reply_markup=language_picker(_, with_back=True, codes=languages.enabled),
        )


async def on_language_chosen(
    query: CallbackQuery,
    callback_data: LangCb,
    pool: asyncpg.Pool,
    translator: Translator,
    languages: Languages,
    menu_tree: MenuTree,
    _: Gettext,
) -> None:
    code = callback_data.code
    if code not in languages.enabled:  # a button sent before an admin disabled the language
        await query.answer()
        if isinstance(query.message, Message):
            await query.message.edit_text(
                _("Choose your language:"),
                reply_markup=language_picker(_, with_back=True, codes=languages.enabled),
            )
        return
    async with pool.acquire() as conn:
        await choose_language(conn, query.from_user.id, code, languages.enabled)
    _ = translator(code)
    await query.answer(_("Language: {name}").format(name=LANGUAGE_NAMES[code]))
    if isinstance(query.message, Message):
        await query.message.edit_text(
            _("Done! I will speak {name} from now on. Choose what you want to do:").format(
                name=LANGUAGE_NAMES[code]
            ),
            reply_markup=main_menu(_, code, menu_tree),
        )


def create_router() -> Router:
    """A fresh router per dispatcher (a router can belong to one dispatcher only)."""
    # CallbackData filters are async Filters: their magic rules run inline, not in a thread.
    router = Router(name="language")
    router.message.register(on_language_command, Command("language"))
    router.callback_query.register(on_language_button, MenuCb.filter(F.action == "language"))
    router.callback_query.register(on_language_chosen, LangCb.filter())
    return router
