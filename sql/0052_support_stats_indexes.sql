-- The desk's statistics (app/db/queries/support_stats.py) read a date range of messages and
-- tickets: by time, not the whole history.
CREATE INDEX support_messages_created_idx ON support_messages (created_at);
CREATE INDEX support_tickets_created_idx ON support_tickets (created_at);
CREATE INDEX support_tickets_closed_idx ON support_tickets (closed_at) WHERE closed_at IS NOT NULL;
