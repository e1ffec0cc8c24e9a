-- The dashboard's charts from small per-day tables kept by triggers in the writer's own
-- transaction (a scheduler roll-up could not follow an old ad that is sold or edited today),
-- backfilled here; overlapping indexes merged; users found by name prefix for short queries.
--
-- Decision times are kept exact: percentiles cannot be summed across days, and a histogram
-- only saves space when a bucket holds many decisions — at ~140 decisions per channel and day
-- (a million ads a year) buckets fine enough for a minute-exact p95 hold one or two each, and
-- coarse ones would move the p95 by whole buckets. So each (day, channel) row keeps the list of
-- its decisions' seconds: 30 days × 20 channels is 600 short rows whose ~80k integers
-- PostgreSQL sorts far faster than it read and sorted 80k interval expressions from ads.

-- What a timestamp counts as: its UTC day, as the dashboard's labels are.
CREATE FUNCTION dashboard_day(at timestamptz) RETURNS date
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT (at AT TIME ZONE 'UTC')::date $$;

CREATE FUNCTION dashboard_seconds(submitted timestamptz, decided timestamptz) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT round(extract(epoch FROM decided - submitted))::integer $$;

-- Every row is rewritten in place many times a day: leave room for HOT updates.
-- Ads submitted on `day` to `channel_id` that are in `status` now.
CREATE TABLE dashboard_ad_days (
    day        date NOT NULL,
    channel_id bigint NOT NULL,
    status     text NOT NULL,
    n          integer NOT NULL,
    PRIMARY KEY (day, channel_id, status)
) WITH (fillfactor = 50);

-- Ads of a channel in each status now: the dashboard's pending and published counts without
-- counting 260k index entries on every visit.
CREATE TABLE dashboard_ad_totals (
    channel_id bigint NOT NULL,
    status     text NOT NULL,
    n          integer NOT NULL,
    PRIMARY KEY (channel_id, status)
) WITH (fillfactor = 50);

-- Seconds from submit to decision of the ads decided on `day` in `channel_id`.
CREATE TABLE dashboard_decision_days (
    day        date NOT NULL,
    channel_id bigint NOT NULL,
    seconds    integer[] NOT NULL,
    PRIMARY KEY (day, channel_id)
) WITH (fillfactor = 50);

-- Re-posts per day and channel (the ad_reposts log, counted).
CREATE TABLE dashboard_repost_days (
    day        date NOT NULL,
    channel_id bigint NOT NULL,
    n          integer NOT NULL,
    PRIMARY KEY (day, channel_id)
) WITH (fillfactor = 50);

CREATE FUNCTION dashboard_decision_add(p_day date, p_channel bigint, p_seconds integer)
    RETURNS void LANGUAGE sql AS $$
    INSERT INTO dashboard_decision_days AS d (day, channel_id, seconds)
    VALUES (p_day, p_channel, ARRAY[p_seconds])
    ON CONFLICT (day, channel_id) DO UPDATE SET seconds = d.seconds || excluded.seconds $$;

-- One occurrence goes: two ads decided in the same second each keep their own. The position
-- is taken from the row being updated (the newest version once its lock is had), never
-- from an earlier read that a concurrent writer may have changed.
CREATE FUNCTION dashboard_decision_drop(p_day date, p_channel bigint, p_seconds integer)
    RETURNS void LANGUAGE sql AS $$
    UPDATE dashboard_decision_days
       SET seconds = seconds[:array_position(seconds, p_seconds) - 1]
                     || seconds[array_position(seconds, p_seconds) + 1:]
     WHERE day = p_day AND channel_id = p_channel AND p_seconds = ANY (seconds) $$;

-- Lock order, to keep two writers from waiting on each other in a circle: ad days, then
-- totals, then decision days, each in key order (the ORDER BY of every upsert below).

-- New ads, a statement at a time: one upsert per cell even for a bulk load of a million rows.
CREATE FUNCTION dashboard_ads_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO dashboard_ad_days AS t (day, channel_id, status, n)
    SELECT dashboard_day(submitted_at), channel_id, status, count(*) FROM inserted
     GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (day, channel_id, status) DO UPDATE SET n = t.n + excluded.n;
    INSERT INTO dashboard_ad_totals AS t (channel_id, status, n)
    SELECT channel_id, status, count(*) FROM inserted GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (channel_id, status) DO UPDATE SET n = t.n + excluded.n;
    INSERT INTO dashboard_decision_days AS t (day, channel_id, seconds)
    SELECT dashboard_day(decided_at), channel_id, array_agg(dashboard_seconds(submitted_at, decided_at))
      FROM inserted WHERE decided_at IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (day, channel_id) DO UPDATE SET seconds = t.seconds || excluded.seconds;
    RETURN NULL;
END $$;

-- An ad changed (or went, then NEW is NULL): it leaves the cells it counted in and joins its
-- new ones; a cell that loses and gains the same ad is not written at all.
CREATE FUNCTION dashboard_ad_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_day  date := dashboard_day(OLD.decided_at);  -- NULL: not decided (or no row)
    new_day  date := dashboard_day(NEW.decided_at);
    old_secs integer := dashboard_seconds(OLD.submitted_at, OLD.decided_at);
    new_secs integer := dashboard_seconds(NEW.submitted_at, NEW.decided_at);
