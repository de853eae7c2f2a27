-- Every SQL statement of the service, by name. Each block starts with
-- "-- name: <query_name>" followed by a one-line description, and uses $n parameters only.

-- name: get_api_key_by_hash
-- The live key with this hash: not revoked, or revoked at a time still to come (a rotation's grace).
SELECT id, name, role, site_id, key_hash
FROM api_keys
WHERE key_hash = $1 AND (revoked_at IS NULL OR revoked_at > now());

-- name: insert_api_key
-- Create a key; the name must be unique among live keys.
INSERT INTO api_keys (name, role, key_hash, key_prefix, site_id)
VALUES ($1, $2, $3, $4, $5)
RETURNING id, name, role, key_prefix, site_id, created_at;

-- name: list_api_keys
-- Every key, newest first, without hashes; revoked is true once revoked_at has passed.
SELECT id, name, role, key_prefix, site_id, created_at, revoked_at, last_used_at,
       (revoked_at IS NOT NULL AND revoked_at <= now()) AS revoked
FROM api_keys
ORDER BY id DESC;

-- name: revoke_api_key
-- Revoke now every live key with this name, including one still in a rotation's grace period.
UPDATE api_keys SET revoked_at = now()
WHERE name = $1 AND (revoked_at IS NULL OR revoked_at > now())
RETURNING id;

-- name: retire_api_key
-- Rotation, step one: the current key with this name stops working $2 seconds from now.
UPDATE api_keys SET revoked_at = now() + make_interval(secs => $2)
WHERE name = $1 AND revoked_at IS NULL
RETURNING id, role, site_id, revoked_at;

-- name: touch_api_key
-- Record that a key was used (at most once a minute per key, to spare writes).
UPDATE api_keys SET last_used_at = now()
WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute');

-- name: ensure_site
-- Create the site on first use.
INSERT INTO sites (id) VALUES ($1) ON CONFLICT (id) DO NOTHING;

-- name: get_article
-- One article's moderation settings.
SELECT site_id, id, title, url, mode, created_at, updated_at
FROM articles
WHERE site_id = $1 AND id = $2;

-- name: upsert_article
-- Set an article's mode (and optionally title and url), creating it if needed.
INSERT INTO articles (site_id, id, mode, title, url)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (site_id, id) DO UPDATE
SET mode = EXCLUDED.mode,
    title = COALESCE(EXCLUDED.title, articles.title),
    url = COALESCE(EXCLUDED.url, articles.url),
    updated_at = now()
RETURNING site_id, id, title, url, mode, created_at, updated_at;

-- ---------------------------------------------------------------------------------------------
-- Batched intake: one statement for all the comments of a micro-batch (parallel arrays in,
-- one row per input). The single-row wrappers in store.py use the same statements.

-- name: get_comments_by_external_ids
-- Comments already stored under these (site, external id) pairs.
SELECT c.*
FROM unnest($1::text[], $2::text[]) AS k(site_id, external_id)
JOIN comments c ON c.site_id = k.site_id AND c.external_id = k.external_id;

-- name: intake_context
-- What the policy needs to know about each submission of a micro-batch, in one statement: one row
-- per input tuple (site, external id, article, author, fingerprint, repeat window s, rejection
-- window days, parent id), in input order (column ord, from 1). The comment already stored under
-- the (site, external id) pair, if any; the article's mode and overrides (article_found false: not
-- stored yet); the author's record (author_found false: new); the author's recent activity:
-- comments in the last minute (and the oldest one's age), comments with that fingerprint within
-- the repeat window, decisions within the rejection-rate window; and where the parent comment
-- lives (NULL: no parent, or none with that id); the site's settings version (NULL: no site row).
-- The work is the function of migrations/0005_intake_context_function.sql, planned at each call
-- for the tables as they are (a generic plan kept from when they were empty cost up to three
-- times the CPU).
SELECT * FROM intake_context($1::text[], $2::text[], $3::text[], $4::text[], $5::bytea[], $6::float8[], $7::int[],
                             $8::uuid[]);

-- name: store_comments
-- A micro-batch's whole write as one statement: one implicit transaction, one commit, one round
-- trip. Creates the sites, articles and authors named on first use (articles follow their site's
-- default mode); inserts the comments (ids chosen by the caller; a (site, external id) pair that
-- exists already is skipped and returns no row; a row returns the columns the server filled in);
-- logs each inserted comment's creation (actor 'system' named by $18, details $19); adds the
-- decided ones to their authors' tallies. Foreign keys are checked at the end of the statement,
-- when the rows inserted here exist. Each table's rows are taken in one fixed order, by key, so
-- that concurrent batches queue behind each other rather than deadlock (the service retries the
-- rare deadlock left).
WITH k AS (
    SELECT *
    FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::uuid[], $7::text[],
                $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::inet[],
                $14::text[], $15::real[], $16::bytea[], $17::text[], $18::text[], $19::text[])
             AS k(id, site_id, external_id, article_id, author_id, parent_id, text, status, scores, reasons,
                  spans, model_version, author_ip, user_agent, max_score, fingerprint, language,
                  actor_name, details)
), new_sites AS (
    INSERT INTO sites (id) SELECT DISTINCT site_id FROM k ORDER BY 1
    ON CONFLICT (id) DO NOTHING
), new_articles AS (
    INSERT INTO articles (site_id, id) SELECT DISTINCT site_id, article_id FROM k ORDER BY 1, 2
    ON CONFLICT (site_id, id) DO NOTHING
), ins AS (
    INSERT INTO comments (id, site_id, external_id, article_id, author_id, parent_id, text, status,
                          scores, reasons, spans, model_version, author_ip, user_agent, max_score,
                          fingerprint, language)
    -- JSON documents travel as text: the driver would read a JSON array as an array dimension.
    SELECT id, site_id, external_id, article_id, author_id, parent_id, text, status,
           scores::jsonb, reasons::jsonb, spans::jsonb, model_version, author_ip, user_agent, max_score,
           fingerprint, language
    FROM k ORDER BY site_id, external_id, id
    ON CONFLICT ON CONSTRAINT uq__comments__site_external DO NOTHING
    -- Only what the server filled in: the caller has the rest (StoredComment.from_new).
    RETURNING id, max_score, report_count, version, lease_key_id, lease_expires_at, created_at, updated_at,
              decided_at, reported_at, text_erased_at
), created AS (
    INSERT INTO comment_events (comment_id, actor_kind, actor_name, action, from_status, to_status,
                                reasons, details)
    SELECT ins.id, 'system', k.actor_name, 'created', NULL, k.status, k.reasons::jsonb, k.details::jsonb
    FROM ins JOIN k ON k.id = ins.id
), tally AS (
    SELECT k.site_id, k.author_id,
           count(ins.id) FILTER (WHERE k.status = 'approved') AS approved,
           count(ins.id) FILTER (WHERE k.status = 'rejected') AS rejected
    FROM k LEFT JOIN ins ON ins.id = k.id
    GROUP BY k.site_id, k.author_id
), new_authors AS (
    INSERT INTO authors (site_id, id)
    SELECT site_id, author_id FROM tally WHERE approved + rejected = 0 ORDER BY 1, 2
    ON CONFLICT (site_id, id) DO NOTHING
), counted AS (
    INSERT INTO authors (site_id, id, approved_count, rejected_count)
    SELECT site_id, author_id, approved, rejected FROM tally WHERE approved + rejected > 0 ORDER BY 1, 2
    ON CONFLICT (site_id, id) DO UPDATE
    SET approved_count = authors.approved_count + EXCLUDED.approved_count,
        rejected_count = authors.rejected_count + EXCLUDED.rejected_count,
        updated_at = now()
)
SELECT * FROM ins;

