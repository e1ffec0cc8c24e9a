"""Callback data of every inline button, as aiogram CallbackData classes."""

from aiogram.filters.callback_data import CallbackData


class MenuCb(CallbackData, prefix="menu"):
    """A main-menu button: post, my_ads, support, tasks, language, home."""

    action: str


class LangCb(CallbackData, prefix="lang"):
    """A language choice: uz, ru or en."""

    code: str


class ModCb(CallbackData, prefix="mod"):
    """An admin's decision on an ad: approve, reject (then a reason), reason (a canned one)."""

    action: str
    ad_id: int
    reason_id: int = 0


class CheckinCb(CallbackData, prefix="chk"):
    """A seller's answer to "still selling?": sold or selling."""

    action: str
    ad_id: int


class AdCb(CallbackData, prefix="ad"):
    """A button of the ad wizard: channel, category, photos_done, submit, cancel, edit,
    resume or restart; `value` carries an id, `field` the field to edit."""

    action: str
    value: int = 0
    field: str = ""


class MyAdsCb(CallbackData, prefix="my"):
    """The seller's own ads: list (a page), card (one ad), sold, withdraw, edit."""

    action: str
    ad_id: int = 0
    page: int = 0


class PromoCb(CallbackData, prefix="promo"):
    """A promotion choice for an ad: stars (send the invoice) or points (pay with points)."""

    action: str
    ad_id: int
    option_id: int


class TaskCb(CallbackData, prefix="task"):
    """A task's button: check (the membership), shot (send a screenshot for it)."""

    action: str
    task_id: int
