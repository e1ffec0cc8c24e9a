-- Staff and security: panel accounts with roles, their channels, one-time login links,
-- failed-login counts shared by every process, encrypted settings secrets, the audit log.

CREATE TABLE staff (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username         text NOT NULL CHECK (username ~ '^[A-Za-z0-9_.@-]{3,64}$'),
    display_name     text CHECK (length(display_name) <= 128),
    role             text NOT NULL CHECK (role IN ('admin', 'moderator', 'operator')),
    password_hash    text,                              -- scrypt$n$r$p$salt$hash; NULL: link only
    telegram_user_id bigint UNIQUE,                     -- a linked Telegram account, if any
    active           boolean NOT NULL DEFAULT true,
    created_at       timestamptz NOT NULL DEFAULT now(),
    last_login_at    timestamptz
);
CREATE UNIQUE INDEX staff_username_idx ON staff (lower(username));

-- The channels a moderator moderates (admins moderate every channel).
CREATE TABLE staff_channels (
    staff_id   bigint NOT NULL REFERENCES staff ON DELETE CASCADE,
    channel_id bigint NOT NULL REFERENCES channels ON DELETE CASCADE,
    PRIMARY KEY (staff_id, channel_id)
);
CREATE INDEX staff_channels_channel_idx ON staff_channels (channel_id);

-- One-time login links: only the SHA-256 of the token is kept; single use, short-lived.
CREATE TABLE staff_login_tokens (
    token_hash bytea PRIMARY KEY,
    staff_id   bigint NOT NULL REFERENCES staff ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);

-- Failed logins, counted per account name and per client address over a sliding window.
CREATE TABLE login_failures (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username text NOT NULL,                             -- lower-cased, as typed
    address  text NOT NULL,
    at       timestamptz NOT NULL DEFAULT now(),
    counts_for_account boolean NOT NULL DEFAULT true    -- false once the account logged in
);
CREATE INDEX login_failures_username_idx ON login_failures (username, at);
CREATE INDEX login_failures_address_idx ON login_failures (address, at);

-- Secrets (bot tokens, S3 keys, payment tokens) encrypted with a key derived from SECRET_KEY.
CREATE TABLE settings_secrets (
    name       text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]{1,63}$'),
    ciphertext text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by bigint REFERENCES staff ON DELETE SET NULL
);

-- Who did what, when: before/after snapshots (never a secret's value).
CREATE TABLE audit_log (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at       timestamptz NOT NULL DEFAULT now(),
    staff_id bigint REFERENCES staff ON DELETE SET NULL,
    action   text NOT NULL,
    target   text,
    before   jsonb,
    after    jsonb
);
CREATE INDEX audit_log_at_idx ON audit_log (at DESC);
CREATE INDEX audit_log_staff_idx ON audit_log (staff_id, at DESC) WHERE staff_id IS NOT NULL;