-- name: count_author_decision
-- Add one decision to an author's tallies: approved, or rejected for any other status.
UPDATE authors
SET approved_count = approved_count + CASE WHEN $3 = 'approved' THEN 1 ELSE 0 END,
    rejected_count = rejected_count + CASE WHEN $3 = 'approved' THEN 0 ELSE 1 END,
    updated_at = now()
WHERE site_id = $1 AND id = $2;

-- name: get_comment
-- One comment by id.
SELECT * FROM comments WHERE id = $1;

-- name: get_comment_by_external_id
-- One comment by the website's own id.
SELECT * FROM comments WHERE site_id = $1 AND external_id = $2;

-- name: insert_comment_event
-- Append one entry to a comment's history.
INSERT INTO comment_events (comment_id, actor_kind, actor_name, action, from_status, to_status,
                            reasons, details)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8);

-- name: list_comment_events
-- A comment's history, oldest first.
SELECT at, actor_kind, actor_name, action, from_status, to_status, reasons, details
FROM comment_events
WHERE comment_id = $1
ORDER BY id;

-- name: claim_reviews
-- Lease up to $1 free pending comments, oldest first, to key $4 for $5 seconds.
-- SKIP LOCKED lets concurrent claimers pass each other instead of queueing on the same rows.
WITH candidate AS (
    SELECT id
    FROM comments
    WHERE status = 'pending'
      AND (lease_expires_at IS NULL OR lease_expires_at < now())
      AND ($2::text IS NULL OR site_id = $2)
      AND ($3::text IS NULL OR article_id = $3)
    ORDER BY created_at, id
    LIMIT $1
    FOR UPDATE SKIP LOCKED
)
UPDATE comments AS c
SET lease_key_id = $4, lease_expires_at = now() + make_interval(secs => $5)
FROM candidate
WHERE c.id = candidate.id
RETURNING c.*;

-- name: decide_review
-- Settle a pending or reported comment whose lease key $2 holds; nothing when it does not.
-- Returns the status it had before ($from_status) and clears the unsettled-report marker.
UPDATE comments AS c
SET status = $3, decided_at = now(), updated_at = now(), version = c.version + 1,
    lease_key_id = NULL, lease_expires_at = NULL, reported_at = NULL
FROM (SELECT id, status FROM comments WHERE id = $1 FOR UPDATE) AS before
WHERE c.id = before.id AND (c.status = 'pending' OR c.reported_at IS NOT NULL)
  AND c.lease_key_id = $2 AND c.lease_expires_at >= now()
RETURNING c.*, before.status AS from_status;

-- name: list_review_queue_oldest
-- Pending comments oldest first, after the keyset cursor ($4, $5).
SELECT * FROM comments
WHERE status = 'pending'
  AND ($1::text IS NULL OR site_id = $1)
  AND ($2::text IS NULL OR article_id = $2)
  AND ($4::timestamptz IS NULL OR (created_at, id) > ($4, $5::uuid))
ORDER BY created_at, id
LIMIT $3;

-- name: list_review_queue_newest
-- Pending comments newest first, after the keyset cursor ($4, $5).
SELECT * FROM comments
WHERE status = 'pending'
  AND ($1::text IS NULL OR site_id = $1)
  AND ($2::text IS NULL OR article_id = $2)
  AND ($4::timestamptz IS NULL OR (created_at, id) < ($4, $5::uuid))
ORDER BY created_at DESC, id DESC
LIMIT $3;

-- name: list_review_queue_score
-- Pending comments most likely to be rejected first, after the keyset cursor ($4, $5).
SELECT * FROM comments
WHERE status = 'pending'
  AND ($1::text IS NULL OR site_id = $1)
  AND ($2::text IS NULL OR article_id = $2)
  AND ($4::real IS NULL OR (max_score, id) < ($4, $5::uuid))
ORDER BY max_score DESC, id DESC
LIMIT $3;

-- name: review_stats
-- Queue depth, leased share and the oldest pending comment's age in seconds.
SELECT count(*) AS depth,
       count(*) FILTER (WHERE lease_expires_at >= now()) AS leased,
       COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::float8 AS oldest_age_s
FROM comments
WHERE status = 'pending'
  AND ($1::text IS NULL OR site_id = $1)
  AND ($2::text IS NULL OR article_id = $2);

