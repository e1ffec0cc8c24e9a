"""The ledger: append-only entries, idempotent posts, no overdraft under races, withdrawals, proof."""

from __future__ import annotations

import asyncio
import random

import asyncpg
import pytest

from app.db.pool import create_pool
from app.domain import ledger
from app.domain.ledger import (
    AccountNotFound,
    Actor,
    BelowMinimum,
    Currency,
    EntryKind,
    InsufficientFunds,
    KeyReused,
    LedgerError,
    NewEntry,
    NotAllowed,
    WithdrawalNotFound,
    WithdrawalPending,
    WithdrawalStatus,
)
from app.domain.staff import Role
from tests.helpers.ledger import (
    LANGUAGES,
    MSGS,
    TRANSLATOR,
    audit_rows,
    credit,
    make_staff,
    make_user,
    messages_to,
    queued_behind,
    race,
    row_counts,
    spend,
)

ALICE, BOBUR = 7001, 7002
ru = TRANSLATOR("ru")


async def balance_of(db: asyncpg.Connection, account: int) -> tuple[int, int]:
    b = await ledger.balance(db, account, Currency.POINTS)
    return b.balance, b.held


# --- append-only ------------------------------------------------------------------------------


async def test_the_database_refuses_to_change_or_delete_a_ledger_row(db: asyncpg.Connection) -> None:
    await make_user(db, ALICE)
    posted = await credit(db, ALICE, 100)
    for statement in (
        "UPDATE ledger_entries SET amount = 1000000 WHERE id = $1",
        "DELETE FROM ledger_entries WHERE id = $1",
    ):
        with pytest.raises(asyncpg.RestrictViolationError, match="append-only"):
            await db.execute(statement, posted.entry.id)
    with pytest.raises(asyncpg.RestrictViolationError, match="append-only"):
        await db.execute("TRUNCATE ledger_entries CASCADE")
    rows = await db.fetch("SELECT id, amount FROM ledger_entries")
    assert [(r["id"], r["amount"]) for r in rows] == [(posted.entry.id, 100)]
    assert await balance_of(db, ALICE) == (100, 0)


async def test_a_balance_row_can_never_go_below_zero_even_by_hand(db: asyncpg.Connection) -> None:
    await make_user(db, ALICE)
    await credit(db, ALICE, 10)
    with pytest.raises(asyncpg.CheckViolationError):
        await db.execute("UPDATE ledger_balances SET balance = -1 WHERE account = $1", ALICE)


# --- idempotency ------------------------------------------------------------------------------


async def test_a_repeated_key_posts_once(db: asyncpg.Connection) -> None:
    await make_user(db, ALICE)
    reward = NewEntry(
        ALICE, Currency.POINTS, 40, EntryKind.TASK_REWARD, key="task:1:7001", ref_kind="task", ref_id=1
    )
    first = await ledger.post(db, reward)
    again = await ledger.post(db, reward)
    assert not first.duplicate and again.duplicate
    assert again.entry == first.entry
    assert await balance_of(db, ALICE) == (40, 0)
    assert [e.id for e in await ledger.entries_for(db, "task", 1)] == [first.entry.id]
    # The same key for something else is a bug in the caller: refused, nothing moves.
    with pytest.raises(KeyReused):
        await ledger.post(db, NewEntry(ALICE, Currency.POINTS, 41, EntryKind.TASK_REWARD, key="task:1:7001"))
    assert await balance_of(db, ALICE) == (40, 0)


@pytest.mark.parametrize("existing_balance", [0, 500], ids=["first-entry-of-account", "existing-balance"])
async def test_one_key_posted_by_two_connections_at_the_same_moment_posts_once(
    db: asyncpg.Connection, database_url: str, existing_balance: int
) -> None:
    await make_user(db, ALICE)
    if existing_balance:
        await credit(db, ALICE, existing_balance)
    entry = NewEntry(
        ALICE, Currency.POINTS, 25, EntryKind.TASK_REWARD, key="task:9:7001", ref_kind="task", ref_id=9
    )

    raced = await race(database_url, lambda c: ledger.post(c, entry), lambda c: ledger.post(c, entry))

    assert raced.contended  # the second post ran while the first was still uncommitted
    first, second = raced.outcomes
    assert sorted([first.duplicate, second.duplicate]) == [False, True]
    assert first.entry.id == second.entry.id
    assert await db.fetchval("SELECT count(*) FROM ledger_entries WHERE idempotency_key = $1", entry.key) == 1
    assert await balance_of(db, ALICE) == (existing_balance + 25, 0)
    assert await ledger.verify(db) == []


