"""How promotion messages look in Telegram: the PromotionMessages port, for the outbox."""

from __future__ import annotations

from app.domain.outbox import Call
from app.domain.promotions import PIN_FOR, Promotion, PromotionKind
from app.i18n import Gettext, Translator


def price_text(promotion: Promotion, _: Gettext) -> str:
    return (_("{n} ⭐") if promotion.currency == "XTR" else _("{n} points")).format(n=promotion.price)


class BotPromotionMessages:
    def __init__(self, translator: Translator) -> None:
        self.translator = translator

    def started(self, promotion: Promotion, ad_title: str, language: str) -> Call:
        _ = self.translator(language)
        if promotion.kind == PromotionKind.PIN:
            text = _("⭐ Paid, thank you! “{title}” is pinned in the channel for {hours} hours.").format(
                title=ad_title, hours=int(PIN_FOR.total_seconds() // 3600)
            )
        else:
            text = _(
                "⭐ Paid, thank you! “{title}” will be re-posted {n} more times over the next days."
            ).format(title=ad_title, n=promotion.reposts or 0)
        return "sendMessage", {"text": text}

    def refunded(self, promotion: Promotion, ad_title: str, language: str) -> Call:
        _ = self.translator(language)
        text = _(
            "The promotion of “{title}” could not run because the ad is no longer published. "
            "Your {price} are returned."
        ).format(title=ad_title, price=price_text(promotion, _))
        return "sendMessage", {"text": text}
