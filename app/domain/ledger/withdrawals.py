"""Withdrawal requests: the amount is held while staff decide; approval debits once, rejection releases.

Why a hold and not a debit at request time: the ledger then records only what really moved
(one 'withdrawal' entry, on approval), while `ledger_balances.held` keeps the requested amount
from being spent or requested twice. verify() proves each hold equals the open requests.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from app.db import Conn
from app.db.queries import ledger as q
from app.db.queries.ledger import Actor, Currency, Entry, EntryKind, WithdrawalRequest, WithdrawalStatus
from app.domain import staff as staff_domain
from app.domain.ledger.errors import (
    BelowMinimum,
    InsufficientFunds,
    LedgerError,
    WithdrawalNotFound,
    WithdrawalPending,
)
from app.domain.ledger.messages import LedgerMessages, tell
from app.domain.ledger.posting import MAX_AMOUNT, NewEntry, clean_reason, post, require_admin
from app.domain.staff import Staff
from app.domain.users import Languages
from app.i18n import N_

MIN_WITHDRAWAL = 100  # points
MAX_PAYOUT_REFERENCE = 200
REF = "withdrawal"  # entries and outbox rows about a request carry (REF, request id)


@dataclass(frozen=True, slots=True)
class WithdrawalDecision:
    """The outcome of a decision: whether this one won (the first does), the request as it now
    stands, who decided it (a staff name; None when the user cancelled) and, for an approval
    that won, the withdrawal entry."""

    won: bool
    request: WithdrawalRequest
    decided_by: str | None
    entry: Entry | None = None


async def request_withdrawal(
    conn: Conn, user_id: int, amount: int, *, minimum: int = MIN_WITHDRAWAL
) -> WithdrawalRequest:
    """The user asks to be paid `amount` points; the amount is held at once so it cannot be
    spent or requested again while staff decide. The handler answers the user directly."""
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < minimum:
        raise BelowMinimum(minimum)
    if amount > MAX_AMOUNT:
        raise InsufficientFunds(
            available=(await q.get_balance(conn, user_id, Currency.POINTS)).available, amount=amount
        )
    try:
        async with conn.transaction():  # a savepoint: a refused request leaves the caller's work intact
            request = await q.insert_withdrawal(conn, user_id, Currency.POINTS, amount)
    except asyncpg.UniqueViolationError:
        raise WithdrawalPending() from None
    if request is None:
        have = await q.get_balance(conn, user_id, Currency.POINTS)
        raise InsufficientFunds(available=have.available, amount=amount)
    return request


def _open_state(request: WithdrawalRequest) -> dict[str, object]:
    """The audit's "before" of a decision."""
    return {"status": WithdrawalStatus.REQUESTED.value, "user_id": request.user_id, "amount": request.amount}


async def _lost(conn: Conn, request_id: int, user_id: int | None = None) -> WithdrawalDecision:
    """Someone decided first (or there is no such request for this user)."""
    request = await q.get_withdrawal(conn, request_id)
    if request is None or (user_id is not None and request.user_id != user_id):
        raise WithdrawalNotFound(request_id)
    return WithdrawalDecision(False, request, await decider_name(conn, request))


async def decider_name(conn: Conn, request: WithdrawalRequest) -> str | None:
    """The staff member who decided, as staff see them; None when open or cancelled by the user."""
    if request.decided_by is None:
        return None
    staff = await staff_domain.get_staff(conn, request.decided_by)
    return staff.name if staff is not None else f"staff #{request.decided_by}"


