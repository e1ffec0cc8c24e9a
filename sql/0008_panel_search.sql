-- The panel's Ads and Users screens: keyset pages over 1M ads and searches over users.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Ads newest first, one index per usual filter so every page is an index range scan that stops
-- after 51 rows: (submitted_at, id) is the keyset cursor.
CREATE INDEX ads_panel_all_idx ON ads (submitted_at DESC, id DESC);
CREATE INDEX ads_panel_status_idx ON ads (status, submitted_at DESC, id DESC);
CREATE INDEX ads_panel_channel_idx ON ads (channel_id, submitted_at DESC, id DESC);
CREATE INDEX ads_panel_seller_idx ON ads (seller_id, submitted_at DESC, id DESC);
DROP INDEX ads_seller_idx;  -- a prefix of the one above
-- Title search (ILIKE '%word%').
CREATE INDEX ads_title_trgm_idx ON ads USING gin (lower(title) gin_trgm_ops);

-- Users: @username by prefix, name by any part (ILIKE '%part%').
CREATE INDEX users_username_prefix_idx ON users (lower(username) text_pattern_ops)
    WHERE username IS NOT NULL;
CREATE INDEX users_name_trgm_idx ON users
    USING gin (lower(first_name || ' ' || coalesce(last_name, '')) gin_trgm_ops);
