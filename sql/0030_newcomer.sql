-- A newcomer's first hour (issue 18).

-- A canned rejection reason is kept by its id beside the text the seller read, so each reader
-- (the admins in the bot, staff in the panel) sees it in their own language. A reason deleted
-- later leaves the text.
ALTER TABLE ads ADD COLUMN reject_reason_id bigint REFERENCES reject_reasons ON DELETE SET NULL;

-- The per-seller daily limit counts a seller's ads in the channel it is set for; past it the
-- channel either flags the ad for its admins or refuses it (the seller is told which).
ALTER TABLE channels ADD COLUMN over_limit text NOT NULL DEFAULT 'flag'
    CHECK (over_limit IN ('flag', 'refuse'));
CREATE INDEX ads_seller_channel_idx ON ads (seller_id, channel_id, submitted_at);

-- Failed deliveries are shown on the dashboard, newest first.
CREATE INDEX outbox_failed_idx ON outbox (done_at DESC, id) WHERE status = 'failed';
