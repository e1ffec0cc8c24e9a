-- The dashboard's charts for every area over a chosen date range (PRODUCT E2), cheap at scale.
--
-- The busy logs — every update (update_journal), every message Bozor queues (outbox), every
-- web-chat message — are rolled up per UTC day by a scheduler job into stats_days, behind a
-- watermark per source (the last id counted). The dashboard reads the rolled-up days plus the
-- few rows after the watermark, so its figures equal counts over the logs at any moment
-- without reading them. No trigger: the writers of these logs are the hot paths (updates,
-- sends), and a shared per-day counter row would serialise them.
--
-- The other areas are small or already summarised (ads: sql/0011) and are counted per day
-- from time indexes added here: an index-only range scan of the chosen days.

CREATE TABLE stats_days (
    day    date NOT NULL,
    metric text NOT NULL CHECK (metric IN (
               'updates', 'messages_in', 'active_users', 'messages_out', 'broadcast_out',
               'chat_messages')),
    n      bigint NOT NULL,
    PRIMARY KEY (day, metric)
) WITH (fillfactor = 70);

-- Where each source's roll-up stands: every row with id <= last_id is counted in stats_days.
CREATE TABLE stats_rollup (
    source  text PRIMARY KEY CHECK (source IN ('update_journal', 'outbox', 'chat_messages')),
    last_id bigint NOT NULL DEFAULT 0
);
INSERT INTO stats_rollup (source) VALUES ('update_journal'), ('outbox'), ('chat_messages');

-- Who was active on a day already counted: a user counts once a day, however many batches
-- their updates fall into. Days before yesterday are pruned by the roll-up (their count is
-- final in stats_days).
CREATE TABLE stats_active (
    day     date NOT NULL,
    user_id bigint NOT NULL,
    PRIMARY KEY (day, user_id)
);

-- Time indexes for the per-day counts of the smaller areas (index-only where INCLUDE allows).
CREATE INDEX users_first_seen_idx ON users (first_seen);
CREATE INDEX users_blocked_bot_idx ON users (blocked_bot_at) WHERE blocked_bot_at IS NOT NULL;
CREATE INDEX chat_conversations_created_idx ON chat_conversations (created_at);
CREATE INDEX task_completions_created_idx ON task_completions (created_at) INCLUDE (status, reward);
CREATE INDEX ledger_entries_created_idx ON ledger_entries (created_at) INCLUDE (currency, kind, amount);
CREATE INDEX promotions_paid_idx ON promotions (paid_at) INCLUDE (currency, price) WHERE paid_at IS NOT NULL;
CREATE INDEX withdrawal_requests_requested_idx ON withdrawal_requests (requested_at);
CREATE INDEX broadcasts_started_idx ON broadcasts (started_at) WHERE started_at IS NOT NULL;

-- What the logs hold today, counted once; the job goes on from their last ids. (Days as
-- sql/0011's dashboard_day counts them, written out: this migration does not need 0011.)
INSERT INTO stats_days (day, metric, n)
SELECT (received_at AT TIME ZONE 'UTC')::date, 'updates', count(*) FROM update_journal GROUP BY 1
UNION ALL
SELECT (received_at AT TIME ZONE 'UTC')::date, 'messages_in', count(*) FROM update_journal WHERE kind = 'message' GROUP BY 1
UNION ALL
SELECT (created_at AT TIME ZONE 'UTC')::date, 'messages_out', count(*) FROM outbox GROUP BY 1
UNION ALL
SELECT (created_at AT TIME ZONE 'UTC')::date, 'broadcast_out', count(*) FROM outbox WHERE ref_kind = 'broadcast' GROUP BY 1
UNION ALL
SELECT (created_at AT TIME ZONE 'UTC')::date, 'chat_messages', count(*) FROM chat_messages GROUP BY 1;
INSERT INTO stats_active (day, user_id)
SELECT DISTINCT (received_at AT TIME ZONE 'UTC')::date, user_id FROM update_journal WHERE user_id IS NOT NULL;
INSERT INTO stats_days (day, metric, n)
SELECT day, 'active_users', count(*) FROM stats_active GROUP BY day;
DELETE FROM stats_active WHERE day < (now() AT TIME ZONE 'UTC')::date - 1;
UPDATE stats_rollup SET last_id = coalesce((SELECT max(id) FROM update_journal), 0) WHERE source = 'update_journal';
UPDATE stats_rollup SET last_id = coalesce((SELECT max(id) FROM outbox), 0) WHERE source = 'outbox';
UPDATE stats_rollup SET last_id = coalesce((SELECT max(id) FROM chat_messages), 0) WHERE source = 'chat_messages';
