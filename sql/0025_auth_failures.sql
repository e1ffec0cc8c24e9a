-- Anonymous authentication failures (unknown usernames, throttled tries, dead login links),
-- counted per hour, action and client address instead of one audit_log row each: a fuzzer or
-- a password sprayer adds at most one row per address an hour, and rows older than 30 days are
-- pruned with the login failures. Failures that name an existing account stay in audit_log.
CREATE TABLE auth_failures (
    hour          timestamptz NOT NULL,
    action        text NOT NULL,
    address       text NOT NULL,
    attempts      integer NOT NULL DEFAULT 1,
    last_username text,
    last_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (hour, action, address)
);