# --- never overdrawn --------------------------------------------------------------------------


async def test_two_concurrent_debits_that_exceed_the_balance_one_is_refused(
    db: asyncpg.Connection, database_url: str
) -> None:
    await make_user(db, ALICE)
    await credit(db, ALICE, 100)

    raced = await race(
        database_url,
        lambda c: ledger.post(c, spend(ALICE, 70, "promo:1")),
        lambda c: ledger.post(c, spend(ALICE, 70, "promo:2")),
    )

    assert raced.contended
    refused = [o for o in raced.outcomes if isinstance(o, InsufficientFunds)]
    posted = [o for o in raced.outcomes if isinstance(o, ledger.Posted)]
    assert len(refused) == 1 and len(posted) == 1
    assert (refused[0].available, refused[0].amount) == (30, 70)
    assert refused[0].text(ru) == "Недостаточно средств на балансе: доступно 30, нужно 70."
    assert await balance_of(db, ALICE) == (30, 0)
    assert await db.fetchval("SELECT min(balance_after) FROM ledger_entries") >= 0
    assert await db.fetchval("SELECT count(*) FROM ledger_entries WHERE amount < 0") == 1


async def test_a_refused_debit_changes_nothing_and_the_callers_transaction_goes_on(
    db: asyncpg.Connection,
) -> None:
    await make_user(db, ALICE)
    await credit(db, ALICE, 50)
    async with db.transaction():
        with pytest.raises(InsufficientFunds):
            await ledger.post(db, spend(ALICE, 51, "promo:too-much"))
        await ledger.post(db, spend(ALICE, 20, "promo:fits"))
    assert await balance_of(db, ALICE) == (30, 0)
    assert [(e.kind, e.amount, e.balance_after) for e in await ledger.entries(db, ALICE)] == [
        (EntryKind.PROMOTION_PURCHASE, -20, 30),
        (EntryKind.TASK_REWARD, 50, 50),
    ]
    # An account with nothing at all cannot be debited either.
    await make_user(db, BOBUR)
    with pytest.raises(InsufficientFunds):
        await ledger.post(db, spend(BOBUR, 1, "promo:nothing"))
    assert await balance_of(db, BOBUR) == (0, 0)


async def test_a_debit_of_the_wrong_sign_for_its_kind_is_refused(db: asyncpg.Connection) -> None:
    await make_user(db, ALICE)
    with pytest.raises(ValueError, match="task_reward"):
        await ledger.post(db, NewEntry(ALICE, Currency.POINTS, -5, EntryKind.TASK_REWARD, key="k"))
    with pytest.raises(ValueError, match="staff"):
        await ledger.post(
            db, NewEntry(ALICE, Currency.POINTS, 5, EntryKind.REFUND, key="k", actor=Actor.STAFF)
        )
    assert await row_counts(db) == (0, 0, 0)


# --- reading ----------------------------------------------------------------------------------


async def test_a_statement_is_paged_newest_first_per_currency(db: asyncpg.Connection) -> None:
    await make_user(db, ALICE)
    for amount in range(1, 8):
        await credit(db, ALICE, amount)
    await credit(db, ALICE, 99, currency=Currency.XTR)
    pages, before = [], None
    while page := await ledger.entries(db, ALICE, Currency.POINTS, before_id=before, limit=3):
        pages.append([e.amount for e in page])
        before = page[-1].id
    assert pages == [[7, 6, 5], [4, 3, 2], [1]]
    assert [e.amount for e in await ledger.entries(db, ALICE, limit=2)] == [99, 7]
    assert (await ledger.balance(db, ALICE, Currency.XTR)).balance == 99
    assert (await ledger.balance(db, BOBUR)).balance == 0  # no entries, no row: zero


# --- the proof --------------------------------------------------------------------------------