-- name: claim_reviews_newest
-- Lease up to $1 free pending comments, newest first, to key $4 for $5 seconds.
WITH candidate AS (
    SELECT id
    FROM comments
    WHERE status = 'pending'
      AND (lease_expires_at IS NULL OR lease_expires_at < now())
      AND ($2::text IS NULL OR site_id = $2)
      AND ($3::text IS NULL OR article_id = $3)
    ORDER BY created_at DESC, id DESC
    LIMIT $1
    FOR UPDATE SKIP LOCKED
)
UPDATE comments AS c
SET lease_key_id = $4, lease_expires_at = now() + make_interval(secs => $5)
FROM candidate
WHERE c.id = candidate.id
RETURNING c.*;

-- name: claim_reviews_score
-- Lease up to $1 free pending comments, most likely rejected first, to key $4 for $5 seconds.
WITH candidate AS (
    SELECT id
    FROM comments
    WHERE status = 'pending'
      AND (lease_expires_at IS NULL OR lease_expires_at < now())
      AND ($2::text IS NULL OR site_id = $2)
      AND ($3::text IS NULL OR article_id = $3)
    ORDER BY max_score DESC, id DESC
    LIMIT $1
    FOR UPDATE SKIP LOCKED
)
UPDATE comments AS c
SET lease_key_id = $4, lease_expires_at = now() + make_interval(secs => $5)
FROM candidate
WHERE c.id = candidate.id
RETURNING c.*;

-- name: extend_leases
-- Push the lease of the pending comments among $1 that key $2 holds to now + $3 seconds.
-- A lease that ran out is extended too as long as nobody else claimed the comment meanwhile.
UPDATE comments
SET lease_expires_at = now() + make_interval(secs => $3)
WHERE id = ANY($1::uuid[]) AND status = 'pending' AND lease_key_id = $2
RETURNING id, lease_expires_at;

-- name: release_leases
-- Give back the pending comments among $1 that key $2 holds, so others can claim them at once.
UPDATE comments
SET lease_key_id = NULL, lease_expires_at = NULL
WHERE id = ANY($1::uuid[]) AND status = 'pending' AND lease_key_id = $2
RETURNING id;

-- name: count_bulk_candidates
-- How many pending comments a bulk decision would settle: those in $1 (when given) matching the
-- filter ($2 site, $3 article, created at or before $4) that nobody but key $5 holds; and the
-- time of the count, which the caller passes back as $4 to settle no comment it has not counted.
SELECT count(*) AS n, now() AS as_of
FROM comments
WHERE status = 'pending'
  AND ($1::uuid[] IS NULL OR id = ANY($1::uuid[]))
  AND ($2::text IS NULL OR site_id = $2)
  AND ($3::text IS NULL OR article_id = $3)
  AND ($4::timestamptz IS NULL OR created_at <= $4)
  AND (lease_key_id IS NULL OR lease_key_id = $5 OR lease_expires_at < now());

-- name: bulk_decide
-- Settle, in one statement, up to $6 pending comments chosen like count_bulk_candidates, oldest
-- first: set their status to $7, append one history event each, settle their reports, keep the
-- authors' tallies.
-- Rows another transaction is deciding right now are skipped, not waited for.
-- $8 actor kind, $9 actor name, $10 event reasons, $11 the moderator's reason (or NULL).
WITH target AS (
    SELECT id
    FROM comments
    WHERE status = 'pending'
      AND ($1::uuid[] IS NULL OR id = ANY($1::uuid[]))
      AND ($2::text IS NULL OR site_id = $2)
      AND ($3::text IS NULL OR article_id = $3)
      AND ($4::timestamptz IS NULL OR created_at <= $4)
      AND (lease_key_id IS NULL OR lease_key_id = $5 OR lease_expires_at < now())
    ORDER BY created_at, id
    LIMIT $6
    FOR UPDATE SKIP LOCKED
), decided AS (
    UPDATE comments AS c
    SET status = $7, decided_at = now(), updated_at = now(), version = c.version + 1,
        lease_key_id = NULL, lease_expires_at = NULL, reported_at = NULL
    FROM target
    WHERE c.id = target.id
    RETURNING c.id, c.site_id, c.author_id, c.model_version, c.scores
), settled AS (
    -- Deciding a comment settles its open reader reports with the same outcome.
    UPDATE comment_reports AS r SET settled_at = now(), settled_status = $7
    FROM decided
    WHERE r.comment_id = decided.id AND r.settled_at IS NULL
), events AS (
    INSERT INTO comment_events (comment_id, actor_kind, actor_name, action, from_status, to_status,
                                reasons, details)
    SELECT id, $8, $9, 'decided', 'pending', $7, $10,
           jsonb_build_object('key_id', $5::bigint, 'reason', $11::text, 'bulk', true,
                              'model_version', model_version, 'scores', scores)
    FROM decided
), tallies AS (
    UPDATE authors AS a
    SET approved_count = a.approved_count + CASE WHEN $7 = 'approved' THEN per_author.n ELSE 0 END,
        rejected_count = a.rejected_count + CASE WHEN $7 = 'rejected' THEN per_author.n ELSE 0 END,
        updated_at = now()
    FROM (SELECT site_id, author_id, count(*)::integer AS n FROM decided GROUP BY site_id, author_id) AS per_author
    WHERE a.site_id = per_author.site_id AND a.id = per_author.author_id
)
SELECT id FROM decided;

-- name: lock_comment_for_undo
-- A comment and its latest history event, locked so two undos (or an undo and a claim) serialise.
SELECT c.id, c.site_id, c.author_id, c.status, c.decided_at, e.id AS event_id, e.action,
       e.actor_name, e.details, now() AS now
FROM comments AS c
LEFT JOIN LATERAL (
    SELECT id, action, actor_name, details
    FROM comment_events
    WHERE comment_id = c.id
    ORDER BY id DESC
    LIMIT 1
) AS e ON true
WHERE c.id = $1
FOR UPDATE OF c;

