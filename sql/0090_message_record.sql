-- Every message to and from the bot, and every button press, on record (PRODUCT S5).
-- Incoming ones are written by the journal's statement (app/db/queries/users.py JOURNAL_BATCH),
-- direct replies in batches by the bot's session (app/bot/record.py), outbox deliveries in the
-- statement that marks their row sent (app/db/queries/message_record.py).
CREATE TABLE message_record (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    user_id bigint,  -- the person written to or by (a private chat's id); NULL for a channel or group
    chat_id bigint,
    direction text NOT NULL CHECK (direction IN ('in', 'out')),
    kind text NOT NULL CHECK (kind ~ '^[a-z_]{1,20}$'),  -- text, command, photo, button, edit, …
    text text NOT NULL DEFAULT '',  -- the text or caption; a button press: the button's label
    -- The words in one Latin form (app/domain/support/normalize.py canonical): Cyrillic and
    -- Latin, Russian typed in Latin letters and Uzbek in either script meet.
    search tsvector NOT NULL DEFAULT ''::tsvector
);

-- Newest first, keyset by (at, id); a user's messages; words (GIN).
CREATE INDEX message_record_at_idx ON message_record (at, id);
CREATE INDEX message_record_user_idx ON message_record (user_id, at, id);
CREATE INDEX message_record_search_idx ON message_record USING gin (search);