async def test_verify_finds_nothing_after_many_random_operations_and_finds_a_corrupted_balance(
    db: asyncpg.Connection, database_url: str
) -> None:
    users = list(range(8001, 8006))  # few accounts, many workers: they contend
    for uid in users:
        await make_user(db, uid)
    admin = await make_staff(db, "ledgeradmin")
    rng = random.Random(15)
    pool = await create_pool(database_url, min_size=6, max_size=6)

    async def worker(n: int) -> None:
        for step in range(80):
            uid, amount = rng.choice(users), rng.randint(1, 300)
            async with pool.acquire() as conn, conn.transaction():
                roll = rng.random()
                try:
                    if roll < 0.4:
                        await credit(conn, uid, amount, currency=rng.choice(list(Currency)))
                    elif roll < 0.7:
                        # Repeated keys across workers: some of these are duplicates on purpose.
                        await ledger.post(conn, spend(uid, amount, f"promo:{uid}:{rng.randint(1, 40)}"))
                    elif roll < 0.8:
                        await ledger.request_withdrawal(conn, uid, amount, minimum=1)
                    elif roll < 0.93:
                        for request in await ledger.open_withdrawals(conn, limit=1):
                            if rng.random() < 0.5:
                                await ledger.approve_withdrawal(
                                    conn, request.id, admin, f"PAY-{n}-{step}", msgs=MSGS, languages=LANGUAGES
                                )
                            else:
                                await ledger.reject_withdrawal(
                                    conn, request.id, admin, "test", msgs=MSGS, languages=LANGUAGES
                                )
                    else:
                        await ledger.adjust(
                            conn,
                            uid,
                            Currency.POINTS,
                            rng.randint(-50, 50) or 1,
                            admin,
                            "random",
                            msgs=MSGS,
                            languages=LANGUAGES,
                        )
                except (LedgerError, KeyReused):
                    pass  # refused: too little, one open already, or a key used for another amount

    try:
        await asyncio.gather(*(worker(n) for n in range(6)))
        assert await db.fetchval("SELECT count(*) FROM ledger_entries") > 100  # it really did work
        assert await db.fetchval("SELECT count(*) FROM withdrawal_requests WHERE status = 'approved'") > 0
        assert await ledger.verify(db) == []
        assert await ledger.verify_job(pool) == []

        victim = await db.fetchval(
            "SELECT account FROM ledger_balances WHERE balance > 0 ORDER BY account LIMIT 1"
        )
        await db.execute(
            "UPDATE ledger_balances SET balance = balance + 5 WHERE account = $1 AND currency = 'points'",
            victim,
        )
        found = await ledger.verify(db)
        assert [(m.account, m.currency, m.balance - m.entries_sum) for m in found] == [
            (victim, Currency.POINTS, 5)
        ]
        assert await ledger.verify_job(pool) == found
    finally:
        await pool.close()


async def test_verify_finds_a_hold_that_no_open_request_explains(db: asyncpg.Connection) -> None:
    await make_user(db, ALICE)
    await credit(db, ALICE, 300)
    await db.execute("UPDATE ledger_balances SET held = 100 WHERE account = $1", ALICE)
    [mismatch] = await ledger.verify(db)
    assert (mismatch.account, mismatch.held, mismatch.open_withdrawals) == (ALICE, 100, 0)
    assert mismatch.balance == mismatch.entries_sum == 300


# --- withdrawals ------------------------------------------------------------------------------


