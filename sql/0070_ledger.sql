-- The ledger (T3): append-only entries, a balance row per (account, currency) kept in the same
-- transaction as each entry, and withdrawal requests whose amount is held until staff decide.

-- Every credit (+) and debit (-). Never changed: a mistake is corrected by another entry.
CREATE TABLE ledger_entries (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account         bigint NOT NULL REFERENCES users (id),         -- a Telegram user id
    currency        text   NOT NULL CHECK (currency IN ('points', 'XTR')),  -- XTR: Telegram Stars
    amount          bigint NOT NULL CHECK (amount <> 0),
    kind            text   NOT NULL CONSTRAINT ledger_entries_kind_check CHECK (kind IN (
                        'task_reward', 'take_back', 'manual_adjustment', 'payment',
                        'promotion_purchase', 'refund', 'withdrawal')),
    ref_kind        text CHECK (length(ref_kind) BETWEEN 1 AND 40),   -- what caused it: 'task', …
    ref_id          bigint,
    actor           text   NOT NULL CHECK (actor IN ('system', 'user', 'staff')),
    staff_id        bigint REFERENCES staff (id),                  -- set when actor = 'staff'
    reason          text CHECK (length(reason) <= 500),
    idempotency_key text   NOT NULL UNIQUE CHECK (length(idempotency_key) BETWEEN 1 AND 200),
    balance_after   bigint NOT NULL,                               -- the account's balance after it
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((ref_kind IS NULL) = (ref_id IS NULL)),
    CHECK ((actor = 'staff') = (staff_id IS NOT NULL))
);
-- A user's statement, newest first (keyset on id), and the newest entry per balance for verify.
CREATE INDEX ledger_entries_account_idx ON ledger_entries (account, currency, id);
-- Everything one task, payment or withdrawal caused.
CREATE INDEX ledger_entries_ref_idx ON ledger_entries (ref_kind, ref_id) WHERE ref_kind IS NOT NULL;

CREATE FUNCTION ledger_entries_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger entries are append-only: % refused; post a correcting entry instead', TG_OP
        USING ERRCODE = 'restrict_violation';
END $$;

CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_entries_refuse_change();
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_refuse_change();

-- The sum of an account's entries, kept by the code that posts them (same statement), so a
-- read is one primary-key lookup. `held` is the part promised to open withdrawal requests:
-- what can be spent is balance - held. The checks are the last line against overdrawing.
CREATE TABLE ledger_balances (
    account    bigint NOT NULL REFERENCES users (id),
    currency   text   NOT NULL CHECK (currency IN ('points', 'XTR')),
    balance    bigint NOT NULL DEFAULT 0,
    held       bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account, currency),
    CONSTRAINT ledger_balances_never_negative CHECK (balance >= 0),
    CONSTRAINT ledger_balances_held_covered CHECK (held >= 0 AND held <= balance)
);

-- A user asks to be paid out; the amount is held (ledger_balances.held) while the request is
-- open. Approval debits the ledger once (a 'withdrawal' entry, ref 'withdrawal'/id);
-- rejection or cancellation releases the hold. The first decision wins (status = 'requested'
-- in the UPDATE's WHERE).
CREATE TABLE withdrawal_requests (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id          bigint NOT NULL REFERENCES users (id),
    currency         text   NOT NULL DEFAULT 'points' CHECK (currency IN ('points', 'XTR')),
    amount           bigint NOT NULL CHECK (amount > 0),
    status           text   NOT NULL DEFAULT 'requested'
                         CHECK (status IN ('requested', 'approved', 'rejected', 'cancelled')),
    requested_at     timestamptz NOT NULL DEFAULT now(),
    decided_at       timestamptz,
    decided_by       bigint REFERENCES staff (id),                -- NULL when the user cancelled
    payout_reference text CHECK (length(payout_reference) BETWEEN 1 AND 200),
    reason           text CHECK (length(reason) <= 500),
    CHECK ((status = 'requested') = (decided_at IS NULL)),
    CHECK (status <> 'approved' OR (payout_reference IS NOT NULL AND decided_by IS NOT NULL)),
    CHECK (status <> 'rejected' OR decided_by IS NOT NULL)
);
-- One open request per user and currency: the queue stays one line per person.
CREATE UNIQUE INDEX withdrawal_requests_open_idx ON withdrawal_requests (user_id, currency)
    WHERE status = 'requested';
CREATE INDEX withdrawal_requests_queue_idx ON withdrawal_requests (id) WHERE status = 'requested';
CREATE INDEX withdrawal_requests_user_idx ON withdrawal_requests (user_id, id);
