-- Plain (not secret) settings the panel edits: S3 endpoint/bucket/region, languages.
CREATE TABLE settings (
    name       text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]{1,63}$'),
    value      text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by bigint REFERENCES staff ON DELETE SET NULL
);