-- name: reopen_comment
-- Put a decided comment back in the queue, leased to key $2 for $3 seconds (the undoer keeps it).
UPDATE comments
SET status = 'pending', decided_at = NULL, updated_at = now(), version = version + 1,
    lease_key_id = $2, lease_expires_at = now() + make_interval(secs => $3)
WHERE id = $1
RETURNING *;

-- name: uncount_author_decision
-- Take back one approved/rejected from an author's tallies (an undone decision).
UPDATE authors
SET approved_count = greatest(approved_count - CASE WHEN $3 = 'approved' THEN 1 ELSE 0 END, 0),
    rejected_count = greatest(rejected_count - CASE WHEN $3 = 'rejected' THEN 1 ELSE 0 END, 0),
    updated_at = now()
WHERE site_id = $1 AND id = $2;

-- name: list_author_comments
-- An author's most recent comments on a site, newest first, except comment $3.
SELECT id, article_id, text, status, created_at
FROM comments
WHERE site_id = $1 AND author_id = $2 AND id <> $3
ORDER BY created_at DESC
LIMIT $4;

-- name: record_queue_snapshot
-- Sample every site's queue depth into the bucket of width $1 seconds containing now; a bucket
-- already sampled (by this or another instance) is left alone.
INSERT INTO queue_snapshots (bucket, site_id, depth, leased, oldest_age_s)
SELECT date_bin(make_interval(secs => $1), now(), TIMESTAMPTZ '2000-01-01 00:00:00+00'),
       s.id,
       count(c.id),
       count(c.id) FILTER (WHERE c.lease_expires_at >= now()),
       COALESCE(EXTRACT(EPOCH FROM now() - min(c.created_at)), 0)::float8
FROM sites AS s
LEFT JOIN comments AS c ON c.site_id = s.id AND c.status = 'pending'
GROUP BY s.id
ON CONFLICT ON CONSTRAINT pk__queue_snapshots DO NOTHING;

-- name: prune_queue_snapshots
-- Forget snapshots older than $1 days.
DELETE FROM queue_snapshots WHERE bucket < now() - make_interval(days => $1);

-- name: dashboard_queue_series
-- Queue depth and oldest age over the last $1 hours in buckets of $2 seconds, for site $3 or all
-- sites (depths add up across sites; the oldest age is the largest).
SELECT date_bin(make_interval(secs => $2), bucket, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS at,
       max(depth)::integer AS depth,
       max(oldest_age_s) AS oldest_age_s
FROM (
    SELECT bucket, sum(depth) AS depth, max(oldest_age_s) AS oldest_age_s
    FROM queue_snapshots
    WHERE bucket >= now() - make_interval(hours => $1)
      AND ($3::text IS NULL OR site_id = $3)
    GROUP BY bucket
) AS per_bucket
GROUP BY 1
ORDER BY 1;

-- name: dashboard_decisions_per_moderator
-- Moderator decisions per UTC day and moderator over the last $1 days, for site $2 or all sites.
-- A decision later undone does not count.
SELECT (date_trunc('day', e.at AT TIME ZONE 'UTC'))::date AS day,
       e.actor_name AS moderator,
       count(*) FILTER (WHERE e.to_status = 'approved')::integer AS approved,
       count(*) FILTER (WHERE e.to_status = 'rejected')::integer AS rejected
FROM comment_events AS e
JOIN comments AS c ON c.id = e.comment_id
WHERE e.action = 'decided'
  AND e.actor_kind IN ('moderator', 'admin')
  AND e.at >= now() - make_interval(days => $1)
  AND ($2::text IS NULL OR c.site_id = $2)
  AND NOT EXISTS (
      SELECT 1 FROM comment_events AS u
      WHERE u.comment_id = e.comment_id AND u.action = 'undone' AND u.id > e.id
  )
GROUP BY 1, 2
ORDER BY 1, 2;

-- name: dashboard_overturns
-- How often moderators overturned the model over the last $1 days (site $2 or all sites).
-- The model flagged a comment when its stored reasons name a label (a score over a threshold);
-- a moderator overturns the model by approving a flagged comment or rejecting an unflagged one.
-- Rows: dimension 'all' (one row), 'label' (each flagged label, '(none)' for unflagged comments),
-- 'model_reason' (each reason code the comment was held for) and 'moderator_reason' (rejections
-- by the reason the moderator gave). Undone decisions do not count.
WITH decision AS (
    SELECT e.to_status,
           COALESCE(flags.labels, ARRAY[]::text[]) AS labels,
           COALESCE(flags.codes, ARRAY[]::text[]) AS codes,
           COALESCE(NULLIF(e.details ->> 'reason', ''), '(none)') AS moderator_reason
    FROM comment_events AS e
    JOIN comments AS c ON c.id = e.comment_id
    LEFT JOIN LATERAL (
        SELECT array_agg(DISTINCT r ->> 'label') FILTER (WHERE r ->> 'label' IS NOT NULL) AS labels,
               array_agg(DISTINCT r ->> 'code') FILTER (WHERE r ->> 'code' IS NOT NULL) AS codes
        FROM jsonb_array_elements(CASE WHEN jsonb_typeof(c.reasons) = 'array' THEN c.reasons ELSE '[]' END) AS r
    ) AS flags ON true
    WHERE e.action = 'decided'
      AND e.actor_kind IN ('moderator', 'admin')
      AND e.at >= now() - make_interval(days => $1)
      AND ($2::text IS NULL OR c.site_id = $2)
      AND NOT EXISTS (
          SELECT 1 FROM comment_events AS u
          WHERE u.comment_id = e.comment_id AND u.action = 'undone' AND u.id > e.id
      )
), judged AS (
    SELECT *,
           CASE WHEN cardinality(labels) > 0 THEN to_status = 'approved' ELSE to_status = 'rejected' END
               AS overturned
    FROM decision
)
SELECT 'all' AS dimension, 'all' AS key, count(*)::integer AS decided,
       count(*) FILTER (WHERE overturned)::integer AS overturned
FROM judged
UNION ALL
SELECT 'label', label, count(*)::integer, count(*) FILTER (WHERE overturned)::integer
FROM judged, unnest(CASE WHEN cardinality(labels) > 0 THEN labels ELSE ARRAY['(none)'] END) AS label
GROUP BY label
UNION ALL
SELECT 'model_reason', code, count(*)::integer, count(*) FILTER (WHERE overturned)::integer
FROM judged, unnest(CASE WHEN cardinality(codes) > 0 THEN codes ELSE ARRAY['(none)'] END) AS code
GROUP BY code
UNION ALL
SELECT 'moderator_reason', moderator_reason, count(*)::integer, count(*) FILTER (WHERE overturned)::integer
FROM judged
WHERE to_status = 'rejected'
GROUP BY moderator_reason
ORDER BY 1, 3 DESC, 2;

-- name: get_comments_by_ids
-- The comments with these ids (any order).
SELECT * FROM comments WHERE id = ANY($1::uuid[]);

-- name: enqueue_webhooks
-- Queue many events for delivery in one statement (ids, sites, types, comments and payloads
-- given as parallel arrays), in the transaction of the change they announce.
INSERT INTO webhook_outbox (id, site_id, event_type, comment_id, payload)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[], $5::jsonb[]);

