"""Callback data of every inline button, as aiogram CallbackData classes."""

from aiogram.filters.callback_data import CallbackData


class MenuCb(CallbackData, prefix="menu"):
    """A main-menu button: post, my_ads, support, tasks, language, home."""

    action: str


class LangCb(CallbackData, prefix="lang"):
    """A language choice: uz, ru or en."""

    code: str
