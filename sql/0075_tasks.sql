-- Tasks (T1, T2, T4): join a chat for points. A completion is one row per (task, user), decided
-- in SQL: the unique constraint makes a second Check (or a second process) find the first row,
-- and the ledger's idempotency key 'task:<task>:<user>' makes the reward post once.

CREATE TABLE tasks (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    chat_ref         text NOT NULL CHECK (length(chat_ref) BETWEEN 2 AND 200),  -- @username or invite link
    chat_id          bigint,                 -- from getChat on save; NULL when the bot cannot see it
    chat_title       text,
    join_url         text NOT NULL CHECK (join_url LIKE 'https://t.me/%'),
    titles           jsonb NOT NULL CHECK (jsonb_typeof(titles) = 'object'),        -- {"uz": …, "ru": …}
    descriptions     jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(descriptions) = 'object'),
    reward           bigint NOT NULL CHECK (reward BETWEEN 1 AND 1000000),
    max_completions  integer CHECK (max_completions > 0),        -- NULL: no limit
    completions      integer NOT NULL DEFAULT 0,                 -- credited (and pending review)
    starts_at        timestamptz,
    ends_at          timestamptz,
    verification     text NOT NULL CHECK (verification IN ('auto', 'screenshot')),
    leave_days       integer CHECK (leave_days BETWEEN 1 AND 365), -- NULL: leaving changes nothing
    active           boolean NOT NULL DEFAULT true,
    created_by       bigint REFERENCES staff (id),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tasks_within_limit CHECK (max_completions IS NULL OR completions <= max_completions),
    CHECK (completions >= 0),
    CHECK (starts_at IS NULL OR ends_at IS NULL OR starts_at < ends_at)
);
CREATE INDEX tasks_chat_idx ON tasks (chat_id) WHERE chat_id IS NOT NULL;

CREATE TABLE task_completions (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    task_id         bigint NOT NULL REFERENCES tasks (id),
    user_id         bigint NOT NULL REFERENCES users (id),
    status          text NOT NULL CHECK (status IN ('pending', 'credited', 'rejected', 'taken_back')),
    reward          bigint NOT NULL CHECK (reward > 0),            -- the task's reward when done
    screenshot      text,                                          -- a Telegram file_id
    created_at      timestamptz NOT NULL DEFAULT now(),
    credited_at     timestamptz,
    decided_by      bigint REFERENCES staff (id),                  -- a screenshot's reviewer
    decided_at      timestamptz,
    reject_reason   text CHECK (length(reject_reason) <= 500),
    watch_until     timestamptz,            -- leaving before this takes the reward back
    next_check_at   timestamptz,            -- the paced re-check's due date (NULL: none due)
    left_at         timestamptz,
    taken_back      bigint,                 -- the points taken back (≤ reward: never overdrawn)
    CONSTRAINT task_completions_once UNIQUE (task_id, user_id),
    CHECK (status <> 'credited' OR credited_at IS NOT NULL),
    CHECK ((status = 'taken_back') = (taken_back IS NOT NULL))
);
CREATE INDEX task_completions_user_idx ON task_completions (user_id, id);
-- The screenshot review queue, oldest first.
CREATE INDEX task_completions_review_idx ON task_completions (id) WHERE status = 'pending';
-- The re-check sweep: due credited completions, soonest first.
CREATE INDEX task_completions_due_idx ON task_completions (next_check_at)
    WHERE status = 'credited' AND next_check_at IS NOT NULL;
