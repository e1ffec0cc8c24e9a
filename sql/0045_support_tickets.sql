-- The support desk (S3): tickets, their conversation, canned replies.
--
-- A ticket is open (an operator's turn), waiting (the user's turn: an operator answered) or
-- closed. A user has at most one ticket that is not closed (the partial unique index decides
-- the race of two messages at once); a user writing within N days of closing reopens it.

CREATE TABLE support_tickets (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    status      text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'waiting', 'closed')),
    language    text NOT NULL CHECK (language IN ('uz', 'ru', 'en')),
    subject     text NOT NULL CHECK (length(subject) BETWEEN 1 AND 200),
    assignee_id bigint REFERENCES staff ON DELETE SET NULL,
    rating      smallint CHECK (rating BETWEEN 1 AND 5),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),  -- the last message or change
    closed_at   timestamptz,
    closed_by   bigint REFERENCES staff ON DELETE SET NULL,
    CHECK ((status = 'closed') = (closed_at IS NOT NULL))
);
CREATE UNIQUE INDEX support_tickets_active_idx ON support_tickets (user_id) WHERE status <> 'closed';
CREATE INDEX support_tickets_user_idx ON support_tickets (user_id, id);
CREATE INDEX support_tickets_queue_idx ON support_tickets (status, updated_at DESC);

-- The conversation: what the user wrote (text, a photo, a document), operators' answers, their
-- internal notes (never sent) and what the bot said on its own (system).
-- `outbox_id`: the outbox row that carries an operator's answer; its status is the delivery
-- state shown on the message. `kb_entry_id`: the knowledge-base entry an answer used.
CREATE TABLE support_messages (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id     bigint NOT NULL REFERENCES support_tickets ON DELETE CASCADE,
    author        text NOT NULL CHECK (author IN ('user', 'operator', 'note', 'system')),
    staff_id      bigint REFERENCES staff ON DELETE SET NULL,
    text          text NOT NULL DEFAULT '' CHECK (length(text) <= 4096),
    file_kind     text CHECK (file_kind IN ('photo', 'document')),
    file_id       text CHECK (length(file_id) <= 300),      -- Telegram's, for the user's files
    file_name     text CHECK (length(file_name) <= 300),
    storage_key   text CHECK (length(storage_key) <= 300),  -- our copy (photos the panel shows)
    kb_entry_id   bigint REFERENCES support_kb_entries ON DELETE SET NULL,
    outbox_id     bigint,
    tg_message_id bigint,                                   -- the user's message in their chat
    via           text NOT NULL DEFAULT 'bot' CHECK (via IN ('bot', 'panel', 'telegram')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (text <> '' OR file_kind IS NOT NULL)
);
CREATE INDEX support_messages_ticket_idx ON support_messages (ticket_id, id);
CREATE INDEX support_messages_outbox_idx ON support_messages (outbox_id) WHERE outbox_id IS NOT NULL;

CREATE TABLE support_canned (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title      text NOT NULL UNIQUE CHECK (length(title) BETWEEN 1 AND 100),
    text       text NOT NULL CHECK (length(text) BETWEEN 1 AND 4096),
    created_by bigint REFERENCES staff ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Deep links that link a staff member's Telegram account (from "My account"): the SHA-256 of
-- the token only, single use, short-lived.
CREATE TABLE support_link_tokens (
    token_hash bytea PRIMARY KEY,
    staff_id   bigint NOT NULL REFERENCES staff ON DELETE CASCADE,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);

-- The panel follows the desk live (channel bozor_support): the domain notifies new tickets and
-- messages; this trigger notifies an answer's delivery state when the outbox settles it.
CREATE FUNCTION support_notify_delivery() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('bozor_support', json_build_object(
        'event', 'delivery', 'message_id', NEW.ref_id, 'status', NEW.status)::text);
    RETURN NULL;
END $$;

CREATE TRIGGER support_outbox_delivery AFTER UPDATE OF status ON outbox
    FOR EACH ROW WHEN (NEW.ref_kind = 'support_message' AND NEW.status IS DISTINCT FROM OLD.status
                       AND NEW.status IN ('sent', 'failed', 'blocked', 'uncertain'))
    EXECUTE FUNCTION support_notify_delivery();
