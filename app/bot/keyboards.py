"""Inline keyboards shared by the bot's routers (built once per language: they never change)."""

from functools import lru_cache

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from app.bot.callbacks import LangCb, MenuCb
from app.i18n import LANGUAGE_NAMES, Gettext


def _button(text: str, action: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=MenuCb(action=action).pack())


@lru_cache(maxsize=8)
def main_menu(_: Gettext) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [_button(_("📢 Post an ad"), "post"), _button(_("📋 My ads"), "my_ads")],
            [_button(_("💬 Support"), "support"), _button(_("🎯 Tasks"), "tasks")],
            [_button(_("🌐 Language"), "language")],
        ]
    )


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
