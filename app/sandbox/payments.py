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

    def stars(self, bot_id: int) -> dict[str, Any]:
        """A bot's Stars ledger: transactions (StarTransaction objects, oldest first)."""
        return self.registry.setdefault("stars", {}).setdefault(str(bot_id), {"transactions": []})  # type: ignore[attr-defined]

    def star_balance(self, bot_id: int) -> int:
        ledger = self.stars(bot_id)["transactions"]
        return sum(t["amount"] if "source" in t else -t["amount"] for t in ledger)

    def _charge_id(self) -> str:
        registry = self.registry  # type: ignore[attr-defined]
        registry["charges"] = registry.get("charges", 0) + 1
        return f"stxsandbox{registry['charges']:08d}"

    def user_pays(
        self, bot_id: int | None, user_id: int, message_id: int | None = None, invoice_link: str | None = None
    ) -> dict[str, Any]:
        """The user presses Pay on an invoice (the newest one by default) or opens an invoice
        link: pre_checkout_query, or first shipping_query for a flexible invoice."""
        if invoice_link is not None:
            link = self.registry.get("invoice_links", {}).get(invoice_link.rsplit("$", 1)[-1])  # type: ignore[attr-defined]
            if link is None:
                raise UserActionError(404, "no such invoice link")
            dialog: Dialog = self.dialog(link["bot_id"], user_id)  # type: ignore[attr-defined]
            return self._pre_checkout(dialog, 0, link["invoice"], link["payload"])
        dialog = self.dialog(bot_id, user_id)  # type: ignore[attr-defined]
        if dialog.blocked:
            raise UserActionError(400, "the user has blocked this bot: unblock it first")
        mids = [message_id] if message_id is not None else list(reversed(dialog.messages))
        mid = next((m for m in mids if "invoice" in (dialog.find(m) or {})), None)
        if mid is None:
            raise UserActionError(404, "no invoice to pay in this chat")
        invoice = dict(dialog.messages[mid]["invoice"])
        payload = self.invoice_payloads[(dialog.bot.id, user_id, mid)]
        if f"{dialog.bot.id}:{user_id}:{mid}" in self.registry.get("flexible_invoices", []):  # type: ignore[attr-defined]
            return self._shipping_query(dialog, mid, invoice, payload)
        return self._pre_checkout(dialog, mid, invoice, payload)

    def _shipping_query(
        self, dialog: Dialog, mid: int, invoice: dict[str, Any], payload: str
    ) -> dict[str, Any]:
        query_id = str(next(self._callback_ids))  # type: ignore[attr-defined]
        queries = self.registry.setdefault("shipping_queries", {})  # type: ignore[attr-defined]
        queries[query_id] = {
            "bot_id": dialog.bot.id,
            "user_id": dialog.user.id,
            "message_id": mid,
            "payload": payload,
        }
        address = {
            "country_code": "UZ",
            "state": "Toshkent",
            "city": "Toshkent",
            "street_line1": "Amir Temur 1",
        }
        address |= {"street_line2": "", "post_code": "100000"}
        update = {"id": query_id, "from": dialog.user.as_dict(), "invoice_payload": payload}
        dialog.bot.push_update("shipping_query", update | {"shipping_address": address})
        dialog.payments.append({"shipping_query_id": query_id, "message_id": mid, "status": "shipping"})
        dialog.bump()
        return {"shipping_query_id": query_id, "event": dialog.event}

    def _pre_checkout(
        self,
        dialog: Dialog,
        mid: int,
        invoice: dict[str, Any],
        payload: str,
        payment: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        query = PreCheckout(
            id=str(next(self._callback_ids)),  # type: ignore[attr-defined]
            bot_id=dialog.bot.id,
            user_id=dialog.user.id,
            message_id=mid,
            invoice=invoice,
            payload=payload,
        )
        self.pre_checkouts[query.id] = query
        entry = {"pre_checkout_query_id": query.id, "message_id": mid, "status": "pending"}
        if payment is not None:
            payment |= entry
        else:
            dialog.payments.append(entry)
        update = {
            "id": query.id,
            "from": dialog.user.as_dict(),
            "currency": invoice["currency"],
            "total_amount": invoice["total_amount"],
            "invoice_payload": query.payload,
        }
        if invoice.get("shipping_option_id"):
            update["shipping_option_id"] = invoice["shipping_option_id"]
        dialog.bot.push_update("pre_checkout_query", update)
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
        payment = next(p for p in dialog.payments if p.get("pre_checkout_query_id") == query_id)
        if not ok:
            payment |= {"status": "declined", "error_message": error_message}
            dialog.bump()
            return
        charge = self._charge_id()
        payment |= {"status": "paid", "telegram_payment_charge_id": charge}
        paid: dict[str, Any] = {
            "currency": query.invoice["currency"],
            "total_amount": query.invoice["total_amount"],
            "invoice_payload": query.payload,
            "telegram_payment_charge_id": charge,
            "provider_payment_charge_id": "",
        }
        period = query.invoice.get("subscription_period")
        if period:
            paid |= {
                "subscription_expiration_date": self.now() + period,
                "is_recurring": True,
                "is_first_recurring": True,
            }  # type: ignore[attr-defined]
        if query.invoice.get("shipping_option_id"):
            paid["shipping_option_id"] = query.invoice["shipping_option_id"]
        if query.invoice["currency"] == "XTR":
            user = self.users[query.user_id]  # type: ignore[attr-defined]
            source = {"type": "user", "transaction_type": "invoice_payment", "user": user.as_dict()}
            source["invoice_payload"] = query.payload
            if period:
                source["subscription_period"] = period
            self.stars(bot.id)["transactions"].append(
                {"id": charge, "amount": query.invoice["total_amount"], "date": self.now(), "source": source}  # type: ignore[attr-defined]
            )
        self.user_sends(bot.id, query.user_id, {"successful_payment": paid})  # type: ignore[attr-defined]
