"""The ledger's errors: what a person must know or correct (UserError), and misuse by code."""

from __future__ import annotations

from app.i18n import N_, UserError


class LedgerError(UserError):
    """A money operation refused; nothing was changed. `text(_)` says why in the reader's language."""


class InsufficientFunds(LedgerError):
    """A debit, hold or withdrawal larger than what can be spent now (balance minus holds)."""

    def __init__(self, available: int, amount: int) -> None:
        super().__init__(
            N_("Not enough on the balance: {available} available, {amount} needed."),
            available=available,
            amount=amount,
        )
        self.available = available
        self.amount = amount


class BelowMinimum(LedgerError):
    def __init__(self, minimum: int) -> None:
        super().__init__(N_("The smallest withdrawal is {minimum} points."), minimum=minimum)
        self.minimum = minimum


class WithdrawalPending(LedgerError):
    def __init__(self) -> None:
        super().__init__(
            N_("You already have a withdrawal request waiting for a decision. Wait for it or cancel it.")
        )


class WithdrawalNotFound(LedgerError):
    def __init__(self, request_id: int) -> None:
        super().__init__(N_("Withdrawal request #{id} does not exist."), id=request_id)


class AccountNotFound(LedgerError):
    def __init__(self, account: int) -> None:
        super().__init__(N_("There is no user with id {id}."), id=account)


class NotAllowed(LedgerError):
    def __init__(self) -> None:
        super().__init__(N_("Only an administrator can change balances or decide withdrawals."))


class KeyReused(ValueError):
    """An idempotency key already names a different entry: a bug in the caller's keys."""
