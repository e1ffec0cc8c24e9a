"""Paid promotion (E5): pin a published ad for 24 hours or buy N extra re-posts, paid in
Telegram Stars (sendInvoice in XTR) or, where a channel allows, in points. Every Star and
point goes through the ledger; a promotion that cannot run is refunded once.

Callers (the bot, the panel, the scheduler) use only what is exported here.
"""

from app.db.queries.promotions import Option, Promotion, PromotionKind, PromotionStatus
from app.domain.promotions.buying import (
    Offer,
    Paid,
    invoice,
    offer,
    pay_with_points,
    payment_received,
    pre_checkout,
    refund,
)
from app.domain.promotions.model import (
    PIN_FOR,
    REPOST_EVERY,
    NotPromotable,
    OptionGone,
    PointsNotAccepted,
    PromotionError,
    PromotionMessages,
    payload_of,
)
from app.domain.promotions.options import channel_options, save_option, set_accepts_points
from app.domain.promotions.running import run_due

__all__ = [
    "PIN_FOR",
    "REPOST_EVERY",
    "NotPromotable",
    "Offer",
    "Option",
    "OptionGone",
    "Paid",
    "PointsNotAccepted",
    "Promotion",
    "PromotionError",
    "PromotionKind",
    "PromotionMessages",
    "PromotionStatus",
    "channel_options",
    "invoice",
    "offer",
    "pay_with_points",
    "payload_of",
    "payment_received",
    "pre_checkout",
    "refund",
    "run_due",
    "save_option",
    "set_accepts_points",
]
