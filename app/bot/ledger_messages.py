"""How ledger messages look in Telegram: the LedgerMessages port of app/domain/ledger, for the outbox."""

from __future__ import annotations

from app.domain.ledger import CURRENCY_LABELS, Entry, WithdrawalRequest
from app.domain.outbox import Call
from app.i18n import Translator


class BotLedgerMessages:
    """Plain texts in the reader's language."""

    def __init__(self, translator: Translator) -> None:
        self.translator = translator

    def withdrawal_approved(self, request: WithdrawalRequest, language: str) -> Call:
        _ = self.translator(language)
        text = _("Your withdrawal of {amount} {currency} is paid out. Payout reference: {reference}").format(
            amount=request.amount,
            currency=_(CURRENCY_LABELS[request.currency]),
            reference=request.payout_reference,
        )
        return "sendMessage", {"text": text}

    def withdrawal_rejected(self, request: WithdrawalRequest, language: str) -> Call:
        _ = self.translator(language)
        text = _(
            "Your withdrawal of {amount} {currency} was declined: {reason}\n"
            "The amount is back on your balance."
        ).format(amount=request.amount, currency=_(CURRENCY_LABELS[request.currency]), reason=request.reason)
        return "sendMessage", {"text": text}

    def balance_adjusted(self, entry: Entry, language: str) -> Call:
        _ = self.translator(language)
        text = _(
            "Your balance was changed by {amount} {currency}: {reason}\nBalance now: {balance} {currency}."
        ).format(
            amount=f"{entry.amount:+d}",
            currency=_(CURRENCY_LABELS[entry.currency]),
            reason=entry.reason,
            balance=entry.balance_after,
        )
        return "sendMessage", {"text": text}