-- name: register_bundled_model_version
-- Record the bundled model with its artifact (active when none is); fill in the artifact of an older record.
INSERT INTO model_versions (version, state, manifest, artifact, artifact_sha256, activated_at, origin, state_reason)
SELECT $1, CASE WHEN active.version IS NULL THEN 'active' ELSE 'candidate' END, $2, $3, $4,
       CASE WHEN active.version IS NULL THEN now() END, 'bundled', 'the model bundled with the service'
FROM (SELECT (SELECT version FROM model_versions WHERE state = 'active') AS version) AS active
ON CONFLICT (version) DO UPDATE
SET artifact = EXCLUDED.artifact, artifact_sha256 = EXCLUDED.artifact_sha256
WHERE model_versions.artifact IS NULL;

-- name: get_active_model_version
-- The active version and its artifact's hash (cheap: no artifact bytes).
SELECT version, artifact_sha256 FROM model_versions WHERE state = 'active';

-- name: get_shadow_model_version
-- The shadow version and its artifact's hash, if any.
SELECT version, artifact_sha256 FROM model_versions WHERE shadow;

-- name: get_model_artifact
-- One version's artifact bytes and recorded hash.
SELECT version, state, artifact, artifact_sha256 FROM model_versions WHERE version = $1;

-- name: list_model_versions
-- Every version, newest first, with its shadow comparison; never the artifact bytes.
SELECT m.version, m.state, m.manifest, m.artifact_sha256, octet_length(m.artifact) AS artifact_bytes,
       m.state_reason, m.created_at, m.activated_at, m.origin, m.created_by, m.evaluation, m.shadow,
       s.compared, s.agreed, s.shadow_stricter, s.shadow_laxer, s.mean_max_delta
FROM model_versions AS m
LEFT JOIN LATERAL (
    SELECT count(*) AS compared,
           count(*) FILTER (WHERE shadow_status = active_status) AS agreed,
           count(*) FILTER (WHERE shadow_status = 'rejected' AND active_status <> 'rejected'
                               OR shadow_status = 'pending' AND active_status = 'approved') AS shadow_stricter,
           count(*) FILTER (WHERE active_status = 'rejected' AND shadow_status <> 'rejected'
                               OR active_status = 'pending' AND shadow_status = 'approved') AS shadow_laxer,
           avg(max_score_delta)::float8 AS mean_max_delta
    FROM model_shadow_scores WHERE model_version = m.version
) AS s ON true
WHERE ($1::text IS NULL OR m.version = $1)
ORDER BY m.created_at DESC, m.version DESC;

-- name: insert_model_version
-- Register a new version (candidate or rejected); nothing when the version exists.
INSERT INTO model_versions (version, state, manifest, artifact, artifact_sha256, state_reason, origin,
                            created_by, evaluation)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (version) DO NOTHING
RETURNING version;

-- name: lock_model_version
-- Lock one version's row for a state change; its state and whether it has an artifact.
SELECT version, state, artifact IS NOT NULL AS has_artifact
FROM model_versions WHERE version = $1
FOR UPDATE;

-- name: retire_active_model_version
-- Retire the active version (before another becomes active), saying why.
UPDATE model_versions SET state = 'retired', state_reason = $1
WHERE state = 'active'
RETURNING version;

-- name: activate_model_version
-- Make a version active (it stops being the shadow).
UPDATE model_versions
SET state = 'active', activated_at = now(), state_reason = $2, shadow = false
WHERE version = $1
RETURNING version;

-- name: set_model_version_state
-- Set a (non-active) version's state, reason and evaluation report.
UPDATE model_versions SET state = $2, state_reason = $3, evaluation = $4
WHERE version = $1 AND state <> 'active'
RETURNING version;

-- name: clear_shadow_model_version
-- No version scores in the shadow any more.
UPDATE model_versions SET shadow = false WHERE shadow;

-- name: set_shadow_model_version
-- Let a non-active version score live traffic in the shadow.
UPDATE model_versions SET shadow = true WHERE version = $1 AND state <> 'active'
RETURNING version;

-- name: notify_model_activated
-- Tell every instance (LISTEN model_activated) that the active or shadow model changed; sent at commit.
SELECT pg_notify('model_activated', $1);

