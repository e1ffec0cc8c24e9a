"""Callback data of every inline button, as aiogram CallbackData classes."""

from aiogram.filters.callback_data import CallbackData


class MenuCb(CallbackData, prefix="menu"):
    """A main-menu button: post, my_ads, support, human, webchat, tasks, language (the actions of
    the menu edited in the panel, app.domain.support.menus.ACTIONS) or home."""

    action: str


class MenuNodeCb(CallbackData, prefix="mn"):
    """A button of the menu edited in the panel that the menu answers itself: a submenu or an
    answer text, by its node id (a node deleted since is a stale button)."""

    id: int


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
    """The seller's own ads: list (a page), card (one ad), sold / withdraw (asks to confirm),
    sold_ok / withdraw_ok (confirmed), edit."""

    action: str
    ad_id: int = 0
    page: int = 0


class SupportCb(CallbackData, prefix="sup"):
    """The support desk: pick (a "Did you mean" entry), entry (an answer's link to another entry),
    yes / no (did the answer help), human (talk to a person), rate (a closed ticket, 1-5 in value)."""

    action: str
    id: int = 0
    value: int = 0


class ChatCb(CallbackData, prefix="chat"):
    """The web chat in the bot: here / web (write about ad `value`), reply / open (conversation
    `value`), end (stop writing through the bot)."""

    action: str
    value: int = 0


class PromoCb(CallbackData, prefix="promo"):
    """A promotion choice for an ad: stars (send the invoice) or points (pay with points)."""

    action: str
    ad_id: int
    option_id: int


class TaskCb(CallbackData, prefix="task"):
    """A task's button: check (the membership), shot (send a screenshot for it)."""

    action: str
    task_id: int
