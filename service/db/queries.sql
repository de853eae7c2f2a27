-- Every SQL statement of the service, by name. Each block starts with
-- "-- name: <query_name>" followed by a one-line description, and uses $n parameters only.

-- name: get_api_key_by_hash
-- The live (not revoked) key with this hash.
SELECT id, name, role, site_id, key_hash
FROM api_keys
WHERE key_hash = $1 AND revoked_at IS NULL;

-- name: insert_api_key
-- Create a key; the name must be unique among live keys.
INSERT INTO api_keys (name, role, key_hash, key_prefix, site_id)
VALUES ($1, $2, $3, $4, $5)
RETURNING id, name, role, key_prefix, site_id, created_at;

-- name: list_api_keys
-- Every key, newest first, without hashes.
SELECT id, name, role, key_prefix, site_id, created_at, revoked_at, last_used_at
FROM api_keys
ORDER BY id DESC;

-- name: revoke_api_key
-- Revoke the live key with this name.
UPDATE api_keys SET revoked_at = now()
WHERE name = $1 AND revoked_at IS NULL
RETURNING id;

-- name: touch_api_key
-- Record that a key was used (at most once a minute per key, to spare writes).
UPDATE api_keys SET last_used_at = now()
WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute');

-- name: ensure_site
-- Create the site on first use.
INSERT INTO sites (id) VALUES ($1) ON CONFLICT (id) DO NOTHING;

-- name: ensure_article
-- Create the article on first use, in postmod.
INSERT INTO articles (site_id, id) VALUES ($1, $2) ON CONFLICT (site_id, id) DO NOTHING;

-- name: ensure_author
-- Create the author on first use.
INSERT INTO authors (site_id, id) VALUES ($1, $2) ON CONFLICT (site_id, id) DO NOTHING;

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

-- name: insert_comment
-- Store a scored comment; nothing when the (site, external id) pair exists already.
INSERT INTO comments (site_id, external_id, article_id, author_id, parent_id, text, status,
                      scores, reasons, spans, model_version, author_ip, user_agent, max_score)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
ON CONFLICT ON CONSTRAINT uq__comments__site_external DO NOTHING
RETURNING *;

-- name: get_comment
-- One comment by id.
SELECT * FROM comments WHERE id = $1;

-- name: get_comment_by_external_id
-- One comment by the website's own id.
SELECT * FROM comments WHERE site_id = $1 AND external_id = $2;

-- name: get_parent_comment
-- The parent a reply points at, which must be on the same site and article.
SELECT id FROM comments WHERE id = $1 AND site_id = $2 AND article_id = $3;

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
-- Settle a pending comment whose lease key $2 holds; nothing when it does not.
UPDATE comments
SET status = $3, decided_at = now(), updated_at = now(), version = version + 1,
    lease_key_id = NULL, lease_expires_at = NULL
WHERE id = $1 AND status = 'pending' AND lease_key_id = $2 AND lease_expires_at >= now()
RETURNING *;

-- name: count_author_decision
-- Keep an author's approved/rejected tallies (reputation rules read them).
UPDATE authors
SET approved_count = approved_count + CASE WHEN $3 = 'approved' THEN 1 ELSE 0 END,
    rejected_count = rejected_count + CASE WHEN $3 = 'rejected' THEN 1 ELSE 0 END,
    updated_at = now()
WHERE site_id = $1 AND id = $2;

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
-- first: set their status to $7, append one history event each, keep the authors' tallies.
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
        lease_key_id = NULL, lease_expires_at = NULL
    FROM target
    WHERE c.id = target.id
    RETURNING c.id, c.site_id, c.author_id, c.model_version, c.scores
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

-- name: get_author
-- One author's standing and decision tallies.
SELECT site_id, id, standing, suspended_until, approved_count, rejected_count, created_at
FROM authors
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

-- name: register_model_version
-- Record a model version (first registration wins); active when no model is active yet.
INSERT INTO model_versions (version, state, manifest, artifact_sha256, activated_at)
SELECT $1, CASE WHEN active.version IS NULL THEN 'active' ELSE 'candidate' END, $2, $3,
       CASE WHEN active.version IS NULL THEN now() END
FROM (SELECT (SELECT version FROM model_versions WHERE state = 'active') AS version) AS active
ON CONFLICT (version) DO NOTHING;

-- name: ping
-- Cheap round trip for readiness checks.
SELECT 1;
