-- Conversations (W2, W3): between two web accounts, optionally about an ad; every message in
-- PostgreSQL (the authority: a reconnecting page asks for what came after its last seen id).

CREATE TABLE chat_conversations (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ad_id       bigint REFERENCES ads ON DELETE SET NULL,
    starter_id  bigint NOT NULL REFERENCES chat_accounts ON DELETE CASCADE,   -- the buyer
    other_id    bigint NOT NULL REFERENCES chat_accounts ON DELETE CASCADE,   -- the seller
    created_at  timestamptz NOT NULL DEFAULT now(),
    last_message_id bigint NOT NULL DEFAULT 0,
    reported_at timestamptz,                    -- set by a report: operators may read it then
    CHECK (starter_id <> other_id)
);
CREATE UNIQUE INDEX chat_conversations_pair_idx ON chat_conversations (starter_id, other_id, coalesce(ad_id, 0));
CREATE INDEX chat_conversations_reported_idx ON chat_conversations (reported_at DESC) WHERE reported_at IS NOT NULL;

-- Each side of a conversation: how far they read, and whether they talk in Telegram (relay:
-- every message reaches them through the bot at once) or on the web (a notice when away).
CREATE TABLE chat_members (
    conversation_id bigint NOT NULL REFERENCES chat_conversations ON DELETE CASCADE,
    account_id      bigint NOT NULL REFERENCES chat_accounts ON DELETE CASCADE,
    peer_id         bigint NOT NULL REFERENCES chat_accounts ON DELETE CASCADE,
    last_read_id    bigint NOT NULL DEFAULT 0,
    relay           boolean NOT NULL DEFAULT false,
    PRIMARY KEY (conversation_id, account_id)
);
CREATE INDEX chat_members_account_idx ON chat_members (account_id);

CREATE TABLE chat_messages (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation_id bigint NOT NULL REFERENCES chat_conversations ON DELETE CASCADE,
    sender_id       bigint NOT NULL REFERENCES chat_accounts ON DELETE CASCADE,
    body            text NOT NULL DEFAULT '' CHECK (length(body) <= 4096),
    photo_key       text CHECK (length(photo_key) <= 300),
    via             text NOT NULL CHECK (via IN ('web', 'telegram', 'api')),
    client_id       text CHECK (length(client_id) <= 64),   -- the sender's idempotency key
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (body <> '' OR photo_key IS NOT NULL)
);
CREATE INDEX chat_messages_conversation_idx ON chat_messages (conversation_id, id);
CREATE INDEX chat_messages_sender_idx ON chat_messages (sender_id, created_at);
CREATE UNIQUE INDEX chat_messages_client_idx ON chat_messages (sender_id, client_id) WHERE client_id IS NOT NULL;
CREATE INDEX chat_messages_body_trgm_idx ON chat_messages USING gin (body gin_trgm_ops);

-- Someone who blocked another: neither can write to the other any more.
CREATE TABLE chat_blocks (
    blocker_id bigint NOT NULL REFERENCES chat_accounts ON DELETE CASCADE,
    blocked_id bigint NOT NULL REFERENCES chat_accounts ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (blocker_id, blocked_id)
);

CREATE TABLE chat_reports (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation_id bigint NOT NULL REFERENCES chat_conversations ON DELETE CASCADE,
    reporter_id     bigint NOT NULL REFERENCES chat_accounts ON DELETE CASCADE,
    reason          text NOT NULL CHECK (length(reason) <= 1000),
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX chat_reports_conversation_idx ON chat_reports (conversation_id);