BEGIN
    INSERT INTO dashboard_ad_days AS t (day, channel_id, status, n)
    SELECT c.day, c.channel_id, c.status, sum(c.delta)
      FROM (VALUES (dashboard_day(OLD.submitted_at), OLD.channel_id, OLD.status, -1),
                   (dashboard_day(NEW.submitted_at), NEW.channel_id, NEW.status, 1)
           ) c (day, channel_id, status, delta)
     WHERE c.status IS NOT NULL
     GROUP BY 1, 2, 3 HAVING sum(c.delta) <> 0 ORDER BY 1, 2, 3
        ON CONFLICT (day, channel_id, status) DO UPDATE SET n = t.n + excluded.n;
    INSERT INTO dashboard_ad_totals AS t (channel_id, status, n)
    SELECT c.channel_id, c.status, sum(c.delta)
      FROM (VALUES (OLD.channel_id, OLD.status, -1), (NEW.channel_id, NEW.status, 1)
           ) c (channel_id, status, delta)
     WHERE c.status IS NOT NULL
     GROUP BY 1, 2 HAVING sum(c.delta) <> 0 ORDER BY 1, 2
        ON CONFLICT (channel_id, status) DO UPDATE SET n = t.n + excluded.n;
    IF (old_day, OLD.channel_id, old_secs) IS NOT DISTINCT FROM (new_day, NEW.channel_id, new_secs)
    THEN
        RETURN NULL;
    END IF;
    -- The lower (day, channel) first; an edit back to pending drops without adding.
    IF old_day IS NOT NULL AND (new_day IS NULL OR (old_day, OLD.channel_id) <= (new_day, NEW.channel_id))
    THEN
        PERFORM dashboard_decision_drop(old_day, OLD.channel_id, old_secs);
        old_day := NULL;
    END IF;
    IF new_day IS NOT NULL THEN
        PERFORM dashboard_decision_add(new_day, NEW.channel_id, new_secs);
    END IF;
    IF old_day IS NOT NULL THEN
        PERFORM dashboard_decision_drop(old_day, OLD.channel_id, old_secs);
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION dashboard_reposts_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO dashboard_repost_days AS t (day, channel_id, n)
    SELECT dashboard_day(at), channel_id, count(*) FROM inserted GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (day, channel_id) DO UPDATE SET n = t.n + excluded.n;
    RETURN NULL;
END $$;

CREATE FUNCTION dashboard_reposts_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE dashboard_repost_days t SET n = t.n - g.n
      FROM (SELECT dashboard_day(at) AS day, channel_id, count(*) AS n FROM deleted
             GROUP BY 1, 2 ORDER BY 1, 2) g
     WHERE t.day = g.day AND t.channel_id = g.channel_id;
    RETURN NULL;
END $$;

-- Triggers first, then the backfill: CREATE TRIGGER holds writers of ads off until this
-- migration commits, so no change falls between the backfill's snapshot and the triggers.
CREATE TRIGGER ads_dashboard_insert AFTER INSERT ON ads
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION dashboard_ads_inserted();
-- Row by row, and only for the four columns the dashboard reads: the scheduler's re-post and
-- check-in updates do not fire it.
CREATE TRIGGER ads_dashboard_change AFTER UPDATE OF status, channel_id, submitted_at, decided_at
    ON ads FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.channel_id IS DISTINCT FROM NEW.channel_id
          OR OLD.submitted_at IS DISTINCT FROM NEW.submitted_at
          OR OLD.decided_at IS DISTINCT FROM NEW.decided_at)
    EXECUTE FUNCTION dashboard_ad_changed();
CREATE TRIGGER ads_dashboard_delete AFTER DELETE ON ads
    FOR EACH ROW EXECUTE FUNCTION dashboard_ad_changed();
-- ad_reposts is an append-only log (rows go only with their ad): inserts and deletes suffice.
CREATE TRIGGER ad_reposts_dashboard_insert AFTER INSERT ON ad_reposts
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION dashboard_reposts_inserted();
CREATE TRIGGER ad_reposts_dashboard_delete AFTER DELETE ON ad_reposts
    REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION dashboard_reposts_deleted();

INSERT INTO dashboard_ad_days (day, channel_id, status, n)
SELECT dashboard_day(submitted_at), channel_id, status, count(*) FROM ads GROUP BY 1, 2, 3;
INSERT INTO dashboard_ad_totals (channel_id, status, n)
SELECT channel_id, status, count(*) FROM ads GROUP BY 1, 2;
INSERT INTO dashboard_decision_days (day, channel_id, seconds)
SELECT dashboard_day(decided_at), channel_id, array_agg(dashboard_seconds(submitted_at, decided_at))
  FROM ads WHERE decided_at IS NOT NULL GROUP BY 1, 2;
INSERT INTO dashboard_repost_days (day, channel_id, n)
SELECT dashboard_day(at), channel_id, count(*) FROM ad_reposts GROUP BY 1, 2;

-- Overlapping indexes. The charts no longer read ads, so 0010's covering indexes only cost
-- writes: ads_submitted_idx (submitted_at) INCLUDE (status, channel_id) orders like
-- ads_panel_all_idx (submitted_at DESC, id DESC) read backwards, which also carries the keyset's
-- id, and ads_decided_idx served nothing but the decision-time chart.
DROP INDEX ads_submitted_idx;
DROP INDEX ads_decided_idx;
-- 0001's users_username_idx (lower(username)) WHERE username IS NOT NULL is 0008's
-- users_username_prefix_idx over the same rows; text_pattern_ops answers = as well as LIKE 'x%'.
DROP INDEX users_username_idx;

-- One or two letters have no trigram: they match the start of the first or the last name.
CREATE INDEX users_first_name_prefix_idx ON users (lower(first_name) text_pattern_ops);
CREATE INDEX users_last_name_prefix_idx ON users (lower(last_name) text_pattern_ops);
-- The planner ignores a partial index's statistics; without these it took `@rare` for a common
-- prefix and scanned every user by id instead of the username index.
CREATE STATISTICS users_username_lower_stats ON (lower(username)) FROM users;
ANALYZE users;