async def test_a_withdrawal_holds_the_amount_and_approval_debits_it_once(db: asyncpg.Connection) -> None:
    await make_user(db, ALICE, language="ru")
    first, second = await make_staff(db, "kamola"), await make_staff(db, "rustam")
    await credit(db, ALICE, 500)

    request = await ledger.request_withdrawal(db, ALICE, 300)
    assert request.status is WithdrawalStatus.REQUESTED
    assert await balance_of(db, ALICE) == (500, 300)  # nothing paid yet, but held
    with pytest.raises(InsufficientFunds) as refused:
        await ledger.post(db, spend(ALICE, 250, "promo:while-held"))
    assert refused.value.available == 200
    with pytest.raises(WithdrawalPending):
        await ledger.request_withdrawal(db, ALICE, 100)

    won = await ledger.approve_withdrawal(db, request.id, first, " TX-778 ", msgs=MSGS, languages=LANGUAGES)
    assert won.won and won.decided_by == "Kamola"
    assert won.request.status is WithdrawalStatus.APPROVED and won.request.payout_reference == "TX-778"
    assert won.entry is not None and (won.entry.kind, won.entry.amount) == (EntryKind.WITHDRAWAL, -300)
    assert await balance_of(db, ALICE) == (200, 0)

    late = await ledger.approve_withdrawal(db, request.id, second, "TX-779", msgs=MSGS, languages=LANGUAGES)
    assert not late.won and late.decided_by == "Kamola" and late.request.payout_reference == "TX-778"
    too_late = await ledger.reject_withdrawal(db, request.id, second, "no", msgs=MSGS, languages=LANGUAGES)
    assert not too_late.won and too_late.request.status is WithdrawalStatus.APPROVED
    assert [e.amount for e in await ledger.entries_for(db, "withdrawal", request.id)] == [-300]
    assert await balance_of(db, ALICE) == (200, 0)

    assert await messages_to(db, ALICE) == ["Ваш вывод 300 баллов выплачен. Номер выплаты: TX-778"]
    [audit] = await audit_rows(db, "withdrawal.approve")
    assert audit["staff_id"] == first.id and audit["target"] == f"withdrawal:{request.id}"
    assert audit["after"]["payout_reference"] == "TX-778" and audit["after"]["entry_id"] == won.entry.id
    assert await ledger.verify(db) == []


async def test_two_admins_approving_at_the_same_moment_pay_out_once(
    db: asyncpg.Connection, database_url: str
) -> None:
    await make_user(db, ALICE)
    first, second = await make_staff(db, "kamola"), await make_staff(db, "rustam")
    await credit(db, ALICE, 400)
    request = await ledger.request_withdrawal(db, ALICE, 400)

    raced = await race(
        database_url,
        lambda c: ledger.approve_withdrawal(c, request.id, first, "A-1", msgs=MSGS, languages=LANGUAGES),
        lambda c: ledger.approve_withdrawal(c, request.id, second, "B-1", msgs=MSGS, languages=LANGUAGES),
    )

    assert raced.contended
    winner, loser = sorted(raced.outcomes, key=lambda d: not d.won)
    assert winner.won and not loser.won
    assert (
        loser.decided_by == winner.decided_by
        and loser.request.payout_reference == winner.request.payout_reference
    )
    assert [e.amount for e in await ledger.entries_for(db, "withdrawal", request.id)] == [-400]
    assert await balance_of(db, ALICE) == (0, 0)
    assert len(await audit_rows(db, "withdrawal.approve")) == 1
    assert len(await messages_to(db, ALICE)) == 1


async def test_a_withdrawal_and_a_purchase_at_the_same_moment_cannot_both_take_the_points(
    db: asyncpg.Connection, database_url: str
) -> None:
    await make_user(db, ALICE)
    await credit(db, ALICE, 150)

    raced = await race(
        database_url,
        lambda c: ledger.request_withdrawal(c, ALICE, 100),
        lambda c: ledger.post(c, spend(ALICE, 100, "promo:race")),
    )

    assert raced.contended
    assert sum(isinstance(o, InsufficientFunds) for o in raced.outcomes) == 1
    balance, held = await balance_of(db, ALICE)
    assert balance - held == 50 and (balance, held) in ((150, 100), (50, 0))
    assert await ledger.verify(db) == []


async def test_two_withdrawal_requests_at_the_same_moment_hold_once(
    db: asyncpg.Connection, database_url: str
) -> None:
    await make_user(db, ALICE)
    await credit(db, ALICE, 500)

    raced = await race(
        database_url,
        lambda c: ledger.request_withdrawal(c, ALICE, 200),
        lambda c: ledger.request_withdrawal(c, ALICE, 200),
    )

    assert raced.contended
    assert sum(isinstance(o, WithdrawalPending) for o in raced.outcomes) == 1
    assert await balance_of(db, ALICE) == (500, 200)
    assert await db.fetchval("SELECT count(*) FROM withdrawal_requests") == 1
    assert await ledger.verify(db) == []