async def approve_withdrawal(
    conn: Conn,
    request_id: int,
    staff: Staff,
    payout_reference: str,
    *,
    msgs: LedgerMessages,
    languages: Languages,
) -> WithdrawalDecision:
    """Staff paid the user outside Bozor and enter the payout's reference: the hold becomes one
    'withdrawal' entry, audited, and the user is told. A later decision is told who won."""
    require_admin(staff)
    reference = (payout_reference or "").strip()
    if not reference or len(reference) > MAX_PAYOUT_REFERENCE:
        raise LedgerError(
            N_("Enter the payout reference (1 to {limit} characters)."), limit=MAX_PAYOUT_REFERENCE
        )
    async with conn.transaction():
        await q.lock_balance_of_request(conn, request_id)
        request = await q.decide_withdrawal(
            conn, request_id, WithdrawalStatus.APPROVED, staff_id=staff.id, payout_reference=reference
        )
        if request is None:
            return await _lost(conn, request_id)
        decided = request  # not None from here on (also inside the lambda below)
        posted = await post(
            conn,
            NewEntry(
                account=request.user_id,
                currency=request.currency,
                amount=-request.amount,
                kind=EntryKind.WITHDRAWAL,
                key=f"{REF}:{request.id}",
                ref_kind=REF,
                ref_id=request.id,
                actor=Actor.STAFF,
                staff_id=staff.id,
                reason=reference,
            ),
        )
        await staff_domain.audit(
            conn,
            staff.id,
            "withdrawal.approve",
            f"{REF}:{request.id}",
            {
                "status": WithdrawalStatus.REQUESTED.value,
                "user_id": request.user_id,
                "amount": request.amount,
            },
            {"status": request.status.value, "payout_reference": reference, "entry_id": posted.entry.id},
        )
        await tell(
            conn,
            request.user_id,
            lambda language: msgs.withdrawal_approved(decided, language),
            languages,
            (REF, request.id),
        )
        return WithdrawalDecision(True, request, staff.name, posted.entry)


async def reject_withdrawal(
    conn: Conn,
    request_id: int,
    staff: Staff,
    reason: str,
    *,
    msgs: LedgerMessages,
    languages: Languages,
) -> WithdrawalDecision:
    """Staff decline with a reason: the hold is released (no entry: nothing moved), audited,
    and the user is told why. A later decision is told who won."""
    require_admin(staff)
    reason = clean_reason(reason)
    async with conn.transaction():
        await q.lock_balance_of_request(conn, request_id)
        request = await q.decide_withdrawal(
            conn, request_id, WithdrawalStatus.REJECTED, staff_id=staff.id, reason=reason
        )
        if request is None:
            return await _lost(conn, request_id)
        decided = request  # not None from here on (also inside the lambda below)
        await staff_domain.audit(
            conn,
            staff.id,
            "withdrawal.reject",
            f"{REF}:{request.id}",
            {
                "status": WithdrawalStatus.REQUESTED.value,
                "user_id": request.user_id,
                "amount": request.amount,
            },
            {"status": request.status.value, "reason": reason},
        )
        await tell(
            conn,
            request.user_id,
            lambda language: msgs.withdrawal_rejected(decided, language),
            languages,
            (REF, request.id),
        )
        return WithdrawalDecision(True, request, staff.name)


async def cancel_withdrawal(conn: Conn, request_id: int, user_id: int) -> WithdrawalDecision:
    """The user takes back their own open request: the hold is released. If staff decided first,
    the decision says so (won=False); another user's request is "not found"."""
    async with conn.transaction():
        await q.lock_balance_of_request(conn, request_id)
        request = await q.decide_withdrawal(
            conn, request_id, WithdrawalStatus.CANCELLED, staff_id=None, only_user=user_id
        )
        if request is None:
            return await _lost(conn, request_id, user_id)
        return WithdrawalDecision(True, request, None)


async def get_withdrawal(conn: Conn, request_id: int) -> WithdrawalRequest | None:
    return await q.get_withdrawal(conn, request_id)


async def open_withdrawals(conn: Conn, *, after_id: int = 0, limit: int = 50) -> list[WithdrawalRequest]:
    """The staff queue, oldest first; the next page passes the last request's id as `after_id`."""
    return await q.open_withdrawals(conn, after_id, max(1, min(limit, 500)))


async def user_withdrawals(conn: Conn, user_id: int, *, limit: int = 20) -> list[WithdrawalRequest]:
    """The user's requests, newest first."""
    return await q.user_withdrawals(conn, user_id, max(1, min(limit, 500)))
