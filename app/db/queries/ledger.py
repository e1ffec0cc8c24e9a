"""Queries on the ledger: entries, balance rows, withdrawal requests and the books' check."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import asyncpg

from app.db import Conn

MAX_ID = 2**63 - 1  # keyset paging from the newest: "before the largest bigint"


class Currency(StrEnum):
    POINTS = "points"  # earned with tasks, spent on promotion, withdrawn
    XTR = "XTR"  # Telegram Stars


class EntryKind(StrEnum):
    TASK_REWARD = "task_reward"
    TAKE_BACK = "take_back"  # a task's reward taken back (the user left too soon)
    MANUAL_ADJUSTMENT = "manual_adjustment"  # by staff, with a reason; audited
    PAYMENT = "payment"  # Stars paid in through Telegram (keyed by the charge id)
    PROMOTION_PURCHASE = "promotion_purchase"
    REFUND = "refund"  # a purchase reversed (+), or Stars returned through Telegram (-)
    WITHDRAWAL = "withdrawal"  # points paid out, on staff approval of a request


class Actor(StrEnum):
    """Who caused an entry: the system (a task check, a payment), the user, or staff."""

    SYSTEM = "system"
    USER = "user"
    STAFF = "staff"


class WithdrawalStatus(StrEnum):
    REQUESTED = "requested"  # open: the amount is held
    APPROVED = "approved"  # paid out: one withdrawal entry
    REJECTED = "rejected"  # by staff, with a reason: the hold released
    CANCELLED = "cancelled"  # by the user: the hold released


@dataclass(frozen=True, slots=True)
class Entry:
    """One ledger row: a credit (amount > 0) or a debit (amount < 0)."""

    id: int
    account: int
    currency: Currency
    amount: int
    kind: EntryKind
    ref_kind: str | None
    ref_id: int | None
    actor: Actor
    staff_id: int | None
    reason: str | None
    idempotency_key: str
    balance_after: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Balance:
    account: int
    currency: Currency
    balance: int  # the sum of the entries
    held: int  # promised to open withdrawal requests

    @property
    def available(self) -> int:
        """What can be spent or withdrawn now."""
        return self.balance - self.held


@dataclass(frozen=True, slots=True)
class WithdrawalRequest:
    id: int
    user_id: int
    currency: Currency
    amount: int
    status: WithdrawalStatus
    requested_at: datetime
    decided_at: datetime | None
    decided_by: int | None  # a staff id; None while open or when the user cancelled
    payout_reference: str | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class Mismatch:
    """A balance row that disagrees with the entries (or a hold with the open requests)."""

    account: int
    currency: Currency
    balance: int
    entries_sum: int
    held: int
    open_withdrawals: int
    last_balance_after: int | None  # the newest entry's running balance

    def __str__(self) -> str:
        return (
            f"account {self.account} {self.currency}: balance {self.balance} but entries sum to "
            f"{self.entries_sum} (newest says {self.last_balance_after}); held {self.held} but "
            f"open withdrawals hold {self.open_withdrawals}"
        )


def _entry(row: asyncpg.Record) -> Entry:
    return Entry(
        id=row["id"],
        account=row["account"],
        currency=Currency(row["currency"]),
        amount=row["amount"],
        kind=EntryKind(row["kind"]),
        ref_kind=row["ref_kind"],
        ref_id=row["ref_id"],
        actor=Actor(row["actor"]),
        staff_id=row["staff_id"],
        reason=row["reason"],
        idempotency_key=row["idempotency_key"],
        balance_after=row["balance_after"],
        created_at=row["created_at"],
    )


def _withdrawal(row: asyncpg.Record) -> WithdrawalRequest:
    return WithdrawalRequest(
        id=row["id"],
        user_id=row["user_id"],
        currency=Currency(row["currency"]),
        amount=row["amount"],
        status=WithdrawalStatus(row["status"]),
        requested_at=row["requested_at"],
        decided_at=row["decided_at"],
        decided_by=row["decided_by"],
        payout_reference=row["payout_reference"],
        reason=row["reason"],
    )


ENTRY_COLUMNS = """id, account, currency, amount, kind, ref_kind, ref_id, actor, staff_id, reason,
    idempotency_key, balance_after, created_at"""

# Posting is one statement: a conditional UPDATE (or upsert) of the balance row, then the entry
# carrying the balance it returned. The row's lock orders every post to one account, and the
# condition is rechecked on the newest row after a wait, so a debit never overdraws. The move
# happens only when the key is new in this statement's snapshot; a key committed by another
# transaction meanwhile makes the INSERT do nothing, and the caller undoes the move (undo_move)
# in the same transaction. (A FOR UPDATE read before the INSERT, to avoid the undo, was tried:
# under concurrent holds it wrote the balance onto a newer row version than it had checked.)
_APPEND = f"""
, entry AS (
    INSERT INTO ledger_entries (account, currency, amount, kind, ref_kind, ref_id, actor, staff_id,
                                reason, idempotency_key, balance_after)
    SELECT $1::bigint, $2::text, $3::bigint, $4::text, $5::text, $6::bigint, $7::text, $8::bigint,
           $9::text, $10::text, balance FROM moved
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING {ENTRY_COLUMNS}
)
SELECT m.balance AS moved_to, e.* FROM moved m LEFT JOIN entry e ON true
"""

# A credit may be an account's first entry: its balance row is created (an upsert, so two
# first credits at once both land).
CREDIT = (
    """