@pytest.mark.parametrize("decision", ["approve", "reject", "cancel"])
async def test_a_decision_and_a_new_request_of_the_same_user_at_once_never_deadlock(
    db: asyncpg.Connection, database_url: str, decision: str
) -> None:
    await make_user(db, ALICE)
    admin = await make_staff(db, "kamola")
    await credit(db, ALICE, 500)
    request = await ledger.request_withdrawal(db, ALICE, 200)
    decide = {
        "approve": lambda c: ledger.approve_withdrawal(
            c, request.id, admin, "P-1", msgs=MSGS, languages=LANGUAGES
        ),
        "reject": lambda c: ledger.reject_withdrawal(
            c, request.id, admin, "no", msgs=MSGS, languages=LANGUAGES
        ),
        "cancel": lambda c: ledger.cancel_withdrawal(c, request.id, ALICE),
    }[decision]

    # The worst order: the new request queues for the balance row first, the decision behind
    # it. Were the decision to take the request row before the balance row, the new request's
    # uniqueness check would wait for the decision while the decision waits for the balance
    # row the new request holds.
    requested, decided = await queued_behind(
        database_url,
        "SELECT 1 FROM ledger_balances WHERE account = $1 FOR UPDATE",
        (ALICE,),
        lambda c: ledger.request_withdrawal(c, ALICE, 100),
        decide,
    )

    assert isinstance(requested, WithdrawalPending), requested  # the first one was still open
    assert not isinstance(decided, BaseException), decided  # e.g. DeadlockDetectedError
    assert decided.won
    assert await db.fetchval("SELECT count(*) FROM withdrawal_requests") == 1
    assert await ledger.verify(db) == []


async def test_rejection_returns_the_amount_and_tells_the_user_why(db: asyncpg.Connection) -> None:
    await make_user(db, ALICE, language="uz")
    admin = await make_staff(db, "kamola")
    await credit(db, ALICE, 500)
    request = await ledger.request_withdrawal(db, ALICE, 300)

    decision = await ledger.reject_withdrawal(
        db, request.id, admin, "Karta raqami noto'g'ri", msgs=MSGS, languages=LANGUAGES
    )

    assert decision.won and decision.request.status is WithdrawalStatus.REJECTED
    assert await balance_of(db, ALICE) == (500, 0)
    assert [e.kind for e in await ledger.entries(db, ALICE)] == [EntryKind.TASK_REWARD]  # nothing moved
    assert await messages_to(db, ALICE) == [
        "300 ball yechib olish so'rovingiz rad etildi: Karta raqami noto'g'ri\n"
        "Mablag' balansingizga qaytarildi."
    ]
    [audit] = await audit_rows(db, "withdrawal.reject")
    assert audit["after"] == {"status": "rejected", "reason": "Karta raqami noto'g'ri"}
    # The released amount can be requested again.
    again = await ledger.request_withdrawal(db, ALICE, 500)
    assert again.id != request.id and await balance_of(db, ALICE) == (500, 500)
    assert await ledger.verify(db) == []


async def test_a_withdrawal_below_the_minimum_or_beyond_the_balance_is_refused(
    db: asyncpg.Connection,
) -> None:
    await make_user(db, ALICE)
    await credit(db, ALICE, 150)
    with pytest.raises(BelowMinimum) as small:
        await ledger.request_withdrawal(db, ALICE, 99)
    assert small.value.text(ru) == "Минимальная сумма вывода — 100 баллов."
    with pytest.raises(InsufficientFunds):
        await ledger.request_withdrawal(db, ALICE, 151)
    assert await ledger.request_withdrawal(db, ALICE, 40, minimum=10)  # the minimum is the caller's
    assert await balance_of(db, ALICE) == (150, 40)
    assert await db.fetchval("SELECT count(*) FROM withdrawal_requests") == 1


async def test_the_user_cancels_their_own_open_request_only(db: asyncpg.Connection) -> None:
    await make_user(db, ALICE)
    await make_user(db, BOBUR)
    admin = await make_staff(db, "kamola")
    await credit(db, ALICE, 300)
    request = await ledger.request_withdrawal(db, ALICE, 200)
    with pytest.raises(WithdrawalNotFound):
        await ledger.cancel_withdrawal(db, request.id, BOBUR)
    cancelled = await ledger.cancel_withdrawal(db, request.id, ALICE)
    assert (
        cancelled.won
        and cancelled.request.status is WithdrawalStatus.CANCELLED
        and cancelled.decided_by is None
    )
    assert await balance_of(db, ALICE) == (300, 0)
    late = await ledger.approve_withdrawal(db, request.id, admin, "X", msgs=MSGS, languages=LANGUAGES)
    assert not late.won and late.request.status is WithdrawalStatus.CANCELLED
    assert await ledger.entries_for(db, "withdrawal", request.id) == []
    with pytest.raises(WithdrawalNotFound):
        await ledger.approve_withdrawal(db, 999999, admin, "X", msgs=MSGS, languages=LANGUAGES)


