-- 0003: the moderator's workbench: queue snapshots for the dashboard, the "most likely rejected"
-- index, and NOTIFY on every change to the review queue (live updates for the moderator page).

-- Queue depth and oldest age, sampled by every instance into shared buckets (one row per
-- bucket and site: the first instance to sample a bucket wins, the others do nothing).
CREATE TABLE queue_snapshots (
    bucket        timestamptz NOT NULL,
    site_id       text NOT NULL CONSTRAINT fk__queue_snapshots__site REFERENCES sites (id),
    depth         integer NOT NULL CONSTRAINT ck__queue_snapshots__depth CHECK (depth >= 0),
    leased        integer NOT NULL CONSTRAINT ck__queue_snapshots__leased CHECK (leased >= 0),
    oldest_age_s  double precision NOT NULL CONSTRAINT ck__queue_snapshots__oldest_age CHECK (oldest_age_s >= 0),
    CONSTRAINT pk__queue_snapshots PRIMARY KEY (bucket, site_id)
);

-- The "most likely to be rejected" queue order (and its claims) without a sort of the whole queue.
CREATE INDEX ix__comments__pending_score ON comments (max_score DESC, id DESC) WHERE status = 'pending';
-- Undo and the dashboard look up a comment's latest decision.
CREATE INDEX ix__comment_events__action_at ON comment_events (action, at);

-- Live updates. One notification per statement (not per row), so a bulk decision of thousands
-- of comments sends one message: per site, how many comments entered or left the pending queue,
-- were reported or had their reports settled (the reported queue), and were claimed or released. Listeners re-read what they need; the payload stays far
-- below PostgreSQL's 8000-byte limit because it is cut to the 50 busiest sites.
CREATE FUNCTION comments_queue_notify() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    payload jsonb;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT jsonb_object_agg(site_id, jsonb_build_object('entered', n))
        INTO payload
        FROM (
            SELECT site_id, count(*) AS n FROM new_rows WHERE status = 'pending'
            GROUP BY site_id ORDER BY count(*) DESC LIMIT 50
        ) AS per_site;
    ELSE
        SELECT jsonb_object_agg(site_id, counts)
        INTO payload
        FROM (
            SELECT n.site_id,
                   jsonb_strip_nulls(jsonb_build_object(
                       'entered', NULLIF(count(*) FILTER (WHERE o.status <> 'pending' AND n.status = 'pending'), 0),
                       'left', NULLIF(count(*) FILTER (WHERE o.status = 'pending' AND n.status <> 'pending'), 0),
                       'reported', NULLIF(count(*) FILTER (
                           WHERE o.reported_at IS NULL AND n.reported_at IS NOT NULL), 0),
                       'settled', NULLIF(count(*) FILTER (
                           WHERE o.reported_at IS NOT NULL AND n.reported_at IS NULL), 0),
                       'claimed', NULLIF(count(*) FILTER (
                           WHERE n.lease_key_id IS NOT NULL AND o.lease_key_id IS DISTINCT FROM n.lease_key_id
                             AND (n.status = 'pending' OR n.reported_at IS NOT NULL)), 0),
                       'released', NULLIF(count(*) FILTER (
                           WHERE o.lease_key_id IS NOT NULL AND n.lease_key_id IS NULL
                             AND (n.status = 'pending' OR n.reported_at IS NOT NULL)), 0)
                   )) AS counts
            FROM new_rows AS n JOIN old_rows AS o ON o.id = n.id
            WHERE o.status = 'pending' OR n.status = 'pending'
               OR o.reported_at IS NOT NULL OR n.reported_at IS NOT NULL
            GROUP BY n.site_id
            ORDER BY count(*) DESC
            LIMIT 50
        ) AS per_site
        WHERE counts <> '{}'::jsonb;
    END IF;
    IF payload IS NOT NULL THEN
        PERFORM pg_notify('moderation_queue', payload::text);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER tr__comments__queue_notify_insert
    AFTER INSERT ON comments
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION comments_queue_notify();

CREATE TRIGGER tr__comments__queue_notify_update
    AFTER UPDATE ON comments
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION comments_queue_notify();
