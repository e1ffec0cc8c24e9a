-- Broadcasts (E1): one message to many users, each in their language, fed to the outbox at a
-- lower priority than everything else.
--
-- Outbox priority: the claim takes higher priorities first (then not_before, id). Everything
-- transactional keeps the default 0; broadcast rows are -10, so a ticket reply or an admin
-- notification queued during a broadcast overtakes every broadcast row still waiting.
ALTER TABLE outbox ADD COLUMN priority smallint NOT NULL DEFAULT 0;
CREATE INDEX outbox_claim_idx ON outbox (priority DESC, not_before, id) WHERE status = 'pending';

-- draft -> running <-> paused -> done | cancelled
CREATE TABLE broadcasts (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_by    bigint NOT NULL REFERENCES staff (id),
    status        text NOT NULL DEFAULT 'draft'
                  CHECK (status IN ('draft', 'running', 'paused', 'done', 'cancelled')),
    -- {"default": "...", "uz": "...", ...}: the texts as the admin wrote them (the safe subset)
    texts         jsonb NOT NULL,
    -- {"default": {sendMessage params without chat_id}, "uz": {...}, ...}: what each language gets
    payloads      jsonb NOT NULL,
    buttons       jsonb NOT NULL DEFAULT '[]',   -- [{"text": ..., "url": ...}]
    audience      jsonb NOT NULL DEFAULT '{}',   -- the segment's conditions (app/db/queries/broadcasts.py)
    total         integer,                       -- recipients fixed at start
    created_at    timestamptz NOT NULL DEFAULT now(),
    started_at    timestamptz,
    finished_at   timestamptz
);
CREATE INDEX broadcasts_active_idx ON broadcasts (id) WHERE status = 'running';

-- The recipients, fixed in one INSERT … SELECT at start. outbox_id is set in the same
-- transaction as the recipient's outbox row (fed in batches), so after a crash a recipient
-- either has exactly one row or none yet; a pause deletes the rows not yet claimed and clears
-- their outbox_id in one transaction.
CREATE TABLE broadcast_recipients (
    broadcast_id  bigint NOT NULL REFERENCES broadcasts (id),
    user_id       bigint NOT NULL REFERENCES users (id),
    language      text NOT NULL,
    outbox_id     bigint,
    PRIMARY KEY (broadcast_id, user_id)
);
CREATE INDEX broadcast_recipients_unfed_idx ON broadcast_recipients (broadcast_id, user_id)
    WHERE outbox_id IS NULL;