async def test_only_an_admin_decides_withdrawals_and_a_reference_is_required(db: asyncpg.Connection) -> None:
    await make_user(db, ALICE)
    moderator = await make_staff(db, "moderat", Role.MODERATOR)
    admin = await make_staff(db, "kamola")
    await credit(db, ALICE, 300)
    request = await ledger.request_withdrawal(db, ALICE, 200)
    with pytest.raises(NotAllowed):
        await ledger.approve_withdrawal(db, request.id, moderator, "X", msgs=MSGS, languages=LANGUAGES)
    with pytest.raises(LedgerError) as blank:
        await ledger.approve_withdrawal(db, request.id, admin, "   ", msgs=MSGS, languages=LANGUAGES)
    assert blank.value.text(ru).startswith("Укажите номер выплаты")
    assert (await ledger.get_withdrawal(db, request.id)).status is WithdrawalStatus.REQUESTED
    assert await balance_of(db, ALICE) == (300, 200)


# --- manual adjustments -----------------------------------------------------------------------


async def test_a_manual_adjustment_shows_in_the_audit_log_and_the_entries(db: asyncpg.Connection) -> None:
    await make_user(db, ALICE, language="ru")
    admin = await make_staff(db, "kamola")
    await credit(db, ALICE, 20)

    posted = await ledger.adjust(
        db,
        ALICE,
        Currency.POINTS,
        50,
        admin,
        " Компенсация за сбой ",
        msgs=MSGS,
        languages=LANGUAGES,
        key="form-1",
    )
    again = await ledger.adjust(
        db,
        ALICE,
        Currency.POINTS,
        50,
        admin,
        "Компенсация за сбой",
        msgs=MSGS,
        languages=LANGUAGES,
        key="form-1",
    )

    assert again.duplicate and again.entry.id == posted.entry.id  # a double submit adjusts once
    [newest, _reward] = await ledger.entries(db, ALICE)
    assert (newest.kind, newest.amount, newest.balance_after) == (EntryKind.MANUAL_ADJUSTMENT, 50, 70)
    assert (newest.actor, newest.staff_id, newest.reason) == (Actor.STAFF, admin.id, "Компенсация за сбой")
    [audit] = await audit_rows(db, "ledger.adjust")
    assert audit["staff_id"] == admin.id and audit["target"] == f"user:{ALICE}"
    assert audit["before"] == {"currency": "points", "balance": 20}
    assert audit["after"] == {
        "currency": "points",
        "balance": 70,
        "amount": 50,
        "reason": "Компенсация за сбой",
        "entry_id": newest.id,
    }
    assert await messages_to(db, ALICE) == [
        "Ваш баланс изменён на +50 баллов: Компенсация за сбой\nТеперь на балансе: 70 баллов."
    ]


async def test_an_adjustment_that_cannot_be_made_changes_nothing(db: asyncpg.Connection) -> None:
    await make_user(db, ALICE)
    admin = await make_staff(db, "kamola")
    operator = await make_staff(db, "operat", Role.OPERATOR)
    await credit(db, ALICE, 20)
    before = await row_counts(db)
    attempts = [
        (InsufficientFunds, dict(account=ALICE, amount=-21, staff=admin, reason="fine")),
        (NotAllowed, dict(account=ALICE, amount=5, staff=operator, reason="fine")),
        (AccountNotFound, dict(account=424242, amount=5, staff=admin, reason="fine")),
        (LedgerError, dict(account=ALICE, amount=5, staff=admin, reason="  ")),
        (LedgerError, dict(account=ALICE, amount=0, staff=admin, reason="fine")),
    ]
    for error, args in attempts:
        with pytest.raises(error):
            await ledger.adjust(db, currency=Currency.POINTS, msgs=MSGS, languages=LANGUAGES, **args)
    assert await row_counts(db) == before
    assert await audit_rows(db, "ledger.adjust") == []
    assert await balance_of(db, ALICE) == (20, 0)
