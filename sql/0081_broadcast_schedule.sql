-- Broadcasts sent at a time: a draft with start_at is started by the scheduler's broadcasts tick
-- once that moment has come (as scheduled_by, who is audited as having started it).
ALTER TABLE broadcasts ADD COLUMN start_at timestamptz;
ALTER TABLE broadcasts ADD COLUMN scheduled_by bigint REFERENCES staff (id);
CREATE INDEX broadcasts_due_idx ON broadcasts (start_at) WHERE status = 'draft' AND start_at IS NOT NULL;
