-- The dashboard: ranges by submit and decision time, a log of re-posts, and cheap counts.

-- Covering indexes: the 30-day charts read only the index (an index-only range scan).
CREATE INDEX ads_submitted_idx ON ads (submitted_at) INCLUDE (status, channel_id);
CREATE INDEX ads_decided_idx ON ads (decided_at) INCLUDE (submitted_at, channel_id)
    WHERE decided_at IS NOT NULL;
CREATE INDEX ad_events_sold_idx ON ad_events (at) WHERE kind = 'sold';
CREATE INDEX users_banned_idx ON users (banned_at) WHERE banned_at IS NOT NULL;

-- One row per re-post. Filled by a trigger on the scheduler's shown_count bump, so every
-- path that re-posts an ad is logged without the scheduler knowing about the dashboard.
CREATE TABLE ad_reposts (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ad_id      bigint NOT NULL REFERENCES ads ON DELETE CASCADE,
    channel_id bigint NOT NULL,
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ad_reposts_at_idx ON ad_reposts (at) INCLUDE (channel_id);

CREATE FUNCTION log_ad_repost() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ad_reposts (ad_id, channel_id, at)
    VALUES (NEW.id, NEW.channel_id, coalesce(NEW.last_shown_at, now()));
    RETURN NEW;
END $$;

CREATE TRIGGER ads_repost_log AFTER UPDATE OF shown_count ON ads
    FOR EACH ROW WHEN (NEW.shown_count > OLD.shown_count) EXECUTE FUNCTION log_ad_repost();