WITH moved AS (
    INSERT INTO ledger_balances AS b (account, currency, balance)
    SELECT $1::bigint, $2::text, $3::bigint
     WHERE NOT EXISTS (SELECT 1 FROM ledger_entries WHERE idempotency_key = $10::text)
    ON CONFLICT (account, currency) DO UPDATE
        SET balance = b.balance + excluded.balance, updated_at = now()
    RETURNING b.balance
)"""
    + _APPEND
)

# A debit never overdraws: the condition is evaluated on the locked, newest balance row, so of
# two debits at once the second sees what the first left.
DEBIT = (
    """
WITH moved AS (
    UPDATE ledger_balances SET balance = balance + $3, updated_at = now()
     WHERE account = $1 AND currency = $2 AND balance - held + $3 >= 0
       AND NOT EXISTS (SELECT 1 FROM ledger_entries WHERE idempotency_key = $10)
    RETURNING balance
)"""
    + _APPEND
)


@dataclass(frozen=True, slots=True)
class Moved:
    """What the posting statement did: moved the balance (to `balance`), and appended `entry`
    unless another transaction had just appended the same key."""

    balance: int
    entry: Entry | None


async def move_and_append(
    conn: Conn,
    *,
    account: int,
    currency: Currency,
    amount: int,
    kind: EntryKind,
    ref_kind: str | None,
    ref_id: int | None,
    actor: Actor,
    staff_id: int | None,
    reason: str | None,
    key: str,
) -> Moved | None:
    """None when nothing moved: the key was posted before, or a debit found too little."""
    row = await conn.fetchrow(
        CREDIT if amount > 0 else DEBIT,
        account,
        currency.value,
        amount,
        kind.value,
        ref_kind,
        ref_id,
        actor.value,
        staff_id,
        reason,
        key,
    )
    if row is None:
        return None
    return Moved(row["moved_to"], _entry(row) if row["id"] is not None else None)


async def undo_move(conn: Conn, account: int, currency: Currency, amount: int) -> None:
    """Take back a balance move whose entry lost the race for its key (the row is still ours)."""
    await conn.execute(
        "UPDATE ledger_balances SET balance = balance - $3 WHERE account = $1 AND currency = $2",
        account,
        currency.value,
        amount,
    )


async def entry_by_key(conn: Conn, key: str) -> Entry | None:
    row = await conn.fetchrow(f"SELECT {ENTRY_COLUMNS} FROM ledger_entries WHERE idempotency_key = $1", key)
    return None if row is None else _entry(row)


async def get_balance(conn: Conn, account: int, currency: Currency) -> Balance:
    row = await conn.fetchrow(
        "SELECT balance, held FROM ledger_balances WHERE account = $1 AND currency = $2",
        account,
        currency.value,
    )
    if row is None:
        return Balance(account, currency, 0, 0)
    return Balance(account, currency, row["balance"], row["held"])


async def entries_page(
    conn: Conn, account: int, currency: Currency | None, before_id: int | None, limit: int
) -> list[Entry]:
    """Newest first; the next page passes the last entry's id as `before_id`."""
    before = MAX_ID if before_id is None else before_id
    if currency is None:
        rows = await conn.fetch(
            f"""SELECT {ENTRY_COLUMNS} FROM ledger_entries WHERE account = $1 AND id < $2
                ORDER BY id DESC LIMIT $3""",
            account,
            before,
            limit,
        )
    else:
        rows = await conn.fetch(
            f"""SELECT {ENTRY_COLUMNS} FROM ledger_entries
                 WHERE account = $1 AND currency = $2 AND id < $3
                 ORDER BY id DESC LIMIT $4""",
            account,
            currency.value,
            before,
            limit,
        )
    return [_entry(r) for r in rows]


