"""Promotion's errors, its messages port, and the constants of its schedule."""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol

from app.db.queries.promotions import Promotion
from app.domain.outbox import Call
from app.i18n import N_, UserError

PIN_FOR = timedelta(hours=24)
REPOST_EVERY = timedelta(hours=12)  # N extra re-posts over the next days, one each half day
PAYLOAD_PREFIX = "promo:"
REF = "promotion"


class PromotionError(UserError):
    """A promotion refused; nothing was changed or charged."""


class NotPromotable(PromotionError):
    def __init__(self) -> None:
        super().__init__(N_("Only a published ad of yours can be promoted."))


class OptionGone(PromotionError):
    def __init__(self) -> None:
        super().__init__(N_("This promotion is no longer offered. Open the ad again to see what is."))


class PointsNotAccepted(PromotionError):
    def __init__(self) -> None:
        super().__init__(N_("This channel takes Stars only for promotion."))


class PromotionMessages(Protocol):
    """How promotion messages look (app/bot/promotion_messages.py); returns calls without chat_id."""

    def started(self, promotion: Promotion, ad_title: str, language: str) -> Call:
        """Paid: the ad is pinned, or its extra re-posts are scheduled."""

    def refunded(self, promotion: Promotion, ad_title: str, language: str) -> Call:
        """It could not run (the ad closed): the payment is returned."""


def payload_of(promotion_id: int) -> str:
    return f"{PAYLOAD_PREFIX}{promotion_id}"


def promotion_id_of(payload: str) -> int | None:
    rest = payload.removeprefix(PAYLOAD_PREFIX)
    return int(rest) if rest != payload and rest.isdigit() and len(rest) < 19 else None
