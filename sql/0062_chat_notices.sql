-- Offline notices (W4) and presence. A member on the web who does not read a message gets
-- one Telegram notice after a grace period, then at most one per interval (settings). The
-- debounce state lives here, so a restart or a second process changes nothing.

CREATE TABLE chat_notices (
    conversation_id bigint NOT NULL REFERENCES chat_conversations ON DELETE CASCADE,
    account_id      bigint NOT NULL REFERENCES chat_accounts ON DELETE CASCADE,
    pending_since   timestamptz,               -- the first message not yet covered by a notice
    last_sent_at    timestamptz,               -- the last notice sent
    notified_upto   bigint NOT NULL DEFAULT 0, -- messages up to this id were in a notice
    PRIMARY KEY (conversation_id, account_id)
);
CREATE INDEX chat_notices_pending_idx ON chat_notices (pending_since) WHERE pending_since IS NOT NULL;

-- Open WebSockets per account and process; a process refreshes its rows while it runs, so a
-- process that died stops counting after a minute and a half.
CREATE TABLE chat_presence (
    account_id bigint NOT NULL REFERENCES chat_accounts ON DELETE CASCADE,
    node       text NOT NULL,
    sockets    integer NOT NULL CHECK (sockets >= 0),
    seen_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, node)
);
CREATE INDEX chat_presence_node_idx ON chat_presence (node);
