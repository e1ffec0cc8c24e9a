-- An update is acknowledged to Telegram (the polling offset, the webhook's 2xx) only once it is
-- in the journal; it is handled once, however often Telegram delivers it.
--
-- handled: false while a received update waits for its handler; the handler's journal
--   statement sets it (ON CONFLICT … WHERE NOT handled), so a second delivery of the same
--   update id finds it handled and is skipped. Rows left unhandled by a process that stopped
--   are handled at the next start. Rows journaled before this migration were handled.
ALTER TABLE update_journal ADD COLUMN handled boolean NOT NULL DEFAULT true;
CREATE INDEX update_journal_unhandled_idx ON update_journal (bot_id, update_id) WHERE NOT handled;
