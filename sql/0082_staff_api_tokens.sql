-- Staff API tokens (E3): a staff member's own tokens for /api/v1/staff/…, acting with that
-- member's role at the time of each call. Shown once, kept as SHA-256, named, revocable, with
-- the last use; a deactivated account's tokens stop working with it.
CREATE TABLE staff_api_tokens (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    staff_id     bigint NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
    token_hash   bytea NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX staff_api_tokens_staff_idx ON staff_api_tokens (staff_id, id);
