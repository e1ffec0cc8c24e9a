-- The re-post schedule's durable state: the scheduler only ticks, the slots live here.

ALTER TABLE channels
    ADD COLUMN next_repost_at timestamptz,               -- the next slot; NULL = due now
    ADD COLUMN last_repost_ad bigint;                    -- never shown twice in a row

CREATE INDEX channels_next_repost_idx ON channels (next_repost_at) WHERE active;
