-- The web chat's search looks through one account's conversations, message by message through
-- chat_messages_conversation_idx: the trigram index on every message's body (0061) was never
-- used, and every stored message paid for it (its pending list's metapage is one lock every
-- insert takes; bench/webchat.py stored up to 40 % more messages a second without it).
DROP INDEX IF EXISTS chat_messages_body_trgm_idx;