-- name: list_comments_after
-- Comments scored by model $3 created after the keyset cursor ($1, $2), oldest first (the shadow's feed).
SELECT id, text, status, scores, model_version, created_at
FROM comments
WHERE (created_at, id) > ($1, $2::uuid) AND model_version = $3 AND text <> '' AND text_erased_at IS NULL
ORDER BY created_at, id
LIMIT $4;

-- name: latest_comment_cursor
-- The newest comment's keyset position (where a new shadow starts reading).
SELECT created_at, id FROM comments ORDER BY created_at DESC, id DESC LIMIT 1;

-- name: insert_shadow_score
-- Record the shadow model's opinion of one comment.
INSERT INTO model_shadow_scores (model_version, comment_id, active_version, active_status, shadow_status,
                                 active_scores, shadow_scores, max_score_delta)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT ON CONSTRAINT pk__model_shadow_scores DO NOTHING;

-- name: list_training_labels
-- Human decisions after event id $1 (the cursor), oldest first, with the comment's text and the
-- model's opinion; never the text of an erased author or of an erased or emptied comment. A ban's
-- bulk rejection of the author's pending comments judges the author, not each text: not a label.
SELECT e.id AS cursor, e.at, e.actor_kind, e.actor_name, e.action, e.from_status, e.to_status,
       e.reasons, e.details, c.id AS comment_id, c.site_id, c.article_id, c.text,
       c.model_version AS comment_model_version, c.scores AS comment_scores
FROM comment_events AS e
JOIN comments AS c ON c.id = e.comment_id
JOIN authors AS a ON a.site_id = c.site_id AND a.id = c.author_id
WHERE e.id > $1
  AND e.actor_kind IN ('moderator', 'admin') AND e.to_status IN ('approved', 'rejected')
  AND ($3::text IS NULL OR c.site_id = $3)
  AND a.erased_at IS NULL AND c.text_erased_at IS NULL AND c.text <> ''
  AND COALESCE(e.details->>'via', '') <> 'author_ban'
ORDER BY e.id
LIMIT $2;

-- name: try_retrain_lock
-- Take the retraining advisory lock for this session; false when another session holds it.
SELECT pg_try_advisory_lock($1);

-- name: release_retrain_lock
-- Release the retraining advisory lock.
SELECT pg_advisory_unlock($1);

-- name: insert_retrain_run
-- Open a retraining run's record.
INSERT INTO retrain_runs (active_version) VALUES ($1) RETURNING id;

-- name: finish_retrain_run
-- Close a retraining run's record with its outcome.
UPDATE retrain_runs
SET finished_at = now(), outcome = $2, labels_cursor = $3, labels_used = $4, candidate_version = $5,
    message = $6, report = $7
WHERE id = $1;

-- name: last_retrain_cursor
-- The label cursor the last run that trained a candidate read up to (0 before any).
SELECT COALESCE(max(labels_cursor), 0) FROM retrain_runs WHERE outcome IN ('promoted', 'not_promoted');

-- name: count_training_labels_after
-- How many human decisions arrived after event id $1 (counted as list_training_labels selects them).
SELECT count(*) FROM comment_events
WHERE id > $1 AND actor_kind IN ('moderator', 'admin') AND to_status IN ('approved', 'rejected')
  AND COALESCE(details->>'via', '') <> 'author_ban';

-- name: ping
-- Cheap round trip for readiness checks.
SELECT 1;

-- ---------------------------------------------------------------------------------------------
-- Site settings and word lists

-- name: get_site_settings
-- A site's settings document and its version (the word-list cache key).
SELECT id, settings, settings_version FROM sites WHERE id = $1;

-- name: put_site_settings
-- Replace a site's settings (creating the site), bumping its version.
INSERT INTO sites (id, settings) VALUES ($1, $2)
ON CONFLICT (id) DO UPDATE SET settings = EXCLUDED.settings, settings_version = sites.settings_version + 1
RETURNING id, settings, settings_version;

-- name: get_article_settings
-- An article's overrides of its site's settings.
SELECT settings FROM articles WHERE site_id = $1 AND id = $2;

-- name: put_article_settings
-- Replace an article's overrides, creating the article (following the site's mode) if needed.
INSERT INTO articles (site_id, id, settings) VALUES ($1, $2, $3)
ON CONFLICT (site_id, id) DO UPDATE SET settings = EXCLUDED.settings, updated_at = now()
RETURNING settings;

-- name: bump_site_settings_version
-- Mark a site's word lists changed so every instance rebuilds its automaton.
UPDATE sites SET settings_version = settings_version + 1 WHERE id = $1 RETURNING settings_version;

-- name: list_word_terms
-- One of a site's word lists, alphabetically.
SELECT term FROM site_word_terms WHERE site_id = $1 AND kind = $2 ORDER BY term;

-- name: list_all_word_terms
-- Both of a site's word lists, for building the automaton.
SELECT kind, term FROM site_word_terms WHERE site_id = $1;

-- name: delete_word_terms
-- Empty one of a site's word lists, or remove the given terms ($3 NULL: all).
DELETE FROM site_word_terms WHERE site_id = $1 AND kind = $2 AND ($3::text[] IS NULL OR term = ANY($3));

-- name: insert_word_terms
-- Add terms to a site's list (duplicates ignored).
INSERT INTO site_word_terms (site_id, kind, term)
SELECT $1, $2, t FROM unnest($3::text[]) AS t
ON CONFLICT ON CONSTRAINT pk__site_word_terms DO NOTHING;

-- ---------------------------------------------------------------------------------------------
-- Authors

-- name: get_author
-- One author's standing and tallies.
SELECT site_id, id, standing, suspended_until, approved_count, rejected_count, erased_at, created_at, updated_at
FROM authors WHERE site_id = $1 AND id = $2;

-- name: set_author_standing
-- Change an author's standing (creating the author); returns the standing it had before.
WITH before AS (
    SELECT standing FROM authors WHERE site_id = $1 AND id = $2 FOR UPDATE
), upsert AS (
    INSERT INTO authors (site_id, id, standing, suspended_until) VALUES ($1, $2, $3, $4)
    ON CONFLICT (site_id, id) DO UPDATE
    SET standing = EXCLUDED.standing, suspended_until = EXCLUDED.suspended_until, updated_at = now()
    RETURNING site_id, id, standing, suspended_until, approved_count, rejected_count, erased_at,
              created_at, updated_at
)
SELECT upsert.*, (SELECT standing FROM before) AS from_standing FROM upsert;

-- name: insert_author_event
-- Append one entry to an author's history.
INSERT INTO author_events (site_id, author_id, actor_kind, actor_name, action, from_standing, to_standing, details)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8);

