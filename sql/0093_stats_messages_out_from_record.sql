-- The dashboard's "Sent by Bozor" (messages_out) counted outbox rows only (sql/0085), so the
-- bot's direct replies — /start, menus, the wizard's answers: most of what it sends — were never
-- counted. Every message the bot sends, a direct reply or an outbox delivery, is on record in
-- message_record with direction 'out' (sql/0090..0092), as the Messages screen shows them: the
-- figure is now counted from there, by a new roll-up source behind its own watermark
-- (app/db/queries/stats.py ROLLED). broadcast_out stays counted from the outbox.
--
-- The old outbox-based days are removed and every day recounted from the record. The record
-- is kept for the retention an admin sets (app/domain/record.py, 365 days by default): days
-- older than what it still holds are lost from this figure (they show 0 messages out) — the
-- old figure for them counted something else (queued outbox rows, not sent messages) and
-- would not add up with the new days. From now on the roll-up counts a message within minutes
-- of its sending, long before the retention (at least one day) may purge it.

-- No message is recorded while the days are recounted: the watermark is then exact (a batch
-- the bot is writing has committed before, or is counted after it).
LOCK TABLE message_record IN SHARE MODE;

ALTER TABLE stats_rollup DROP CONSTRAINT stats_rollup_source_check;
ALTER TABLE stats_rollup ADD CONSTRAINT stats_rollup_source_check
    CHECK (source IN ('update_journal', 'outbox', 'chat_messages', 'message_record'));
INSERT INTO stats_rollup (source, last_id)
SELECT 'message_record', coalesce(max(id), 0) FROM message_record;

DELETE FROM stats_days WHERE metric = 'messages_out';
INSERT INTO stats_days (day, metric, n)
SELECT (at AT TIME ZONE 'UTC')::date, 'messages_out', count(*)  -- dashboard_day's UTC day, as 0085
  FROM message_record
 WHERE direction = 'out' AND id <= (SELECT last_id FROM stats_rollup WHERE source = 'message_record')
 GROUP BY 1;
