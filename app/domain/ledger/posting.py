"""Posting entries (idempotent, never overdrawn), reading balances and statements, staff adjustments."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from app.db import Conn
from app.db.queries import ledger as q
from app.db.queries.ledger import Actor, Balance, Currency, Entry, EntryKind
from app.domain import staff as staff_domain
from app.domain.ledger.errors import (
    AccountNotFound,
    InsufficientFunds,
    KeyReused,
    LedgerError,
    NotAllowed,
)
from app.domain.ledger.messages import LedgerMessages, tell
from app.domain.staff import Role, Staff
from app.domain.users import Languages
from app.i18n import N_

MAX_AMOUNT = 10**12  # far above any real balance; keeps every sum inside bigint
MAX_ADJUSTMENT = 10**9
MAX_REASON = 500
MAX_KEY = 200
MAX_PAGE = 500

# The sign each kind must have; kinds not listed may go either way.
CREDIT_KINDS = frozenset({EntryKind.TASK_REWARD, EntryKind.PAYMENT})
DEBIT_KINDS = frozenset({EntryKind.TAKE_BACK, EntryKind.PROMOTION_PURCHASE, EntryKind.WITHDRAWAL})


@dataclass(frozen=True, slots=True)
class NewEntry:
    """An entry to post. `key` is its idempotency key: the same key never posts twice. Build it
    from what caused the entry, e.g. f"task:{task_id}:{user_id}" or f"stars:{charge_id}"."""

    account: int  # a Telegram user id (users.id)
    currency: Currency
    amount: int  # > 0 credits, < 0 debits
    kind: EntryKind
    key: str
    ref_kind: str | None = None  # what caused it ('task', 'withdrawal', 'promotion', …)
    ref_id: int | None = None
    actor: Actor = Actor.SYSTEM
    staff_id: int | None = None  # set exactly when actor is STAFF
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Posted:
    """The entry a key stands for; `duplicate` when it was posted before and nothing changed now
    (its balance_after is then the balance at that first posting, not today's)."""

    entry: Entry
    duplicate: bool


def _check(e: NewEntry) -> None:
    """Mistakes of the calling code, not of a user: ValueError."""
    if isinstance(e.amount, bool) or not isinstance(e.amount, int) or e.amount == 0:
        raise ValueError("amount is a non-zero int")
    if abs(e.amount) > MAX_AMOUNT:
        raise ValueError(f"amount {e.amount} is beyond ±{MAX_AMOUNT}")
    if (e.kind in CREDIT_KINDS and e.amount < 0) or (e.kind in DEBIT_KINDS and e.amount > 0):
        raise ValueError(f"a {e.kind} entry cannot have amount {e.amount}")
    if not 1 <= len(e.key) <= MAX_KEY:
        raise ValueError(f"an idempotency key has 1-{MAX_KEY} characters")
    if (e.ref_kind is None) != (e.ref_id is None):
        raise ValueError("ref_kind and ref_id go together")
    if (e.actor is Actor.STAFF) != (e.staff_id is not None):
        raise ValueError("staff_id is given exactly when the actor is staff")
    if e.reason is not None and len(e.reason) > MAX_REASON:
        raise ValueError(f"a reason has at most {MAX_REASON} characters")


def _same(first: Entry, e: NewEntry) -> None:
    if (first.account, first.currency, first.amount, first.kind) != (e.account, e.currency, e.amount, e.kind):
        raise KeyReused(
            f"idempotency key {e.key!r} is entry {first.id} ({first.kind} {first.amount} {first.currency} "
            f"for {first.account}), not {e.kind} {e.amount} {e.currency} for {e.account}"
        )


async def post(conn: Conn, entry: NewEntry) -> Posted:
    """Append an entry and move its balance together, in the caller's transaction (or one of
    its own). A key posted before returns that first entry and changes nothing, also when
    two transactions post it at once. A debit larger than what is available raises
    InsufficientFunds and changes nothing, also when debits race."""
    _check(entry)
    if conn.is_in_transaction():
        return await _post(conn, entry)
    async with conn.transaction():  # the rare undo below must commit with the move, or not at all
        return await _post(conn, entry)


async def _post(conn: Conn, e: NewEntry) -> Posted:
    moved = await q.move_and_append(
        conn,
        account=e.account,
        currency=e.currency,
        amount=e.amount,
        kind=e.kind,
        ref_kind=e.ref_kind,
        ref_id=e.ref_id,
        actor=e.actor,
        staff_id=e.staff_id,
        reason=e.reason,
        key=e.key,
    )
    if moved is not None and moved.entry is not None:
        return Posted(moved.entry, duplicate=False)
    if moved is not None:  # another transaction committed this key while we moved the balance
        await q.undo_move(conn, e.account, e.currency, e.amount)
    first = await q.entry_by_key(conn, e.key)
    if first is not None:
        _same(first, e)
        return Posted(first, duplicate=True)
    if moved is not None or e.amount > 0:
        # Only under REPEATABLE READ or SERIALIZABLE, where the winner's row stays unseen.
        raise RuntimeError(f"key {e.key!r} was taken by a transaction this one cannot see; retry")
    have = await q.get_balance(conn, e.account, e.currency)
    raise InsufficientFunds(available=have.available, amount=-e.amount)


async def balance(conn: Conn, account: int, currency: Currency = Currency.POINTS) -> Balance:
    """The account's balance and holds (zero for an account with no entries): one key lookup."""
    return await q.get_balance(conn, account, currency)


async def entries(
    conn: Conn,
    account: int,
    currency: Currency | None = None,
    *,
    before_id: int | None = None,
    limit: int = 50,
) -> list[Entry]:
    """The account's entries, newest first, `limit` at a time; pass the last one's id as
    `before_id` for the next page. No currency: both."""
    return await q.entries_page(conn, account, currency, before_id, max(1, min(limit, MAX_PAGE)))


async def entries_for(conn: Conn, ref_kind: str, ref_id: int) -> list[Entry]:
    """Every entry one thing caused (a task, a payment, a withdrawal), oldest first."""
    return await q.entries_by_ref(conn, ref_kind, ref_id)


def require_admin(staff: Staff) -> None:
    if not staff.has_role(Role.ADMIN):
        raise NotAllowed()


def clean_reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text or len(text) > MAX_REASON:
        raise LedgerError(N_("Give a reason of 1 to {limit} characters."), limit=MAX_REASON)
    return text


async def adjust(
    conn: Conn,
    account: int,
    currency: Currency,
    amount: int,
    staff: Staff,
    reason: str,
    *,
    msgs: LedgerMessages,
    languages: Languages,
    key: str | None = None,
) -> Posted:
    """A manual adjustment by an admin: a new audited entry (never an edit of a number), and a
    message telling the user by how much and why. Pass the form's one-time `key` so that a
    double submit adjusts once."""
    require_admin(staff)
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < abs(amount) <= MAX_ADJUSTMENT:
        raise LedgerError(
            N_("The amount is a whole number from -{limit} to {limit}, not zero."), limit=MAX_ADJUSTMENT
        )
    reason = clean_reason(reason)
    if await q.user_language(conn, account) is None:
        raise AccountNotFound(account)
    async with conn.transaction():  # the entry, its audit row and the message, or none of them
        before = await q.get_balance(conn, account, currency)
        posted = await post(
            conn,
            NewEntry(
                account=account,
                currency=currency,
                amount=amount,
                kind=EntryKind.MANUAL_ADJUSTMENT,
                key=key or f"adjust:{uuid.uuid4()}",
                actor=Actor.STAFF,
                staff_id=staff.id,
                reason=reason,
            ),
        )
        if posted.duplicate:
            return posted
        entry = posted.entry
        await staff_domain.audit(
            conn,
            staff.id,
            "ledger.adjust",
            f"user:{account}",
            {"currency": currency.value, "balance": before.balance},
            {
                "currency": currency.value,
                "balance": entry.balance_after,
                "amount": amount,
                "reason": reason,
                "entry_id": entry.id,
            },
        )
        await tell(
            conn,
            account,
            lambda language: msgs.balance_adjusted(entry, language),
            languages,
            ("ledger_entry", entry.id),
        )
        return posted
