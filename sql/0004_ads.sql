-- Ads (M2-M9): the ad, its photos, its copies in the channel, and its history.

CREATE TABLE ads (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    seller_id       bigint NOT NULL REFERENCES users,
    channel_id      bigint NOT NULL REFERENCES channels,
    category_id     bigint REFERENCES categories ON DELETE SET NULL,
    title           text NOT NULL,
    description     text NOT NULL,
    price           numeric(16, 2) CHECK (price >= 0),
    currency        text CHECK (currency IN ('UZS', 'USD')),
    negotiable      boolean NOT NULL DEFAULT false,
    district        text NOT NULL,
    contact         text NOT NULL,
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'published', 'rejected', 'sold', 'expired', 'withdrawn')),
    reject_reason   text,
    flags           jsonb NOT NULL DEFAULT '[]'::jsonb,   -- pre-moderation findings
    text_key        text NOT NULL,                        -- normalised text, for duplicates
    decided_by      bigint,
    decided_at      timestamptz,
    submitted_at    timestamptz NOT NULL DEFAULT now(),
    published_at    timestamptz,
    last_shown_at   timestamptz,
    shown_count     integer NOT NULL DEFAULT 0,
    next_checkin_at timestamptz,
    checkin_asks    integer NOT NULL DEFAULT 0,
    revision        integer NOT NULL DEFAULT 1,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (price IS NOT NULL OR negotiable),
    CHECK ((price IS NULL) = (currency IS NULL))
);
CREATE INDEX ads_pending_idx ON ads (channel_id, submitted_at) WHERE status = 'pending';
CREATE INDEX ads_repost_idx ON ads (channel_id, last_shown_at NULLS FIRST, id) WHERE status = 'published';
CREATE INDEX ads_seller_idx ON ads (seller_id, submitted_at DESC);
CREATE INDEX ads_text_key_idx ON ads (channel_id, text_key) WHERE status IN ('pending', 'published');
CREATE INDEX ads_checkin_idx ON ads (next_checkin_at) WHERE status = 'published';

CREATE TABLE ad_photos (
    ad_id          bigint NOT NULL REFERENCES ads ON DELETE CASCADE,
    position       smallint NOT NULL CHECK (position BETWEEN 0 AND 9),
    file_id        text NOT NULL,                         -- Telegram's, for re-sending fast
    file_unique_id text NOT NULL,                         -- stable across bots: duplicates
    storage_key    text,                                  -- our copy in Storage
    PRIMARY KEY (ad_id, position)
);
CREATE INDEX ad_photos_unique_idx ON ad_photos (file_unique_id);

-- Every message the system sends about an ad: channel copies and admin notifications.
CREATE TABLE ad_messages (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ad_id      bigint NOT NULL REFERENCES ads ON DELETE CASCADE,
    kind       text NOT NULL CHECK (kind IN ('post', 'admin_note')),
    chat_id    bigint NOT NULL,
    outbox_id  bigint,                                    -- the row that sends it; ids come back there
    revision   integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    removed_at timestamptz                                -- a post deleted from the channel
);
CREATE INDEX ad_messages_ad_idx ON ad_messages (ad_id, kind);

CREATE TABLE ad_events (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ad_id    bigint NOT NULL REFERENCES ads ON DELETE CASCADE,
    at       timestamptz NOT NULL DEFAULT now(),
    actor_id bigint,                                      -- a Telegram user id; NULL = the system
    kind     text NOT NULL,
    detail   jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX ad_events_ad_idx ON ad_events (ad_id, at);