-- name: list_author_events
-- An author's history, oldest first.
SELECT at, actor_kind, actor_name, action, from_standing, to_standing, details
FROM author_events WHERE site_id = $1 AND author_id = $2 ORDER BY id;

-- name: adjust_author_counts
-- Move one comment's weight in an author's tallies from status $3 to status $4.
UPDATE authors
SET approved_count = approved_count + (CASE WHEN $4 = 'approved' THEN 1 ELSE 0 END)
                                    - (CASE WHEN $3 = 'approved' THEN 1 ELSE 0 END),
    rejected_count = rejected_count + (CASE WHEN $4 = 'rejected' THEN 1 ELSE 0 END)
                                    - (CASE WHEN $3 = 'rejected' THEN 1 ELSE 0 END),
    updated_at = now()
WHERE site_id = $1 AND id = $2;

-- name: reject_pending_by_author
-- Reject every pending comment of an author (a ban with "reject pending"); returns them.
UPDATE comments
SET status = 'rejected', decided_at = now(), updated_at = now(), version = version + 1,
    lease_key_id = NULL, lease_expires_at = NULL, reasons = $3
WHERE site_id = $1 AND author_id = $2 AND status = 'pending'
RETURNING *;

-- name: rename_author
-- Erasure: re-point the author (and, by cascade, their comments and history) to an anonymous id.
UPDATE authors SET id = $3, erased_at = now(), updated_at = now(), standing = 'active', suspended_until = NULL
WHERE site_id = $1 AND id = $2
RETURNING id;

-- name: erase_author_comment_texts
-- Erasure: remove the text and personal data of every comment of the (renamed) author.
UPDATE comments
SET text = '', spans = '[]'::jsonb, author_ip = NULL, user_agent = NULL, fingerprint = NULL,
    text_erased_at = COALESCE(text_erased_at, now()), updated_at = now()
WHERE site_id = $1 AND author_id = $2;

-- name: delete_author_revisions
-- Erasure: drop the earlier texts of the author's edited comments.
DELETE FROM comment_revisions
WHERE comment_id IN (SELECT id FROM comments WHERE site_id = $1 AND author_id = $2);

-- name: forget_reporter
-- Erasure: the author's reports stay counted but no longer name them or keep their words.
UPDATE comment_reports SET reporter_id = NULL, detail = NULL
WHERE reporter_id = $2 AND comment_id IN (SELECT id FROM comments WHERE site_id = $1);

-- name: scrub_webhook_author
-- Erasure: replace the author id in queued and logged webhook payloads.
UPDATE webhook_outbox
SET payload = jsonb_set(payload, '{data,comment,author_id}', to_jsonb($3::text))
WHERE site_id = $1 AND payload #>> '{data,comment,author_id}' = $2;

-- name: purge_expired_rejected_texts
-- Retention: erase the text of rejected comments older than their site's retention_days.
UPDATE comments AS c
SET text = '', spans = '[]'::jsonb, author_ip = NULL, user_agent = NULL, text_erased_at = now()
FROM sites AS s
WHERE c.site_id = s.id
  AND c.status = 'rejected' AND c.text_erased_at IS NULL
  AND jsonb_typeof(s.settings -> 'retention_days') = 'number'
  AND COALESCE(c.decided_at, c.created_at) < now() - make_interval(days => (s.settings ->> 'retention_days')::int)
RETURNING c.id;

-- name: delete_revisions_of
-- Retention: drop the earlier texts of the given comments.
DELETE FROM comment_revisions WHERE comment_id = ANY($1::uuid[]);

-- ---------------------------------------------------------------------------------------------
-- Edits and reports

-- name: update_comment_text
-- Replace a comment's text and its moderation result, if it is still at version $12.
UPDATE comments AS c
SET text = $2, status = $3, scores = $4, reasons = $5, spans = $6, model_version = $7, max_score = $8,
    fingerprint = $9, language = $10, version = c.version + 1, updated_at = now(),
    decided_at = NULL, lease_key_id = NULL, lease_expires_at = NULL
WHERE c.id = $1 AND c.version = $11
RETURNING c.*;

-- name: insert_comment_revision
-- Keep the text an edit replaced.
INSERT INTO comment_revisions (comment_id, revision, text) VALUES ($1, $2, $3);

-- name: list_comment_revisions
-- The earlier texts of a comment, oldest first.
SELECT revision, text, replaced_at FROM comment_revisions WHERE comment_id = $1 ORDER BY revision;

-- name: insert_report
-- Record a reader report; nothing when this reader already has an open report on the comment.
INSERT INTO comment_reports (comment_id, reason, detail, reporter_id) VALUES ($1, $2, $3, $4)
ON CONFLICT (comment_id, reporter_id) WHERE reporter_id IS NOT NULL AND settled_at IS NULL DO NOTHING
RETURNING id;

-- name: mark_reported
-- Count a report on the comment and put it in the reported queue.
UPDATE comments
SET report_count = report_count + 1, reported_at = COALESCE(reported_at, now()), updated_at = now()
WHERE id = $1
RETURNING *;

-- name: open_report_reasons
-- How many unsettled reports the comment has, per reason.
SELECT reason, count(*) AS n FROM comment_reports
WHERE comment_id = $1 AND settled_at IS NULL
GROUP BY reason ORDER BY reason;

-- name: settle_reports
-- A moderator decided the comment: its open reports are settled with that outcome.
UPDATE comment_reports SET settled_at = now(), settled_status = $2
WHERE comment_id = $1 AND settled_at IS NULL;

