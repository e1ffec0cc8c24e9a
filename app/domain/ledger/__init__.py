"""The ledger (T3): append-only entries in points and Stars, balances, withdrawals, the books' proof.

Callers (tasks, payments, the bot, the panel) use only what is exported here.
"""

from app.db.queries.ledger import (
    Actor,
    Balance,
    Currency,
    Entry,
    EntryKind,
    Mismatch,
    WithdrawalRequest,
    WithdrawalStatus,
)
from app.domain.ledger.checks import verify, verify_job
from app.domain.ledger.errors import (
    AccountNotFound,
    BelowMinimum,
    InsufficientFunds,
    KeyReused,
    LedgerError,
    NotAllowed,
    WithdrawalNotFound,
    WithdrawalPending,
)
from app.domain.ledger.messages import (
    CURRENCY_LABELS,
    ENTRY_KIND_LABELS,
    WITHDRAWAL_STATUS_LABELS,
    LedgerMessages,
)
from app.domain.ledger.posting import NewEntry, Posted, adjust, balance, entries, entries_for, post
from app.domain.ledger.withdrawals import (
    MIN_WITHDRAWAL,
    WithdrawalDecision,
    approve_withdrawal,
    cancel_withdrawal,
    get_withdrawal,
    open_withdrawals,
    reject_withdrawal,
    request_withdrawal,
    user_withdrawals,
)

__all__ = [
    "CURRENCY_LABELS",
    "ENTRY_KIND_LABELS",
    "MIN_WITHDRAWAL",
    "WITHDRAWAL_STATUS_LABELS",
    "AccountNotFound",
    "Actor",
    "Balance",
    "BelowMinimum",
    "Currency",
    "Entry",
    "EntryKind",
    "InsufficientFunds",
    "KeyReused",
    "LedgerError",
    "LedgerMessages",
    "Mismatch",
    "NewEntry",
    "NotAllowed",
    "Posted",
    "WithdrawalDecision",
    "WithdrawalNotFound",
    "WithdrawalPending",
    "WithdrawalRequest",
    "WithdrawalStatus",
    "adjust",
    "approve_withdrawal",
    "balance",
    "cancel_withdrawal",
    "entries",
    "entries_for",
    "get_withdrawal",
    "open_withdrawals",
    "post",
    "reject_withdrawal",
    "request_withdrawal",
    "user_withdrawals",
    "verify",
    "verify_job",
]
