-- Foundation: users who contacted the bot, the inbound update journal, aiogram FSM state.

CREATE TABLE users (
    id              bigint PRIMARY KEY,               -- Telegram user id
    first_name      text NOT NULL,
    last_name       text,
    username        text,
    language_code   text,                             -- as Telegram reports it
    language        text CHECK (language IN ('uz', 'ru', 'en')),  -- chosen with /language
    is_bot          boolean NOT NULL DEFAULT false,
    first_seen      timestamptz NOT NULL DEFAULT now(),
    last_seen       timestamptz NOT NULL DEFAULT now(),
    blocked_bot_at  timestamptz                       -- set when the user blocked the bot
);
CREATE INDEX users_username_idx ON users (lower(username)) WHERE username IS NOT NULL;

-- Every incoming update, stored before it is handled.
CREATE TABLE update_journal (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    bot_id      bigint NOT NULL,
    update_id   bigint NOT NULL,
    kind        text NOT NULL,
    user_id     bigint,
    chat_id     bigint,
    payload     jsonb NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    error       text,                                 -- set when handling failed
    UNIQUE (bot_id, update_id)
);
CREATE INDEX update_journal_user_idx ON update_journal (user_id, id DESC) WHERE user_id IS NOT NULL;
CREATE INDEX update_journal_received_idx ON update_journal (received_at);

-- aiogram FSM state and data, so a conversation survives a restart.
CREATE TABLE fsm_state (
    key        text PRIMARY KEY,
    state      text,
    data       jsonb NOT NULL DEFAULT '{}'::jsonb,
    updated_at timestamptz NOT NULL DEFAULT now()
);
