-- The panel's needs: decisions taken by staff, users blocked by staff, sessions that logout
-- revokes on the server, and what the moderation queue is told about (see ads.notify_moderation).

ALTER TABLE ads ADD COLUMN decided_by_staff bigint REFERENCES staff ON DELETE SET NULL;
ALTER TABLE ad_events ADD COLUMN staff_id bigint REFERENCES staff ON DELETE SET NULL;

-- A user blocked by staff: their messages to the bot get a polite refusal and change nothing.
ALTER TABLE users ADD COLUMN banned_at timestamptz,
                  ADD COLUMN banned_by bigint REFERENCES staff ON DELETE SET NULL,
                  ADD COLUMN banned_reason text CHECK (length(banned_reason) <= 500);

-- Panel sessions: the cookie carries only the id; logout (or deactivating staff) revokes it
-- here, so a copied cookie stops working at once rather than when it expires.
CREATE TABLE staff_sessions (
    id           text PRIMARY KEY,                      -- SHA-256 of the cookie's token, hex
    staff_id     bigint NOT NULL REFERENCES staff ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    address      text
);
CREATE INDEX staff_sessions_staff_idx ON staff_sessions (staff_id) WHERE revoked_at IS NULL;
