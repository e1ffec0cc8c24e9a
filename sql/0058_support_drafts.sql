-- LLM drafts waiting in a ticket (E6, off by default): when the knowledge base has nothing for a
-- user's message, a background task asks the LLM and the answer waits here for an operator, who
-- sends it (as drafted or edited) or discards it. Drafts an operator asks for in the ticket go
-- straight into the reply box and are not stored.
--
-- asking → pending (the LLM answered) or failed (time-out, error: a note on the ticket);
-- pending → sent or discarded; asking/pending → superseded by a draft for a newer message.
-- One draft per user message (the unique index settles two processes hearing the same message).
CREATE TABLE support_drafts (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id   bigint NOT NULL REFERENCES support_tickets ON DELETE CASCADE,
    question_id bigint NOT NULL UNIQUE REFERENCES support_messages ON DELETE CASCADE,
    status      text NOT NULL DEFAULT 'asking'
                CHECK (status IN ('asking', 'pending', 'failed', 'sent', 'discarded', 'superseded')),
    text        text NOT NULL DEFAULT '' CHECK (length(text) <= 4096),
    problem     text CHECK (problem IN ('timeout', 'unreachable', 'refused', 'empty', 'key', 'other')),
    detail      text CHECK (length(detail) <= 300),
    seconds     real,                     -- the time-out in force when it was asked
    kb_entries  text[] NOT NULL DEFAULT '{}',  -- the entries it was grounded in
    decided_by  bigint REFERENCES staff ON DELETE SET NULL,
    reply_id    bigint REFERENCES support_messages ON DELETE SET NULL,  -- the answer sent from it
    edited      boolean,                  -- sent after the operator changed it
    created_at  timestamptz NOT NULL DEFAULT now(),
    answered_at timestamptz,
    decided_at  timestamptz,
    CHECK ((status = 'failed') = (problem IS NOT NULL))
);
CREATE INDEX support_drafts_ticket_idx ON support_drafts (ticket_id, id);
CREATE INDEX support_drafts_asking_idx ON support_drafts (created_at) WHERE status = 'asking';