async def entries_by_ref(conn: Conn, ref_kind: str, ref_id: int) -> list[Entry]:
    rows = await conn.fetch(
        f"SELECT {ENTRY_COLUMNS} FROM ledger_entries WHERE ref_kind = $1 AND ref_id = $2 ORDER BY id",
        ref_kind,
        ref_id,
    )
    return [_entry(r) for r in rows]


# One statement, so one snapshot: the sums, the balance rows and the holds are seen at the same
# moment even while others post.
VERIFY = """
WITH sums AS (
    SELECT account, currency, sum(amount)::bigint AS total, max(id) AS last_id
      FROM ledger_entries GROUP BY account, currency
), holds AS (
    SELECT user_id AS account, currency, sum(amount)::bigint AS held
      FROM withdrawal_requests WHERE status = 'requested' GROUP BY user_id, currency
), joined AS (
    SELECT account, currency,
           coalesce(b.balance, 0) AS balance, coalesce(s.total, 0) AS entries_sum,
           coalesce(b.held, 0) AS held, coalesce(h.held, 0) AS open_withdrawals,
           (SELECT e.balance_after FROM ledger_entries e WHERE e.id = s.last_id) AS last_balance_after
      FROM ledger_balances b
      FULL JOIN sums s USING (account, currency)
      FULL JOIN holds h USING (account, currency)
)
SELECT * FROM joined
 WHERE balance <> entries_sum OR held <> open_withdrawals
    OR (last_balance_after IS NOT NULL AND last_balance_after <> balance)
 ORDER BY account, currency
"""


async def mismatches(conn: Conn) -> list[Mismatch]:
    return [
        Mismatch(
            account=r["account"],
            currency=Currency(r["currency"]),
            balance=r["balance"],
            entries_sum=r["entries_sum"],
            held=r["held"],
            open_withdrawals=r["open_withdrawals"],
            last_balance_after=r["last_balance_after"],
        )
        for r in await conn.fetch(VERIFY)
    ]


# --- withdrawals ------------------------------------------------------------------------------

WITHDRAWAL_COLUMNS = """id, user_id, currency, amount, status, requested_at, decided_at, decided_by,
    payout_reference, reason"""

# The hold and the request in one statement: enough must be available on the locked row.
REQUEST = f"""
WITH hold AS (
    UPDATE ledger_balances SET held = held + $3, updated_at = now()
     WHERE account = $1 AND currency = $2 AND balance - held >= $3
    RETURNING account
)
INSERT INTO withdrawal_requests (user_id, currency, amount)
SELECT account, $2, $3 FROM hold
RETURNING {WITHDRAWAL_COLUMNS}
"""


