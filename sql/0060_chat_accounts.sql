-- Web chat accounts (W1): people on the web, apart from staff. An account is made by
-- registering a username and password, or by signing in with Telegram through the bot; a
-- Telegram user has at most one account (the seller of an ad is reached through it).

CREATE TABLE chat_accounts (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username         text CHECK (username ~ '^[A-Za-z0-9_.]{3,32}$'),  -- NULL: Telegram only
    display_name     text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 64),
    password_hash    text,                                  -- scrypt, as staff passwords
    telegram_user_id bigint UNIQUE REFERENCES users ON DELETE SET NULL,
    language         text CHECK (language IN ('uz', 'ru', 'en')),
    created_at       timestamptz NOT NULL DEFAULT now(),
    last_login_at    timestamptz,
    ever_on_web      boolean NOT NULL DEFAULT false          -- signed in on the web at least once
);
CREATE UNIQUE INDEX chat_accounts_username_idx ON chat_accounts (lower(username)) WHERE username IS NOT NULL;

-- Browser sessions: the cookie holds a random token, the database its SHA-256 (hex) and
-- whether it still counts ("sign out everywhere" revokes every row of the account).
CREATE TABLE chat_sessions (
    id           text PRIMARY KEY,
    account_id   bigint NOT NULL REFERENCES chat_accounts ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    address      text NOT NULL DEFAULT ''
);
CREATE INDEX chat_sessions_account_idx ON chat_sessions (account_id) WHERE revoked_at IS NULL;

-- One-time sign-in through the bot: the deep link carries a token (stored hashed); the bot
-- confirms it with the Telegram user who pressed Start, and the waiting page (which holds
-- the second, private token in a cookie) turns it into a session once. "link" requests
-- attach the Telegram user to an existing account; "web" links are made by the bot for
-- "Open the web chat" and are used by opening them.
CREATE TABLE chat_login_requests (
    token_hash       bytea PRIMARY KEY,
    kind             text NOT NULL CHECK (kind IN ('login', 'link', 'web')),
    waiter_hash      bytea,                                  -- the waiting page's cookie (login, link)
    account_id       bigint REFERENCES chat_accounts ON DELETE CASCADE,  -- link: who links; web: who signs in
    telegram_user_id bigint,                                  -- set when the bot confirms
    next_path        text NOT NULL DEFAULT '/chat',
    created_at       timestamptz NOT NULL DEFAULT now(),
    expires_at       timestamptz NOT NULL,
    confirmed_at     timestamptz,
    used_at          timestamptz
);
CREATE INDEX chat_login_requests_expiry_idx ON chat_login_requests (expires_at);

-- Login throttling, atomic: each attempt is counted by one upsert before the password is
-- checked, so parallel guesses cannot slip past the limit; a success clears the account's row.
CREATE TABLE chat_login_attempts (
    key          text PRIMARY KEY,                           -- 'u:<username>' or 'a:<address>'
    attempts     integer NOT NULL,
    window_start timestamptz NOT NULL
);

-- Personal API tokens: shown once, kept as SHA-256, named, revocable, with the last use.
CREATE TABLE chat_api_tokens (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id   bigint NOT NULL REFERENCES chat_accounts ON DELETE CASCADE,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
    token_hash   bytea NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX chat_api_tokens_account_idx ON chat_api_tokens (account_id, id);
