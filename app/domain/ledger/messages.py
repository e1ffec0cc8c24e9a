"""What the ledger tells users, as a port the bot layer renders, and the labels of its enums."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from app.db import Conn
from app.db.queries import ledger as q
from app.db.queries.ledger import Currency, Entry, EntryKind, WithdrawalRequest, WithdrawalStatus
from app.domain.outbox import Call, enqueue
from app.domain.users import Languages
from app.i18n import N_

CURRENCY_LABELS = {Currency.POINTS: N_("points"), Currency.XTR: N_("Stars")}

ENTRY_KIND_LABELS = {
    EntryKind.TASK_REWARD: N_("Task reward"),
    EntryKind.TAKE_BACK: N_("Task reward taken back"),
    EntryKind.MANUAL_ADJUSTMENT: N_("Adjustment by staff"),
    EntryKind.PAYMENT: N_("Payment in Stars"),
    EntryKind.PROMOTION_PURCHASE: N_("Ad promotion"),
    EntryKind.REFUND: N_("Refund"),
    EntryKind.WITHDRAWAL: N_("Withdrawal"),
}

WITHDRAWAL_STATUS_LABELS = {
    WithdrawalStatus.REQUESTED: N_("Waiting for a decision"),
    WithdrawalStatus.APPROVED: N_("Paid out"),
    WithdrawalStatus.REJECTED: N_("Declined"),
    WithdrawalStatus.CANCELLED: N_("Cancelled"),
}


class LedgerMessages(Protocol):
    """Renders the messages the ledger sends on its own initiative; the bot layer implements it
    (app/bot/ledger_messages.py). The domain decides what is sent, to whom and when; this
    decides how it looks. Methods return a call without chat_id."""

    def withdrawal_approved(self, request: WithdrawalRequest, language: str) -> Call:
        """Tell the user their withdrawal was paid out, with the payout reference."""

    def withdrawal_rejected(self, request: WithdrawalRequest, language: str) -> Call:
        """Tell the user their withdrawal was declined, why, and that the amount is back."""

    def balance_adjusted(self, entry: Entry, language: str) -> Call:
        """Tell the user staff changed their balance, by how much and why."""


async def tell(
    conn: Conn,
    user_id: int,
    call: Callable[[str], Call],
    languages: Languages,
    ref: tuple[str, int],
) -> int:
    """Queue a message to a user, in their language, in the caller's transaction."""
    chosen, telegram_code = await q.user_language(conn, user_id) or (None, None)
    method, params = call(languages.speak(chosen, telegram_code))
    return await enqueue(
        conn, method, {**params, "chat_id": user_id}, chat_id=user_id, ref_kind=ref[0], ref_id=ref[1]
    )
