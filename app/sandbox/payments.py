"""Telegram Stars payments: a user pays an invoice, the bot answers the pre-checkout query."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import QUERY_INVALID, TelegramError, UserActionError

if TYPE_CHECKING:
    from .world import Bot, Dialog


@dataclass(slots=True)
class PreCheckout:
    id: str
    bot_id: int
    user_id: int
    message_id: int
    invoice: dict[str, Any]
    payload: str
    answered: bool = False


class PaymentsMixin:
    """World methods for invoices (mixed into World)."""

    def _init_payments(self) -> None:
        self.pre_checkouts: dict[str, PreCheckout] = {}
        self.invoice_payloads: dict[tuple[int, int, int], str] = {}  # (bot, chat, message) -> payload
        self._charge_ids = itertools.count(1)

    def user_pays(self, bot_id: int | None, user_id: int, message_id: int | None = None) -> dict[str, Any]:
        """The user presses Pay on an invoice (the newest one by default): pre_checkout_query."""
        dialog: Dialog = self.dialog(bot_id, user_id)  # type: ignore[attr-defined]
        if dialog.blocked:
            raise UserActionError(400, "the user has blocked this bot: unblock it first")
        mids = [message_id] if message_id is not None else list(reversed(dialog.messages))
        mid = next((m for m in mids if "invoice" in (dialog.find(m) or {})), None)
        if mid is None:
            raise UserActionError(404, "no invoice to pay in this chat")
        invoice = dialog.messages[mid]["invoice"]
        query = PreCheckout(
            id=str(next(self._callback_ids)),  # type: ignore[attr-defined]
            bot_id=dialog.bot.id,
            user_id=user_id,
            message_id=mid,
            invoice=invoice,
            payload=self.invoice_payloads[(dialog.bot.id, user_id, mid)],
        )
        self.pre_checkouts[query.id] = query
        dialog.payments.append({"pre_checkout_query_id": query.id, "message_id": mid, "status": "pending"})
        dialog.bot.push_update(
            "pre_checkout_query",
            {
                "id": query.id,
                "from": dialog.user.as_dict(),
                "currency": invoice["currency"],
                "total_amount": invoice["total_amount"],
                "invoice_payload": query.payload,
            },
        )
        dialog.bump()
        return {"pre_checkout_query_id": query.id, "event": dialog.event}

    def bot_answers_pre_checkout(self, bot: Bot, query_id: str, ok: bool, error_message: str | None) -> None:
        """ok: the payment goes through (successful_payment message); else the user sees why."""
        query = self.pre_checkouts.get(query_id)
        if query is None or query.bot_id != bot.id or query.answered:
            raise TelegramError(400, QUERY_INVALID)
        if not ok and not error_message:
            raise TelegramError(400, "Bad Request: ERROR_MESSAGE_EMPTY")
        query.answered = True
        dialog: Dialog = self.dialogs[(bot.id, query.user_id)]  # type: ignore[attr-defined]
        payment = next(p for p in dialog.payments if p["pre_checkout_query_id"] == query_id)
        if not ok:
            payment |= {"status": "declined", "error_message": error_message}
            dialog.bump()
            return
        charge = f"stxsandbox{next(self._charge_ids):08d}"
        payment |= {"status": "paid", "telegram_payment_charge_id": charge}
        self.user_sends(  # type: ignore[attr-defined]
            bot.id,
            query.user_id,
            {
                "successful_payment": {
                    "currency": query.invoice["currency"],
                    "total_amount": query.invoice["total_amount"],
                    "invoice_payload": query.payload,
                    "telegram_payment_charge_id": charge,
                    "provider_payment_charge_id": "",
                }
            },
        )
