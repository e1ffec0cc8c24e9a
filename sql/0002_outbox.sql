-- The transactional outbox: every message the system sends on its own initiative.
--
-- A row is written in the same transaction as the change that causes it, and the sender
-- delivers rows one at a time per chat, in id order.
--   pending   -> waiting for its turn (not_before, its chat's earlier rows, its dependencies)
--   sending   -> claimed by a sender until lease_until
--   sent      -> done; result holds the message id(s) Telegram gave back
--   failed    -> Telegram refused it for good (error holds the description)
--   uncertain -> a send whose outcome is unknown (timed out, or its sender died): never
--                re-sent blindly; an admin decides
--   blocked   -> not sent: the private chat's user has blocked the bot

CREATE TABLE outbox (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    chat_id      bigint NOT NULL,                 -- the chat the call addresses (order, limits)
    method       text NOT NULL,                   -- Bot API method name, e.g. sendMessage
    params       jsonb NOT NULL,                  -- its parameters, as aiogram would send them
    idempotent   boolean NOT NULL,                -- safe to repeat after an unknown outcome
    depends_on   bigint[],                        -- rows whose result params refer to
    ref_kind     text,                            -- what the message is about, e.g. 'ad_post'
    ref_id       bigint,
    status       text NOT NULL DEFAULT 'pending'
                 CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'uncertain', 'blocked')),
    attempts     integer NOT NULL DEFAULT 0,
    not_before   timestamptz NOT NULL DEFAULT now(),
    lease_until  timestamptz,                     -- while sending: when the claim lapses
    claimed_by   text,                            -- which sender holds (or last held) it
    result       jsonb,                           -- {"message_id": n} / {"message_ids": [...]}
    error        text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    done_at      timestamptz,
    CHECK ((ref_kind IS NULL) = (ref_id IS NULL))
);

-- Unfinished rows per chat in id order: finding each chat's head row and what waits behind it.
CREATE INDEX outbox_open_chat_idx ON outbox (chat_id, id) WHERE status IN ('pending', 'sending');
-- Due rows for the claim, and the next due time for the sender's timer.
CREATE INDEX outbox_pending_idx ON outbox (not_before, id) WHERE status = 'pending';
-- Claims to take back from a sender that died.
CREATE INDEX outbox_lease_idx ON outbox (lease_until) WHERE status = 'sending';
CREATE INDEX outbox_ref_idx ON outbox (ref_kind, ref_id, id) WHERE ref_kind IS NOT NULL;
CREATE INDEX outbox_uncertain_idx ON outbox (id) WHERE status = 'uncertain';
