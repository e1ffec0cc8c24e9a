-- Create, then delete: a row that may go only once another row was sent.
--
-- outbox.after_sent: this row goes only if that row ended 'sent' (it is also in depends_on, so it
--   waits for it); otherwise it fails, saying why, and is never called. A re-post's deletion of
--   the old copy waits on the new copy this way: a new copy that failed leaves the old one up.
-- ad_messages.removal_outbox_id: the deletion queued for a copy; a copy whose deletion was
--   called off (failed) is still in the channel and still the ad's.
ALTER TABLE outbox ADD COLUMN after_sent bigint;
ALTER TABLE ad_messages ADD COLUMN removal_outbox_id bigint;
