-- When a row may have reached Telegram, and whether its sender is still alive.
--
-- call_started_at: set just before the HTTP call of a row that must not be repeated blindly
--   (the claim alone says nothing: a sender killed while it waited for its rate-limit slot
--   never called). A claim taken back without it goes back to pending; with it, uncertain.
-- claimer_key: the sender's key; the sender holds a session advisory lock (2826, key) on its
--   listening connection, so a claim whose lock is gone belongs to a dead process and is taken
--   back at once instead of after its lease.
-- auto_checked: an uncertain channel post was compared with the channel's message ids and left
--   to an admin (see app/bot/outbox.py); it is not compared again.
ALTER TABLE outbox ADD COLUMN call_started_at timestamptz;
ALTER TABLE outbox ADD COLUMN claimer_key integer;
ALTER TABLE outbox ADD COLUMN auto_checked boolean NOT NULL DEFAULT false;

-- A chat's posts by when their call started: the message ids around an uncertain post.
CREATE INDEX outbox_calls_idx ON outbox (chat_id, call_started_at)
    WHERE call_started_at IS NOT NULL AND status = 'sent';
