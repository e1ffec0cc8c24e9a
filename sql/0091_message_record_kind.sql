-- The Messages screen filtered by a kind few messages have (payments, contacts, edits of the
-- last hour): newest first through this index instead of a walk through every message by time.
CREATE INDEX message_record_kind_idx ON message_record (kind, at, id);