-- name: claim_reported
-- Lease up to $1 free reported comments, oldest first, to key $4 for $5 seconds.
WITH candidate AS (
    SELECT id
    FROM comments
    WHERE reported_at IS NOT NULL
      AND (lease_expires_at IS NULL OR lease_expires_at < now())
      AND ($2::text IS NULL OR site_id = $2)
      AND ($3::text IS NULL OR article_id = $3)
    ORDER BY created_at, id
    LIMIT $1
    FOR UPDATE SKIP LOCKED
)
UPDATE comments AS c
SET lease_key_id = $4, lease_expires_at = now() + make_interval(secs => $5)
FROM candidate
WHERE c.id = candidate.id
RETURNING c.*,
          (SELECT COALESCE(jsonb_object_agg(r.reason, r.n), '{}'::jsonb)
        FROM (SELECT reason, count(*) AS n FROM comment_reports
              WHERE comment_id = c.id AND settled_at IS NULL GROUP BY reason) AS r) AS open_reports;

-- name: list_reported_queue_oldest
-- Reported comments oldest first, after the keyset cursor ($4, $5).
SELECT comments.*,
       (SELECT COALESCE(jsonb_object_agg(r.reason, r.n), '{}'::jsonb)
        FROM (SELECT reason, count(*) AS n FROM comment_reports
              WHERE comment_id = comments.id AND settled_at IS NULL GROUP BY reason) AS r) AS open_reports
FROM comments
WHERE reported_at IS NOT NULL
  AND ($1::text IS NULL OR site_id = $1)
  AND ($2::text IS NULL OR article_id = $2)
  AND ($4::timestamptz IS NULL OR (created_at, id) > ($4, $5::uuid))
ORDER BY created_at, id
LIMIT $3;

-- name: list_reported_queue_newest
-- Reported comments newest first, after the keyset cursor ($4, $5).
SELECT comments.*,
       (SELECT COALESCE(jsonb_object_agg(r.reason, r.n), '{}'::jsonb)
        FROM (SELECT reason, count(*) AS n FROM comment_reports
              WHERE comment_id = comments.id AND settled_at IS NULL GROUP BY reason) AS r) AS open_reports
FROM comments
WHERE reported_at IS NOT NULL
  AND ($1::text IS NULL OR site_id = $1)
  AND ($2::text IS NULL OR article_id = $2)
  AND ($4::timestamptz IS NULL OR (created_at, id) < ($4, $5::uuid))
ORDER BY created_at DESC, id DESC
LIMIT $3;

-- name: list_reported_queue_score
-- Reported comments most likely to be rejected first, after the keyset cursor ($4, $5).
SELECT comments.*,
       (SELECT COALESCE(jsonb_object_agg(r.reason, r.n), '{}'::jsonb)
        FROM (SELECT reason, count(*) AS n FROM comment_reports
              WHERE comment_id = comments.id AND settled_at IS NULL GROUP BY reason) AS r) AS open_reports
FROM comments
WHERE reported_at IS NOT NULL
  AND ($1::text IS NULL OR site_id = $1)
  AND ($2::text IS NULL OR article_id = $2)
  AND ($4::real IS NULL OR (max_score, id) < ($4, $5::uuid))
ORDER BY max_score DESC, id DESC
LIMIT $3;

-- name: reported_stats
-- Reported-queue depth, leased share and the oldest unsettled report's age in seconds.
SELECT count(*) AS depth,
       count(*) FILTER (WHERE lease_expires_at >= now()) AS leased,
       COALESCE(EXTRACT(EPOCH FROM now() - min(reported_at)), 0)::float8 AS oldest_age_s
FROM comments
WHERE reported_at IS NOT NULL
  AND ($1::text IS NULL OR site_id = $1)
  AND ($2::text IS NULL OR article_id = $2);

-- ---------------------------------------------------------------------------------------------
-- Webhooks

-- name: enqueue_webhook
-- Queue one event for delivery (in the transaction of the change it announces).
INSERT INTO webhook_outbox (id, site_id, event_type, comment_id, payload) VALUES ($1, $2, $3, $4, $5);

-- name: claim_webhooks
-- Take up to $1 due events for delivery and push their due time $2 seconds ahead, so a deliverer
-- that dies mid-attempt leaves them to be retried; SKIP LOCKED lets instances share the work.
WITH due AS (
    SELECT id FROM webhook_outbox
    WHERE state = 'pending' AND next_attempt_at <= now()
    ORDER BY next_attempt_at
    LIMIT $1
    FOR UPDATE SKIP LOCKED
)
UPDATE webhook_outbox AS w
SET attempts = w.attempts + 1, next_attempt_at = now() + make_interval(secs => $2)
FROM due, sites AS s
WHERE w.id = due.id AND s.id = w.site_id
RETURNING w.id, w.site_id, w.event_type, w.payload, w.attempts,
          s.settings ->> 'webhook_url' AS url, s.settings ->> 'webhook_secret' AS secret;

-- name: record_webhook_attempt
-- Log one delivery attempt.
INSERT INTO webhook_attempts (event_id, attempt, url, status_code, error, duration_ms)
VALUES ($1, $2, $3, $4, $5, $6);

-- name: mark_webhook_delivered
-- The receiver answered 2xx.
UPDATE webhook_outbox
SET state = 'delivered', delivered_at = now(), last_status = $2, last_error = NULL
WHERE id = $1;

-- name: schedule_webhook_retry
-- The attempt failed: try again in $2 seconds.
UPDATE webhook_outbox
SET next_attempt_at = now() + make_interval(secs => $2), last_status = $3, last_error = $4
WHERE id = $1;

-- name: mark_webhook_dead
-- The last allowed attempt failed: stop trying.
UPDATE webhook_outbox SET state = 'dead', last_status = $2, last_error = $3 WHERE id = $1;

-- name: list_webhook_deliveries
-- Recent events, newest first, optionally of one site and state.
SELECT id, site_id, event_type, comment_id, state, attempts, next_attempt_at, last_status, last_error,
       created_at, delivered_at
FROM webhook_outbox
WHERE ($1::text IS NULL OR site_id = $1) AND ($2::text IS NULL OR state = $2)
ORDER BY created_at DESC, id
LIMIT $3;

-- name: list_webhook_attempts
-- The delivery log of the given events, oldest first.
SELECT event_id, attempt, at, url, status_code, error, duration_ms
FROM webhook_attempts WHERE event_id = ANY($1::uuid[]) ORDER BY id;