async def insert_withdrawal(
    conn: Conn, user_id: int, currency: Currency, amount: int
) -> WithdrawalRequest | None:
    """None when less than `amount` is available; UniqueViolationError when one is open."""
    row = await conn.fetchrow(REQUEST, user_id, currency.value, amount)
    return None if row is None else _withdrawal(row)


async def lock_balance_of_request(conn: Conn, request_id: int) -> None:
    """Lock the balance row a request holds on before deciding it. Every path takes the balance
    row before a request row (a new request holds, then inserts), so a decision and a new
    request of the same user cannot wait for each other in a deadlock."""
    await conn.execute(
        """SELECT 1 FROM ledger_balances b
             JOIN withdrawal_requests w ON b.account = w.user_id AND b.currency = w.currency
            WHERE w.id = $1
              FOR UPDATE OF b""",
        request_id,
    )


# The first decision wins: only an open request changes, and its hold is released with it.
DECIDE = f"""
WITH decided AS (
    UPDATE withdrawal_requests
       SET status = $2, decided_by = $3, decided_at = now(), payout_reference = $4, reason = $5
     WHERE id = $1 AND status = 'requested' AND ($6::bigint IS NULL OR user_id = $6)
    RETURNING {WITHDRAWAL_COLUMNS}
), released AS (
    UPDATE ledger_balances b SET held = b.held - d.amount, updated_at = now()
      FROM decided d WHERE b.account = d.user_id AND b.currency = d.currency
    RETURNING b.account
)
SELECT d.*, (SELECT count(*) FROM released) AS released FROM decided d
"""


async def decide_withdrawal(
    conn: Conn,
    request_id: int,
    status: WithdrawalStatus,
    *,
    staff_id: int | None,
    payout_reference: str | None = None,
    reason: str | None = None,
    only_user: int | None = None,
) -> WithdrawalRequest | None:
    """None when the request is not open (decided before) or not `only_user`'s. Call
    lock_balance_of_request first, in the same transaction."""
    row = await conn.fetchrow(DECIDE, request_id, status.value, staff_id, payout_reference, reason, only_user)
    return None if row is None else _withdrawal(row)


async def get_withdrawal(conn: Conn, request_id: int) -> WithdrawalRequest | None:
    row = await conn.fetchrow(
        f"SELECT {WITHDRAWAL_COLUMNS} FROM withdrawal_requests WHERE id = $1", request_id
    )
    return None if row is None else _withdrawal(row)


async def open_withdrawals(conn: Conn, after_id: int, limit: int) -> list[WithdrawalRequest]:
    """The staff queue, oldest first; the next page passes the last id as `after_id`."""
    rows = await conn.fetch(
        f"""SELECT {WITHDRAWAL_COLUMNS} FROM withdrawal_requests
             WHERE status = 'requested' AND id > $1 ORDER BY id LIMIT $2""",
        after_id,
        limit,
    )
    return [_withdrawal(r) for r in rows]


async def user_withdrawals(conn: Conn, user_id: int, limit: int) -> list[WithdrawalRequest]:
    rows = await conn.fetch(
        f"""SELECT {WITHDRAWAL_COLUMNS} FROM withdrawal_requests
             WHERE user_id = $1 ORDER BY id DESC LIMIT $2""",
        user_id,
        limit,
    )
    return [_withdrawal(r) for r in rows]


async def user_language(conn: Conn, user_id: int) -> tuple[str | None, str | None] | None:
    """The user's chosen language and Telegram's language_code; None when there is no such user."""
    row = await conn.fetchrow("SELECT language, language_code FROM users WHERE id = $1", user_id)
    return None if row is None else (row["language"], row["language_code"])
